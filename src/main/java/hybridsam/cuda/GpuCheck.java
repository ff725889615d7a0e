package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.tasks.PendulumModel;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The GPU check of benchmarks/gpu-check.sh, without Maven: probe, every kernel against the CPU
 * reference on the real device (PASS/FAIL each), every rule's engine step against the CPU
 * engine, then the time of fsam steps on pendulum at full size (batch 256, 50 frames, h 0.1,
 * MLP 2-64-64-2 tanh) per replica count, by CUDA events, median of repetitions; a table last.
 * Exit status 0 when everything passed, 1 on a failed check, 2 when there is no usable GPU.
 */
public final class GpuCheck {
    private GpuCheck() {
    }

    public static void main(String[] args) {
        CudaProbe.Verdict v = CudaProbe.standard().probe();
        System.out.println("probe: " + v.describe());
        if (!v.available()) System.exit(2);
        int failed = 0;
        List<String> table = new ArrayList<>();
        try (JCudaDevice dev = JCudaDevice.open(0)) {
            List<KernelChecks.Check> checks = new ArrayList<>(KernelChecks.all(dev, System.nanoTime(), true));
            for (Method m : Method.values()) {
                checks.add(KernelChecks.engine(dev, new PendulumModel(),
                        new RuleConfig[]{KernelChecks.rule(m, false, false, 0), KernelChecks.rule(m, true, true, 0)},
                        37, 12, new int[]{16, 16}, 4, 11));
            }
            checks.add(KernelChecks.engineTally(dev, new PendulumModel(), 13));
            checks.add(KernelChecks.graphCache(dev, 17));
            for (KernelChecks.Check c : checks) {
                System.out.println(c);
                if (!c.passed()) failed++;
            }
            table.add(String.format(Locale.ROOT, "checks: %d passed, %d failed", checks.size() - failed, failed));
            table.add(String.format(Locale.ROOT, "%-8s %-6s %-10s %-12s %-14s %s", "replicas", "batch", "ms/step", "steps/s", "GFLOP/s (fwd)", "device"));
            for (int K : new int[]{1, 8, 32}) table.add(timeFsam(dev, K));
        }
        System.out.println();
        table.forEach(System.out::println);
        System.exit(failed == 0 ? 0 : 1);
    }

    /** Median ms of one fsam step (graph replay) on pendulum full size with K replicas. */
    static String timeFsam(Device dev, int K) {
        OdeHybrid m = KernelChecks.hybrid(new PendulumModel(), Activation.TANH, 2, 64, 64);
        SplittableRandom rng = new SplittableRandom(5);
        int frames = 50, B = 256, N = 400;
        Sequences data = KernelChecks.randomSequences(N, frames, rng);
        RuleConfig[] rules = new RuleConfig[K];
        Arrays.fill(rules, KernelChecks.rule(Method.FSAM, false, false, 0));
        float[] p = KernelChecks.randomParams(m, K, rng);
        try (CudaTrainingEngine e = new CudaTrainingEngine(dev, m, data, rules, p)) {
            int[] batch = KernelChecks.randomBatch(K, B, N, rng);
            for (int i = 0; i < 5; i++) e.advance(batch, B);
            double[] ms = new double[30];
            for (int i = 0; i < ms.length; i++) {
                int[] b = KernelChecks.randomBatch(K, B, N, rng);
                ms[i] = dev.elapsedMillis(() -> e.advance(b, B));
            }
            Arrays.sort(ms);
            double med = ms[ms.length / 2];
            // forward MLP flops per stage x stages x samples x replicas x 2 passes (fwd only; backward ~2x more)
            double flops = (double) m.corrector().forwardFlops() * 4 * (frames - 1) * m.stepsPerFrame() * B * K * 2;
            return String.format(Locale.ROOT, "%-8d %-6d %-10.3f %-12.1f %-14.1f %s (loss %.4g)", K, B, med, 1000 / med,
                    flops / (med * 1e6), dev.describe(), e.lastLoss()[0]);
        } catch (DeviceOutOfMemoryException oom) {
            return String.format(Locale.ROOT, "%-8d %-6d %s", K, B, oom.getMessage());
        }
    }
}
