package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.model.Sequences;
import hybridsam.tasks.DuffingModel;
import hybridsam.tasks.PendulumModel;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The GPU check of benchmarks/gpu-check.sh, without Maven: probe, every kernel against the CPU
 * reference on the real device (PASS/FAIL each; the fused and per-thread gradient kernels both),
 * every rule's engine step against the CPU engine, then the time of fsam steps on pendulum at
 * full size (batch 256, 50 frames, h 0.1, MLP 2-64-64-2 tanh) per replica count (1, 8, 64) and
 * gradient kernel (fused, per-thread), by CUDA events, median of repetitions, with the MLP's
 * FLOP/s against the fp32 ceiling; then every corrector engine that loads (the layer-wise path
 * with the project's GEMM kernels, cuBLAS where JCublas loads, cuDNN where JCudnn loads) checked against the CPU
 * reference and the rollout kernels, and timed the same way for K = 1 and 8; a table last.
 * <p>
 * Each check and each timing runs on its own ({@link KernelChecks.Planned}, {@link NamedTiming}), and its
 * line is printed as soon as it finishes: an exception (RuntimeException or LinkageError) becomes
 * a FAIL line naming the exception, its message and where in the project it was thrown, and the
 * next check runs. An error after which the CUDA context is lost ({@link DeviceException#isSticky()})
 * stops all further device work. The table (after the line {@value #TABLE_MARKER}) is printed
 * whatever happened, also when the device did not open.
 * Exit status 0 when everything passed, 1 on a failed check or an exception, 2 when there is no usable GPU.
 * <p>
 * On the CPU stand-in ({@link StandIn}: a {@link JCudaDevice} while the stand-in is loaded) the
 * checks run at test sizes (large = false: no full-size gradient checks, and each corrector
 * engine's layer-wise checks at B=256 made smaller) and the timings are not run; the table says
 * so in one line ({@value #STAND_IN_TIMINGS}) in place of the timing rows, since speed means
 * nothing there and the full-size work would take hours on the CPU. On a GPU nothing changes.
 */
public final class GpuCheck {
    private GpuCheck() {
    }

    /** The line before the table; benchmarks/gpu-check.sh prints what follows it. */
    static final String TABLE_MARKER = "== GpuCheck table";

    /** The table's line in place of the timings on the CPU stand-in. */
    static final String STAND_IN_TIMINGS = "timings: skipped on the CPU stand-in (speed means nothing there)";

    /** One row of the timing table to measure: engine (or gradient kernel), replicas, batch, and the work returning the row. */
    record NamedTiming(String engine, int replicas, int batch, Supplier<String> work) {
        String name() {
            return "time " + engine + " K=" + replicas + " B=" + batch;
        }
    }

    /** What to run on an open device: the checks, then the timings. */
    record Plan(List<KernelChecks.Planned> checks, List<NamedTiming> timings) {
    }

    public static void main(String[] args) {
        // the real driver through JCuda (or whatever libcuda.so.1 the process loads, e.g. a stand-in)
        int status = check(System.out, System.err, CudaProbe.standard(), () -> JCudaDevice.open(0),
                () -> NnEngines.standard().probe(), System.nanoTime(), true);
        System.out.flush();
        System.exit(status);
    }

    /**
     * The whole check: probe, open the device, the corrector engines, every check and timing, and
     * the table last (always). Returns the exit status: 0 all passed, 1 a failure or an
     * exception, 2 no usable GPU (the probe said no, or the device did not open).
     */
    static int check(PrintStream out, PrintStream trace, CudaProbe probe, Supplier<? extends Device> open,
                     Supplier<List<NnEngines.Availability>> engines, long seed, boolean large) {
        Report r = new Report(out, trace);
        List<String> notes = new ArrayList<>();
        try {
            CudaProbe.Verdict v;
            try {
                v = probe.probe();
            } catch (RuntimeException | LinkageError e) {
                r.trace(e);
                r.noGpu("the probe threw " + describe(e));
                return r.status();
            }
            r.line("probe: " + v.describe());
            if (!v.available()) {
                r.noGpu(v.reason());
                return r.status();
            }
            Device dev;
            try {
                dev = open.get();
            } catch (RuntimeException | LinkageError e) {
                r.trace(e);
                r.line("device: did not open: " + describe(e));
                r.noGpu("the device did not open: " + describe(e));
                return r.status();
            }
            try {
                r.line("device: " + dev.describe());
                // the CPU stand-in: the checks at test sizes, no timings (a JCudaDevice runs on it once it is loaded)
                boolean standIn = dev instanceof JCudaDevice && StandIn.active();
                List<NnEngines.Availability> nn;
                try {
                    nn = engines.get();
                } catch (RuntimeException | LinkageError e) {
                    r.failedOutside("nn engine probe", e);  // the project's kernels are checked and timed all the same
                    nn = List.of();
                }
                nn.forEach(a -> r.line("nn engine " + a.describe()));
                notes.add("engines: " + String.join("; ", nn.stream().map(NnEngines.Availability::describe).toList()));
                Plan plan;
                if (standIn) {
                    plan = new Plan(plan(dev, nn, seed, false).checks(), List.of());
                    r.timingsSkipped(STAND_IN_TIMINGS);
                } else {
                    notes.add("GFLOP/s counts the MLP only: forward + backward (3x forward) per RK4 stage, two gradients per fsam step;"
                            + " the fused path's recomputed forward is not counted; % of " + FP32_TFLOPS + " TFLOP/s fp32");
                    plan = plan(dev, nn, seed, large);
                }
                r.run(plan.checks(), plan.timings());
            } finally {
                try {
                    dev.close();
                } catch (RuntimeException | LinkageError e) {
                    r.failedOutside("closing the device", e);
                }
            }
        } catch (RuntimeException | LinkageError e) {
            r.failedOutside("gpu check", e);
        } finally {
            r.table(notes);
        }
        return r.status();
    }

    /**
     * Runs the checks, then the timings, each guarded, printing each line as it finishes; prints the
     * table last, whatever happened. Returns 0 when everything passed, 1 otherwise.
     */
    static int run(PrintStream out, PrintStream trace, List<KernelChecks.Planned> checks, List<NamedTiming> timings, List<String> notes) {
        Report r = new Report(out, trace);
        try {
            r.run(checks, timings);
        } finally {
            r.table(notes);
        }
        return r.status();
    }

    /** Counts and lines of one run: what passed, failed, was not run, and why the device work stopped. */
    static final class Report {
        private final PrintStream out, trace;
        private int passed, failed, checksNotRun, timingsMeasured, timingsFailed, timingsNotRun, otherFailed;
        private final List<String> failures = new ArrayList<>();
        private final List<String> rows = new ArrayList<>();
        private boolean timingsPlanned;
        /** Why device work stopped (the context was lost), or null. */
        private String stopped;
        /** Why nothing ran (no usable GPU), or null. */
        private String noGpu;
        /** The table's line in place of the timings when they were deliberately not run (the CPU stand-in), or null. */
        private String timingsSkipped;

        Report(PrintStream out, PrintStream trace) {
            this.out = out;
            this.trace = trace;
        }

        void line(String s) {
            out.println(s);
            out.flush();
        }

        void trace(Throwable e) {
            if (trace == null) return;
            e.printStackTrace(trace);
            trace.flush();
        }

        /** The timings are not run: the table prints why in one line instead of the timing rows. */
        void timingsSkipped(String line) {
            timingsSkipped = line;
        }

        void noGpu(String why) {
            noGpu = why == null || why.isBlank() ? "no usable GPU" : why;
        }

        /** An exception outside the checks and timings (closing the device, building the plan): a failure. */
        void failedOutside(String what, Throwable e) {
            otherFailed++;
            thrown(what, e);
        }

        /** A FAIL line for what threw e (its trace to the trace stream); stops device work when the context is lost. */
        private void thrown(String what, Throwable e) {
            trace(e);
            failures.add(what + " (threw " + describe(e, false) + ")");
            line(String.format(Locale.ROOT, "%-4s %-44s threw %s", "FAIL", what, describe(e)));
            lost(what, e);
        }

        private void lost(String what, Throwable e) {
            DeviceException d = lostContext(e);
            if (d != null && stopped == null) {
                stopped = "the CUDA context was lost in " + what + " (" + describe(d) + ")";
                line("STOP " + stopped + ": no further device checks or timings");
            }
        }

        void run(List<KernelChecks.Planned> checks, List<NamedTiming> timings) {
            timingsPlanned = !timings.isEmpty();
            for (KernelChecks.Planned c : checks) {
                if (stopped != null) {
                    checksNotRun++;
                    line(String.format(Locale.ROOT, "%-4s %-44s not run (device lost)", "SKIP", c.name()));
                    continue;
                }
                try {
                    List<KernelChecks.Check> results = c.work().get();
                    if (results == null) throw new IllegalStateException("the check returned no results");
                    for (KernelChecks.Check k : results) {
                        line(k.toString());
                        if (k.passed()) {
                            passed++;
                        } else {
                            failed++;
                            failures.add(k.name());
                        }
                    }
                } catch (RuntimeException | LinkageError e) {
                    failed++;
                    thrown(c.name(), e);
                }
            }
            for (NamedTiming t : timings) {
                if (stopped != null) {
                    timingsNotRun++;
                    rows.add(String.format(Locale.ROOT, "%-11s %-8d %-6d not run (device lost)", t.engine(), t.replicas(), t.batch()));
                    line(String.format(Locale.ROOT, "%-4s %-44s not run (device lost)", "SKIP", t.name()));
                    continue;
                }
                try {
                    String row = t.work().get();
                    rows.add(row);
                    timingsMeasured++;
                    line("time " + row);
                } catch (RuntimeException | LinkageError e) {
                    timingsFailed++;
                    rows.add(String.format(Locale.ROOT, "%-11s %-8d %-6d FAILED: %s", t.engine(), t.replicas(), t.batch(), describe(e)));
                    thrown(t.name(), e);
                }
            }
        }

        /** The table: counts, what failed, why work stopped, the timing rows, the notes. */
        void table(List<String> notes) {
            out.println();
            out.println(TABLE_MARKER);
            if (noGpu != null) {
                out.println("checks: none run (no usable GPU: " + noGpu + ")");
                out.println("timings: none run");
            } else {
                out.println(String.format(Locale.ROOT, "checks: %d passed, %d failed, %d not run", passed, failed, checksNotRun));
                if (timingsSkipped != null && !timingsPlanned) {
                    out.println(timingsSkipped);
                } else if (timingsPlanned) {
                    out.println(String.format(Locale.ROOT, "timings: %d measured, %d failed, %d not run", timingsMeasured,
                            timingsFailed, timingsNotRun));
                }
                if (otherFailed > 0) out.println(String.format(Locale.ROOT, "other failures: %d", otherFailed));
                if (!failures.isEmpty()) {
                    int show = Math.min(failures.size(), 20);
                    out.println("failed: " + String.join("; ", failures.subList(0, show))
                            + (failures.size() > show ? "; and " + (failures.size() - show) + " more" : ""));
                }
                if (stopped != null) {
                    out.println(String.format(Locale.ROOT, "stopped: %s; %d checks and %d timings not run", stopped,
                            checksNotRun, timingsNotRun));
                }
                if (timingsPlanned) {
                    out.println(String.format(Locale.ROOT, "%-11s %-8s %-6s %-10s %-12s %-10s %-9s %s", "engine", "replicas",
                            "batch", "ms/step", "steps/s", "GFLOP/s", "% fp32", "device"));
                    rows.forEach(out::println);
                }
            }
            notes.forEach(out::println);
            out.flush();
        }

        /** 0 when everything passed, 1 on any failure or exception, 2 when there was no usable GPU. */
        int status() {
            return noGpu != null ? 2 : failed + timingsFailed + otherFailed > 0 || stopped != null ? 1 : 0;
        }
    }

    /** CUresult names of the errors after which the context is lost (as {@link DeviceException#isSticky()}). */
    private static final List<String> STICKY_NAMES = List.of("CUDA_ERROR_ILLEGAL_ADDRESS", "CUDA_ERROR_LAUNCH_TIMEOUT",
            "CUDA_ERROR_ASSERT", "CUDA_ERROR_HARDWARE_STACK_ERROR", "CUDA_ERROR_ILLEGAL_INSTRUCTION",
            "CUDA_ERROR_MISALIGNED_ADDRESS", "CUDA_ERROR_INVALID_PC", "CUDA_ERROR_LAUNCH_FAILED", "CUDA_ERROR_ECC_UNCORRECTABLE");

    /**
     * The DeviceException in e (itself, a cause, or one suppressed while closing resources) that
     * says the CUDA context is lost, or null. A DeviceException without a driver code counts when
     * its message names one of those errors (JCudaDevice's messages carry CUresult.stringFor).
     */
    static DeviceException lostContext(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof DeviceException d && sticky(d)) return d;
            for (Throwable s : t.getSuppressed()) {
                if (s instanceof DeviceException d && sticky(d)) return d;
            }
        }
        return null;
    }

    private static boolean sticky(DeviceException d) {
        if (d.isSticky()) return true;
        if (d.cudaCode() != 0 || d.getMessage() == null) return false;
        for (String n : STICKY_NAMES) if (d.getMessage().contains(n)) return true;
        return false;
    }

    /** "ExceptionClass: first line of the message (at Class.method(File.java:line))", the frame the first in the project. */
    static String describe(Throwable e) {
        return describe(e, true);
    }

    /** As {@link #describe(Throwable)}, with or without the frame. */
    static String describe(Throwable e, boolean frame) {
        String cls = e.getClass().getSimpleName().isEmpty() ? e.getClass().getName() : e.getClass().getSimpleName();
        String msg = e instanceof LinkageError ? CudaProbe.firstCause(e.getMessage())
                : e.getMessage() == null || e.getMessage().isBlank() ? "" : e.getMessage().strip().split("\\R", 2)[0];
        if (msg.length() > 300) msg = msg.substring(0, 300) + "...";
        StringBuilder b = new StringBuilder(cls);
        if (!msg.isEmpty()) b.append(": ").append(msg);
        for (StackTraceElement f : frame ? e.getStackTrace() : new StackTraceElement[0]) {
            if (f.getClassName().startsWith("hybridsam.")) {
                String c = f.getClassName();
                b.append(" (at ").append(c.substring(c.lastIndexOf('.') + 1)).append('.').append(f.getMethodName())
                        .append('(').append(f.getFileName()).append(':').append(f.getLineNumber()).append("))");
                break;
            }
        }
        return b.toString();
    }

    /**
     * The checks and timings of the GPU check on dev, with the corrector engines that loaded. The
     * kernel checks are {@link KernelChecks#all} one at a time (same order, same random draws).
     */
    static Plan plan(Device dev, List<NnEngines.Availability> engines, long seed, boolean large) {
        List<KernelChecks.Planned> checks = new ArrayList<>(KernelChecks.plan(dev, seed, large));
        for (Method m : Method.values()) {
            checks.add(KernelChecks.Planned.one("engine Pendulum " + m.id() + ", " + m.id() + "+all+clean",
                    () -> KernelChecks.engine(dev, new PendulumModel(),
                            new RuleConfig[]{KernelChecks.rule(m, false, false, 0), KernelChecks.rule(m, true, true, 0)},
                            37, 12, new int[]{16, 16}, 4, 11)));
        }
        checks.add(KernelChecks.Planned.one("engine Pendulum [per-thread] fsam, sam+all+clean",
                () -> KernelChecks.engine(dev, StepKernels.Rollout.PER_THREAD, new PendulumModel(),
                        new RuleConfig[]{KernelChecks.rule(Method.FSAM, false, false, 0), KernelChecks.rule(Method.SAM, true, true, 0)},
                        37, 12, new int[]{16, 16}, 4, 11)));
        checks.add(KernelChecks.Planned.one("engine loss tally Pendulum", () -> KernelChecks.engineTally(dev, new PendulumModel(), 13)));
        checks.add(KernelChecks.Planned.one("engine graph cache", () -> KernelChecks.graphCache(dev, 17)));
        checks.add(KernelChecks.Planned.one("engine schedules Duffing", () -> KernelChecks.scheduledEngine(dev, new DuffingModel(), 19)));
        // the corrector engines: the layer-wise path with the project's GEMM kernels, and with
        // each library that loads, against the CPU reference and against the rollout kernels
        List<Engine> timed = new ArrayList<>();
        timed.add(new Engine("kernels", null));
        timed.add(new Engine("lw-kernels", KernelChecks.KERNEL_DENSE));
        if (loaded(engines, NnEngine.CUBLAS)) timed.add(new Engine("cublas", CUBLAS));
        if (loaded(engines, NnEngine.CUDNN)) timed.add(new Engine("cudnn", CUDNN));
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (Engine e : timed) {
            if (e.dense() == null) continue;
            KernelChecks.DenseFactory d = e.dense();
            String at = " [" + e.name() + "]";
            checks.add(KernelChecks.Planned.one("dense layer K=3 64x64 n=257" + at, () -> KernelChecks.denseLayer(dev, d, 3, 64, 64, 257, rng)));
            checks.add(KernelChecks.Planned.one("dense layer K=2 2x20 n=37" + at, () -> KernelChecks.denseLayer(dev, d, 2, 2, 20, 37, rng)));
            // KernelChecks.layerwise(dev, d, rng, large), one at a time
            checks.add(lwGradient(dev, d, at, new PendulumModel(), Activation.TANH, 3, 37, 4, 2, new int[]{8, 8}, rng));
            checks.add(lwGradient(dev, d, at, new DuffingModel(), Activation.RELU, 2, 19, 4, 1, new int[]{20, 12}, rng));
            checks.add(lwGradient(dev, d, at, new PendulumModel(), Activation.ELU, 1, 5, 3, 1, new int[]{20, 12}, rng));
            checks.add(lwGradient(dev, d, at, new DuffingModel(), Activation.SOFTPLUS, 2, 17, 3, 1, new int[]{4, 7, 3}, rng));
            checks.add(lwGradient(dev, d, at, new PendulumModel(), Activation.TANH, 1, 3, 3, 1, new int[]{5}, rng));
            if (large) {
                checks.add(lwGradient(dev, d, at, new PendulumModel(), Activation.TANH, 1, 256, 50, 2, new int[]{64, 64}, rng));
                checks.add(lwGradient(dev, d, at, new DuffingModel(), Activation.SOFTPLUS, 8, 100, 30, 1, new int[]{128, 32}, rng));
            }
            // the nested hybrid (pendulum-images) with its encoder and decoder on this engine, against NestedReference
            int nB = large ? 16 : 3, nH = large ? 28 : 5, nW = large ? 28 : 6, nT = large ? 20 : 5, nWidth = large ? 128 : 16;
            checks.add(KernelChecks.Planned.one("gradient nested K=2 B=" + nB + " " + nH + "x" + nW + " T=" + nT + at,
                    () -> NestedChecks.gradient(dev, d, new PendulumModel(), Activation.TANH, 2, nB, nH, nW, nT, 2, nWidth, rng)));
            // at full size with large; smaller without (the CPU stand-in, where K=8 B=256 T=50 takes minutes per engine)
            int vsK = large ? 8 : 2, vsB = large ? 256 : 64, vsT = large ? 50 : 10;
            checks.add(KernelChecks.Planned.one("layer-wise vs kernels Pendulum tanh K=" + vsK + " B=" + vsB + " T=" + vsT + at,
                    () -> KernelChecks.layerwiseVsKernels(dev, d, new PendulumModel(), Activation.TANH, vsK, vsB, vsT, 2,
                            new int[]{64, 64}, rng)));
            checks.add(KernelChecks.Planned.one("layer-wise vs kernels Duffing relu K=3 B=37 T=12" + at,
                    () -> KernelChecks.layerwiseVsKernels(dev, d, new DuffingModel(), Activation.RELU, 3, 37, 12, 1,
                            new int[]{20, 12}, rng)));
            checks.add(KernelChecks.Planned.one("engine layer-wise Pendulum fsam sam B=37" + at,
                    () -> KernelChecks.layerwiseEngine(dev, d, new PendulumModel(),
                            new RuleConfig[]{KernelChecks.rule(Method.FSAM, false, false, 1e-2), KernelChecks.rule(Method.SAM, true, true, 0)},
                            37, 12, new int[]{16, 16}, 4, 11)));
            int ermB = large ? 256 : 67;
            checks.add(KernelChecks.Planned.one("engine layer-wise Pendulum erm B=" + ermB + at,
                    () -> KernelChecks.layerwiseEngine(dev, d, new PendulumModel(),
                            new RuleConfig[]{KernelChecks.rule(Method.ERM, false, false, 0)}, ermB, 12, new int[]{64, 64}, 3, 12)));
        }
        List<NamedTiming> timings = new ArrayList<>();
        for (int K : new int[]{1, 8, 64}) {
            for (StepKernels.Rollout ro : new StepKernels.Rollout[]{StepKernels.Rollout.FUSED, StepKernels.Rollout.PER_THREAD}) {
                timings.add(new NamedTiming(ro == StepKernels.Rollout.FUSED ? "fused" : "per-thread", K, BATCH,
                        () -> timeFsam(dev, K, ro)));
            }
        }
        // each corrector engine, fsam on pendulum full size, K = 1 and 8 (layer-wise: lw-kernels, cublas, cudnn)
        for (int K : new int[]{1, 8}) {
            for (Engine e : timed) {
                if (e.dense() != null) timings.add(new NamedTiming(e.name(), K, BATCH, () -> timeFsam(dev, K, null, e)));
            }
        }
        return new Plan(checks, timings);
    }

    private static KernelChecks.Planned lwGradient(Device dev, KernelChecks.DenseFactory dense, String at, ScientificModel sci, Activation act,
                                         int K, int B, int frames, int spf, int[] hidden, SplittableRandom rng) {
        return KernelChecks.Planned.one("layer-wise gradient " + KernelChecks.shape(sci, act, K, B, frames, hidden) + at,
                () -> KernelChecks.layerwiseGradient(dev, dense, sci, act, K, B, frames, spf, hidden, rng));
    }

    private static boolean loaded(List<NnEngines.Availability> engines, NnEngine e) {
        for (NnEngines.Availability a : engines) if (a.engine() == e) return a.loaded();
        return false;
    }

    /** A corrector engine to check and time: its dense layers (null: the rollout kernels). */
    record Engine(String name, KernelChecks.DenseFactory dense) {
    }

    static final KernelChecks.DenseFactory CUBLAS = d -> CublasDenseOps.create((JCudaDevice) d);
    static final KernelChecks.DenseFactory CUDNN = d -> CudnnDenseOps.create((JCudaDevice) d);

    /** The H200's fp32 (non-tensor) ceiling in TFLOP/s (gpu.md). */
    static final double FP32_TFLOPS = 67;

    /** The timings' batch size. */
    static final int BATCH = 256;

    /** Median ms of one fsam step (graph replay) on pendulum full size with K replicas and the given gradient kernel. */
    static String timeFsam(Device dev, int K, StepKernels.Rollout rollout) {
        return timeFsam(dev, K, rollout, null);
    }

    /** As {@link #timeFsam(Device, int, StepKernels.Rollout)}, on the layer-wise path when engine is given. */
    static String timeFsam(Device dev, int K, StepKernels.Rollout rollout, Engine engine) {
        OdeHybrid m = KernelChecks.hybrid(new PendulumModel(), Activation.TANH, 2, 64, 64);
        SplittableRandom rng = new SplittableRandom(5);
        int frames = 50, B = BATCH, N = 400;
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
