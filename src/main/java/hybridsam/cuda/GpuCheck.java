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
 * FLOP/s against the fp32 ceiling; then every corrector engine that loads (the layer-wise path
 * with the project's GEMM kernels, cuBLAS where JCublas loads, cuDNN where JCudnn loads) checked against the CPU
 * reference and the rollout kernels, and timed the same way for K = 1 and 8; a table last.
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
            // the corrector engines: the layer-wise path with the project's GEMM kernels, and with
            // each library that loads, against the CPU reference and against the rollout kernels
            List<NnEngines.Availability> engines = NnEngines.standard().probe();
            engines.forEach(a -> System.out.println("nn engine " + a.describe()));
            List<Engine> timed = new ArrayList<>();
            timed.add(new Engine("kernels", null));
            timed.add(new Engine("lw-kernels", KernelChecks.KERNEL_DENSE));
            if (engines.get(NnEngine.CUBLAS.ordinal()).loaded()) timed.add(new Engine("cublas", CUBLAS));
            if (engines.get(NnEngine.CUDNN.ordinal()).loaded()) timed.add(new Engine("cudnn", CUDNN));
            SplittableRandom rng = new SplittableRandom(System.nanoTime());
            for (Engine e : timed) {
                if (e.dense() == null) continue;
                checks.add(KernelChecks.denseLayer(dev, e.dense(), 3, 64, 64, 257, rng));
                checks.add(KernelChecks.denseLayer(dev, e.dense(), 2, 2, 20, 37, rng));
                checks.addAll(KernelChecks.layerwise(dev, e.dense(), rng, true));
                checks.add(KernelChecks.layerwiseVsKernels(dev, e.dense(), new PendulumModel(), Activation.TANH, 8, 256, 50, 2,
                        new int[]{64, 64}, rng));
                checks.add(KernelChecks.layerwiseVsKernels(dev, e.dense(), new hybridsam.tasks.DuffingModel(), Activation.RELU, 3,
                        37, 12, 1, new int[]{20, 12}, rng));
                checks.add(KernelChecks.layerwiseEngine(dev, e.dense(), new PendulumModel(),
                        new RuleConfig[]{KernelChecks.rule(Method.FSAM, false, false, 1e-2), KernelChecks.rule(Method.SAM, true, true, 0)},
                        37, 12, new int[]{16, 16}, 4, 11));
                checks.add(KernelChecks.layerwiseEngine(dev, e.dense(), new PendulumModel(),
                        new RuleConfig[]{KernelChecks.rule(Method.ERM, false, false, 0)}, 256, 12, new int[]{64, 64}, 3, 12));
            }
            for (KernelChecks.Check c : checks) {
                System.out.println(c);
                if (!c.passed()) failed++;
            }
            table.add(String.format(Locale.ROOT, "checks: %d passed, %d failed", checks.size() - failed, failed));
            table.add(String.format(Locale.ROOT, "%-11s %-8s %-6s %-10s %-12s %-10s %-9s %s", "engine", "replicas", "batch",
                    "ms/step", "steps/s", "GFLOP/s", "% fp32", "device"));
            for (int K : new int[]{1, 8, 64}) {
                for (StepKernels.Rollout ro : new StepKernels.Rollout[]{StepKernels.Rollout.FUSED, StepKernels.Rollout.PER_THREAD}) {
                    table.add(timeFsam(dev, K, ro));
                }
            }
            // each corrector engine, fsam on pendulum full size, K = 1 and 8 (layer-wise: lw-kernels, cublas)
            for (int K : new int[]{1, 8}) {
                for (Engine e : timed) if (e.dense() != null) table.add(timeFsam(dev, K, null, e));
            }
            table.add("engines: " + String.join("; ", engines.stream().map(NnEngines.Availability::describe).toList()));
            table.add("GFLOP/s counts the MLP only: forward + backward (3x forward) per RK4 stage, two gradients per fsam step;"
                    + " the fused path's recomputed forward is not counted; % of " + FP32_TFLOPS + " TFLOP/s fp32");
        }
        System.out.println();
        table.forEach(System.out::println);
        System.exit(failed == 0 ? 0 : 1);
    }

    /** A corrector engine to check and time: its dense layers (null: the rollout kernels). */
    record Engine(String name, KernelChecks.DenseFactory dense) {
    }

    static final KernelChecks.DenseFactory CUBLAS = d -> CublasDenseOps.create((JCudaDevice) d);
    static final KernelChecks.DenseFactory CUDNN = d -> CudnnDenseOps.create((JCudaDevice) d);

    /** The H200's fp32 (non-tensor) ceiling in TFLOP/s (gpu.md). */
    static final double FP32_TFLOPS = 67;

    /** Median ms of one fsam step (graph replay) on pendulum full size with K replicas and the given gradient kernel. */
    static String timeFsam(Device dev, int K, StepKernels.Rollout rollout) {
        return timeFsam(dev, K, rollout, null);
    }

    /** As {@link #timeFsam(Device, int, StepKernels.Rollout)}, on the layer-wise path when engine is given. */
    static String timeFsam(Device dev, int K, StepKernels.Rollout rollout, Engine engine) {
        OdeHybrid m = KernelChecks.hybrid(new PendulumModel(), Activation.TANH, 2, 64, 64);
        SplittableRandom rng = new SplittableRandom(5);
        int frames = 50, B = 256, N = 400;
        Sequences data = KernelChecks.randomSequences(N, frames, rng);
        RuleConfig[] rules = new RuleConfig[K];
        Arrays.fill(rules, KernelChecks.rule(Method.FSAM, false, false, 0));
        float[] p = KernelChecks.randomParams(m, K, rng);
        String tag = engine != null ? engine.name() : rollout == StepKernels.Rollout.FUSED ? "fused" : "per-thread";
        try (CudaTrainingEngine e = engine != null ? new CudaTrainingEngine(dev, m, data, rules, p, engine.dense().open(dev))
                : new CudaTrainingEngine(dev, m, data, rules, p, rollout)) {
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
