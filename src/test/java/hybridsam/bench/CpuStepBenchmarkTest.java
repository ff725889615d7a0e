package hybridsam.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/**
 * The benchmark is test code that only benchmarks/cpu-step.sh runs; this keeps it from rotting
 * unseen when the engine's API changes: one tiny reaction-diffusion step per rule (small preset,
 * batch 2, one thread), and its table has the header the script's users read and FLOPs counted
 * from the conv layers alone.
 */
class CpuStepBenchmarkTest {

    @Test
    void reactionDiffusionSmallRunsAndCountsConvFlops() {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintStream p = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setOut(p);
            CpuStepBenchmark.main(new String[]{"--task", "reaction-diffusion", "--preset", "small", "--batch", "2",
                    "--threads", "1", "--reps", "1", "--warmup", "0", "--methods", "erm,fsam"});
        } finally {
            System.setOut(old);
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertTrue(lines[1].startsWith("# reaction-diffusion small: batch 2, 16 frames, 15 RK4 steps, conv3x3 2-16-16-2"), lines[1]);
        assertEquals("| method | median s/step | steps/s | GFLOP/step | GFLOP/s |", lines[2]);
        // 16x16 grid: forward 2·(2·16 + 16·16 + 16·2)·9·256 = 1,474,560 FLOP per sample per stage;
        // × 3 (forward + backward) × 4 stages × 15 steps × batch 2 = 0.53 GFLOP (erm), twice for fsam
        assertTrue(lines[4].startsWith("| erm |") && lines[4].contains("| 0.53 |"), lines[4]);
        assertTrue(lines[5].startsWith("| fsam |") && lines[5].contains("| 1.06 |"), lines[5]);
    }

    @Test
    void pendulumImagesSmallRunsAndCountsAllThreeNetworks() {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintStream p = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setOut(p);
            CpuStepBenchmark.main(new String[]{"--task", "pendulum-images", "--preset", "small", "--batch", "2",
                    "--threads", "1", "--reps", "1", "--warmup", "0", "--methods", "erm"});
        } finally {
            System.setOut(old);
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        // per sequence: encoder 2·(768·128 + 128·2) = 197,120; decoder 2·(2·128 + 128·256) × 10 frames = 660,480;
        // corrector 2·(2·64 + 64·64 + 64·2) × 4 stages × 18 steps = 626,688
        assertTrue(lines[1].startsWith("# pendulum-images small: batch 2, 10 frames of 16x16, 18 RK4 steps, encoder 768-128-2 tanh")
                && lines[1].endsWith("forward 1484288 FLOP per sequence"), lines[1]);
        assertEquals("| method | median s/step | steps/s | GFLOP/step | GFLOP/s |", lines[2]);
        assertTrue(lines[4].startsWith("| erm |") && lines[4].contains("| 0.01 |"), lines[4]);
    }
}
