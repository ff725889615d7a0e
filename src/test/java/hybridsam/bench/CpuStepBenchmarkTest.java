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
}
