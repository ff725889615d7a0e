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
 * reference on the real device (PASS/FAIL each; the fused and per-thread gradient kernels both),
 * every rule's engine step against the CPU engine, then the time of fsam steps on pendulum at
 * full size (batch 256, 50 frames, h 0.1, MLP 2-64-64-2 tanh) per replica count (1, 8, 64) and
 * gradient kernel (fused, per-thread), by CUDA events, median of repetitions, with the MLP's
 * FLOP/s against the fp32 ceiling; a table last.
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
            checks.add(KernelChecks.engine(dev, StepKernels.Rollout.PER_THREAD, new PendulumModel(),
                    new RuleConfig[]{KernelChecks.rule(Method.FSAM, false, false, 0), KernelChecks.rule(Method.SAM, true, true, 0)},
                    37, 12, new int[]{16, 16}, 4, 11));
            checks.add(KernelChecks.engineTally(dev, new PendulumModel(), 13));
            checks.add(KernelChecks.graphCache(dev, 17));
            for (KernelChecks.Check c : checks) {
                System.out.println(c);
                if (!c.passed()) failed++;
            }
            table.add(String.format(Locale.ROOT, "checks: %d passed, %d failed", checks.size() - failed, failed));
            table.add(String.format(Locale.ROOT, "%-11s %-8s %-6s %-10s %-12s %-10s %-9s %s", "rollout", "replicas", "batch",
                    "ms/step", "steps/s", "GFLOP/s", "% fp32", "device"));
            for (int K : new int[]{1, 8, 64}) {
                for (StepKernels.Rollout ro : new StepKernels.Rollout[]{StepKernels.Rollout.FUSED, StepKernels.Rollout.PER_THREAD}) {
                    table.add(timeFsam(dev, K, ro));
                }
            }
            table.add("GFLOP/s counts the MLP only: forward + backward (3x forward) per RK4 stage, two gradients per fsam step;"
                    + " the fused path's recomputed forward is not counted; % of " + FP32_TFLOPS + " TFLOP/s fp32");
        }
        System.out.println();
        table.forEach(System.out::println);
        System.exit(failed == 0 ? 0 : 1);
    }

    /** The H200's fp32 (non-tensor) ceiling in TFLOP/s (gpu.md). */
    static final double FP32_TFLOPS = 67;

    /** Median ms of one fsam step (graph replay) on pendulum full size with K replicas and the given gradient kernel. */
    static String timeFsam(Device dev, int K, StepKernels.Rollout rollout) {
        OdeHybrid m = KernelChecks.hybrid(new PendulumModel(), Activation.TANH, 2, 64, 64);
        SplittableRandom rng = new SplittableRandom(5);
        int frames = 50, B = 256, N = 400;
        Sequences data = KernelChecks.randomSequences(N, frames, rng);
        RuleConfig[] rules = new RuleConfig[K];
        Arrays.fill(rules, KernelChecks.rule(Method.FSAM, false, false, 0));
        float[] p = KernelChecks.randomParams(m, K, rng);
        String tag = rollout == StepKernels.Rollout.FUSED ? "fused" : "per-thread";
        try (CudaTrainingEngine e = new CudaTrainingEngine(dev, m, data, rules, p, rollout)) {
            int[] batch = KernelChecks.randomBatch(K, B, N, rng);
            for (int i = 0; i < 5; i++) e.advance(batch, B);
            double[] ms = new double[30];
            for (int i = 0; i < ms.length; i++) {
                int[] b = KernelChecks.randomBatch(K, B, N, rng);
                ms[i] = dev.elapsedMillis(() -> e.advance(b, B));
            }
            Arrays.sort(ms);
            double med = ms[ms.length / 2];
            // MLP flops: forward + backward (3x forward) per stage x stages x samples x replicas x 2 gradients
            double flops = 3.0 * m.corrector().forwardFlops() * 4 * (frames - 1) * m.stepsPerFrame() * B * K * 2;
            double gflops = flops / (med * 1e6);
            return String.format(Locale.ROOT, "%-11s %-8d %-6d %-10.3f %-12.1f %-10.1f %-9.2f %s (loss %.4g)", tag, K, B, med,
                    1000 / med, gflops, 100 * gflops / (FP32_TFLOPS * 1e3), dev.describe(), e.lastLoss()[0]);
        } catch (DeviceOutOfMemoryException oom) {
            return String.format(Locale.ROOT, "%-11s %-8d %-6d %s", tag, K, B, oom.getMessage());
        }
    }
}
