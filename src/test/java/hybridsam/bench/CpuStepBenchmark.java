package hybridsam.bench;

import hybridsam.cpu.CpuNestedBackend;
import hybridsam.cpu.CpuOdeBackend;
import hybridsam.cpu.CpuTrainingEngine;
import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.model.Activation;
import hybridsam.model.Corrector;
import hybridsam.model.ImageSequences;
import hybridsam.model.MlpShape;
import hybridsam.model.NestedHybrid;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.model.Sequences;
import hybridsam.tasks.Task;
import hybridsam.tasks.TaskDefaults;
import hybridsam.tasks.Tasks;
import hybridsam.tasks.data.ReactionDiffusionData;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Times training steps of the CPU backend (benchmarks/cpu-step.sh). Test code, not part of the
 * library: it lives in the test sources so that the jar carries no benchmark.
 *
 * <ul>
 * <li>{@code --task pendulum} (default): full preset, batch 256, 50 frames, RK4 step 0.1 (98
 * steps), MLP 2-64-64-2 tanh.</li>
 * <li>{@code --task reaction-diffusion}: full preset, 32 × 32 grid, 16 frames, RK4 step 0.1 (15
 * steps), 3 × 3 conv net 2-16-16-2 with leaky ReLU and edge-replicate padding, batch 16, on the
 * seed-0 training episodes of the task's own generator.</li>
 * <li>{@code --task pendulum-images}: the nested hybrid at the full preset's shapes, 32 × 32
 * images, 20 frames 0.2 apart, RK4 step 0.1 (38 steps), encoder 3072-128-2, corrector 2-64-64-2,
 * decoder 2-128-1024 + sigmoid, all tanh, batch 64, on 1000 sequences of random images in [0, 1]
 * (the cost of a step does not depend on the pixels); small preset: 16 × 16, 10 frames.
 * FLOPs: the three networks' dense layers, encoder once per sequence, decoder once per frame,
 * corrector once per RK4 stage, backward counted as twice the forward (the encoder's backward
 * skips its input gradient, so this slightly overstates the work, by under 4% at full size).</li>
 * </ul>
 *
 * Reports the median over timed repetitions after warm-up, as steps per second and as sustained
 * FLOP/s counted from the corrector only, the way the issues fix it: one forward is
 * {@link Corrector#forwardFlops()} per sample per RK4 stage (MLP: 2·(2·64 + 64·64 + 64·2); conv:
 * 2·Σ in·out·9·H·W), backward twice that, 4 stages per step, twice that again for the rules that
 * take two gradients. The scientific model, the RK4 arithmetic and any recomputed stages (the
 * rollout recomputes a step's stages when keeping them all would pass its memory budget) are not
 * counted, so the figure is a lower bound of the arithmetic done.
 *
 * <p>usage: CpuStepBenchmark [--task pendulum|reaction-diffusion|pendulum-images] [--preset full|small]
 * [--methods erm,fsam] [--batch 256|16|64] [--threads N] [--replicas 1] [--reps 15] [--warmup 5]
 */
public final class CpuStepBenchmark {
    public static void main(String[] args) {
        String methods = "erm,fsam", taskName = "pendulum", preset = "full";
        int batch = -1, reps = 15, warmup = 5, threads = Runtime.getRuntime().availableProcessors(), replicas = 1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--task" -> taskName = args[i + 1];
                case "--preset" -> preset = args[i + 1];
                case "--methods" -> methods = args[i + 1];
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--reps" -> reps = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--replicas" -> replicas = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (args.length % 2 != 0) throw new IllegalArgumentException("option " + args[args.length - 1] + " needs a value");
        if (taskName.equals("pendulum-images")) {
            nestedSteps(preset, methods, batch < 0 ? 64 : batch, threads, reps, warmup, replicas);
            return;
        }
        Task task = Tasks.byName(taskName);
        boolean rd = task == Tasks.REACTION_DIFFUSION;
        if (!rd && task != Tasks.PENDULUM) throw new IllegalArgumentException("--task: pendulum, reaction-diffusion or pendulum-images");
        // batch as the issues fix it: 256 for the pendulum step, the task's training default (16) for reaction-diffusion
        if (batch < 0) batch = rd ? task.defaults().batchSize() : 256;

        Sequences train;
        OdeHybrid model;
        if (rd) {
            // Only the training split is used, so valid and test are cut to one episode each: the
            // generator draws episode seeds train first, so these 400 episodes are exactly the full
            // preset's, at 40% of its generation time.
            ReactionDiffusionData.Settings s = ReactionDiffusionData.Settings.preset(preset);
            s = new ReactionDiffusionData.Settings(s.height(), s.width(), s.nTrain(), 1, 1, s.frames(),
                    s.frameDt(), s.dataStep(), s.noise());
            NdArray a = ReactionDiffusionData.generate(preset, s, 0).arrays().get("train_obs");
            int[] shape = a.shape();
            int[] frame = Arrays.copyOfRange(shape, 2, shape.length);
            train = new Sequences(a.data(), shape[0], shape[1], a.data().length / (shape[0] * shape[1]));
            TaskDefaults d = task.defaults();
            ScientificModel science = task.science(frame, "reaction-diffusion " + preset);
            Corrector net = task.corrector(science, d.hidden(), d.activation());
            model = new OdeHybrid(science, net, d.rk4Step(), Tasks.stepsPerFrame(s.frameDt(), d.rk4Step(), "generator"));
        } else {
            Dataset d = Tasks.PENDULUM.generate(preset, 0);
            NdArray a = d.arrays().get("train_obs");
            train = new Sequences(a.data(), a.shape()[0], a.shape()[1], a.shape()[2]);
            model = new OdeHybrid(Tasks.PENDULUM.science(), new MlpShape(new int[]{2, 64, 64, 2}, Activation.TANH), 0.1, 2);
        }
        int steps = (train.frames() - 1) * model.stepsPerFrame();
        double fwd = model.corrector().forwardFlops();
        double ermFlop = fwd * 3 * 4 * steps * batch; // forward + backward (2×), 4 RK4 stages
        System.out.printf(Locale.ROOT, "# %s, %d threads, %d-bit vectors, Java %s%n", cpuName(), threads,
                CpuOdeBackend.vectorLength() * 32, System.getProperty("java.version"));
        String net = rd ? "" : "MLP "; // the conv net's description names itself ("conv3x3 ...")
        System.out.printf(Locale.ROOT, "# %s %s: batch %d, %d frames, %d RK4 steps, %s%s, replicas %d%n",
                task.name(), preset, batch, train.frames(), steps, net, model.corrector().describe(), replicas);
        final OdeHybrid ode = model;
        final int nThreads = threads;
        table(methods, replicas, ode, train, batch, reps, warmup, ermFlop, () -> new CpuOdeBackend(ode, nThreads));
    }

    /** Times the nested hybrid of pendulum-images at the preset's shapes on random images. */
    private static void nestedSteps(String preset, String methods, int batch, int threads, int reps, int warmup, int replicas) {
        boolean full = preset.equals("full");
        if (!full && !preset.equals("small")) throw new IllegalArgumentException("--preset: full or small");
        int side = full ? 32 : 16, frames = full ? 20 : 10, count = full ? 1000 : 64;
        OdeHybrid ode = new OdeHybrid(Tasks.PENDULUM.science(), new MlpShape(new int[]{2, 64, 64, 2}, Activation.TANH), 0.1, 2);
        NestedHybrid model = NestedHybrid.mlp(ode, side, side, Activation.TANH);
        SplittableRandom rng = new SplittableRandom(0);
        float[] images = new float[count * frames * side * side];
        for (int i = 0; i < images.length; i++) images[i] = (float) rng.nextDouble();
        ImageSequences train = new ImageSequences(images, count, frames, side, side, 0.2);
        int steps = (frames - 1) * ode.stepsPerFrame();
        double fwd = model.encoder().forwardFlops() + (double) frames * model.decoder().forwardFlops()
                + 4.0 * steps * ode.corrector().forwardFlops();
        double ermFlop = fwd * 3 * batch; // forward + backward (2×) per sequence
        System.out.printf(Locale.ROOT, "# %s, %d threads, %d-bit vectors, Java %s%n", cpuName(), threads,
                CpuOdeBackend.vectorLength() * 32, System.getProperty("java.version"));
        System.out.printf(Locale.ROOT, "# pendulum-images %s: batch %d, %d frames of %dx%d, %d RK4 steps, encoder %s, corrector %s,"
                        + " decoder %s + sigmoid, replicas %d; forward %.0f FLOP per sequence%n", preset, batch, frames, side, side,
                steps, model.encoder().describe(), ode.corrector().describe(), model.decoder().describe(), replicas, fwd);
        table(methods, replicas, model, train, batch, reps, warmup, ermFlop, () -> new CpuNestedBackend(model, threads));
    }

    /** One row per method: warm-up steps, then the median of the timed ones. */
    private static void table(String methods, int replicas, hybridsam.model.Hybrid model, hybridsam.model.Split train,
                              int batch, int reps, int warmup, double ermFlop,
                              java.util.function.Supplier<hybridsam.cpu.CpuBackend> backend) {
        System.out.println("| method | median s/step | steps/s | GFLOP/step | GFLOP/s |");
        System.out.println("|---|---|---|---|---|");
        for (String name : methods.split(",")) {
            Method m = Method.parse(name);
            RuleConfig[] rules = new RuleConfig[replicas];
            float[] p = new float[replicas * model.parameterCount()];
            for (int r = 0; r < replicas; r++) {
                rules[r] = new RuleConfig(m, m.defaultRho(), 1, 0.9, 0.01, 1e-3, false, false, 1e-2, 1e-3, 5, 0);
                model.initializeNetworks(p, r * model.parameterCount(), new SplittableRandom(r));
            }
            try (CpuTrainingEngine e = new CpuTrainingEngine(backend.get(), train, rules, p)) {
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
