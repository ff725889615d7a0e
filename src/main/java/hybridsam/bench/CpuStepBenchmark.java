package hybridsam.bench;

import hybridsam.cpu.CpuOdeBackend;
import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.tasks.Tasks;
import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Times training steps of the CPU backend on pendulum, full preset: batch 256, 50 frames, RK4 step
 * 0.1 (98 steps), MLP 2-64-64-2 tanh. Reports the median over timed repetitions after warm-up, as
 * steps per second and as sustained FLOP/s counted the way the issue fixes it: one MLP forward is
 * 2·(2·64 + 64·64 + 64·2) FLOP per sample per RK4 stage, backward twice that, 4 stages per step.
 *
 * <p>usage: CpuStepBenchmark [--methods erm,fsam] [--batch 256] [--threads N] [--reps 15] [--warmup 5]
 */
public final class CpuStepBenchmark {
    public static void main(String[] args) {
        String methods = "erm,fsam";
        int batch = 256, reps = 15, warmup = 5, threads = Runtime.getRuntime().availableProcessors(), replicas = 1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--methods" -> methods = args[i + 1];
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--reps" -> reps = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--replicas" -> replicas = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Dataset d = Tasks.PENDULUM.generate("full", 0);
        NdArray a = d.arrays().get("train_obs");
        Sequences train = new Sequences(a.data(), a.shape()[0], a.shape()[1], a.shape()[2]);
        OdeHybrid model = new OdeHybrid(Tasks.PENDULUM.science(), new MlpShape(new int[]{2, 64, 64, 2}, Activation.TANH), 0.1, 2);
        int steps = (train.frames() - 1) * model.stepsPerFrame();
        double mlpFwd = model.corrector().forwardFlops();
        double ermFlop = mlpFwd * 3 * 4 * steps * batch;
        System.out.printf(Locale.ROOT, "# %s, %d threads, %d-bit vectors, Java %s%n", cpuName(), threads,
                CpuOdeBackend.vectorLength() * 32, System.getProperty("java.version"));
        System.out.printf(Locale.ROOT, "# pendulum full: batch %d, %d frames, %d RK4 steps, MLP %s, replicas %d%n",
                batch, train.frames(), steps, model.corrector().describe(), replicas);
        System.out.println("| method | median s/step | steps/s | GFLOP/step | GFLOP/s |");
        System.out.println("|---|---|---|---|---|");
        for (String name : methods.split(",")) {
            Method m = Method.parse(name);
            RuleConfig[] rules = new RuleConfig[replicas];
            float[] p = new float[replicas * model.parameterCount()];
            for (int r = 0; r < replicas; r++) {
                rules[r] = new RuleConfig(m, m.defaultRho(), 1, 0.9, 0.01, 1e-3, false, false, 1e-2, 1e-3, 5, 0);
                model.corrector().initialize(p, r * model.parameterCount() + model.nnOffset(), new SplittableRandom(r));
            }
            try (CpuTrainingEngine e = new CpuTrainingEngine(new CpuOdeBackend(model, threads), train, rules, p)) {
                SplittableRandom rng = new SplittableRandom(1);
                double[] t = new double[reps];
                for (int i = 0; i < warmup + reps; i++) {
                    int[] b = new int[replicas * batch];
                    for (int j = 0; j < b.length; j++) b[j] = rng.nextInt(train.count());
                    long t0 = System.nanoTime();
                    e.step(b, batch);
                    if (i >= warmup) t[i - warmup] = (System.nanoTime() - t0) / 1e9;
                }
                Arrays.sort(t);
                double med = t[reps / 2];
                double flop = ermFlop * replicas * (m.perturbs() ? 2 : 1);
                System.out.printf(Locale.ROOT, "| %s | %.4f | %.2f | %.2f | %.1f |%n", m.id(), med, 1 / med, flop / 1e9, flop / med / 1e9);
            }
        }
    }

    private static String cpuName() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (java.io.IOException | RuntimeException ignored) {
            // the name is decoration only
        }
        return System.getProperty("os.arch");
    }
}
