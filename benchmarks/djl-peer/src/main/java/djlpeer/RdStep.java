package djlpeer;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.GradientCollector;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * PyTorch (libtorch 2.7.1 through DJL 0.36, CPU) running the reaction-diffusion training step of
 * hybridsam's CPU benchmark (src/test/java/hybridsam/bench/CpuStepBenchmark.java, --task
 * reaction-diffusion), to put a measured PyTorch-CPU figure beside hybridsam's.
 *
 * <p>The step, as hybridsam's: state z = (U, V) on a 32 × 32 grid, dz/dt = (a ΔU, b ΔV) +
 * net(z), Δ the five-point Laplacian with edge-replicate boundaries and mesh step 2/31; θ = (a, b)
 * = exp(log 1e-4 + (log 1e-2 − log 1e-4) σ(u)); net a 3 × 3 convolutional net 2-16-16-2 with
 * edge-replicate padding and leaky ReLU (slope 0.01) after the hidden layers; classic RK4 at step
 * 0.1, 15 steps from the first frame, one per frame; loss the MSE over the 15 predicted frames;
 * gradient-norm clip 5 over (u, φ); Adam (lr 1e-2 for u, 1e-3 for φ, betas 0.9/0.999, eps 1e-8).
 * fsam (ρ 0.05, σ 1, λ 0.9) perturbs φ only and takes θ's gradient from the perturbed pass, as
 * hybridsam's defaults and benchmarks/pytorch_peer.py do.
 *
 * <p>Data: FitzHugh-Nagumo episodes made here (the task's truth, RK4 at 1e-3, initial U, V
 * uniform in [0, 1)), fewer than the full preset's 400 (--episodes, 64 by default): a minibatch
 * of 16 is drawn from them, and the values do not change the arithmetic of a step, only the data
 * generation time.
 *
 * <p>FLOPs are counted as hybridsam counts them: conv layers only, 2·Σ in·out·9·H·W per sample
 * per RK4 stage forward, backward twice that, 4 stages per step, twice for fsam.
 *
 * <p>usage: RdStep [--methods erm,fsam] [--batch 16] [--reps 15] [--warmup 5] [--episodes 64]
 * (threads: -Dai.djl.pytorch.num_threads=N, set by run.sh; -Ddjlpeer.verbose=true prints every
 * step's loss and time and the gradient and parameter norms)
 */
public final class RdStep {
    static final int H = 32, W = 32, FRAMES = 16, STEPS = FRAMES - 1;
    static final double DX = 2.0 / (W - 1), RK4_H = 0.1;
    static final double LO = 1e-4, HI = 1e-2;
    static final int[] CH = {2, 16, 16, 2};
    static final float SLOPE = 0.01f;
    // Every scalar handed to an NDArray op below is a float: DJL makes a Double into a float64
    // tensor, and the whole rollout would then run in double precision.

    public static void main(String[] args) {
        String methods = "erm,fsam";
        int batch = 16, reps = 15, warmup = 5, episodes = 64;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--methods" -> methods = args[i + 1];
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                case "--reps" -> reps = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--episodes" -> episodes = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Engine engine = Engine.getEngine("PyTorch");
        long t0 = System.nanoTime();
        float[] data = FitzHughNagumo.episodes(episodes, 0);
        double genS = (System.nanoTime() - t0) / 1e9;
        long convFwd = 0;
        for (int l = 0; l + 1 < CH.length; l++) convFwd += 2L * CH[l] * CH[l + 1] * 9 * H * W;
        double ermFlop = (double) convFwd * 3 * 4 * STEPS * batch;
        System.out.printf(Locale.ROOT, "# PyTorch %s through DJL %s on the CPU, %s threads (ai.djl.pytorch.num_threads), Java %s%n",
                engine.getVersion(), Engine.getDjlVersion(), System.getProperty("ai.djl.pytorch.num_threads", "default"),
                System.getProperty("java.version"));
        System.out.printf(Locale.ROOT, "# reaction-diffusion 32x32: batch %d, %d frames, %d RK4 steps, conv3x3 2-16-16-2 leaky_relu;"
                + " %d FitzHugh-Nagumo episodes made in %.1f s%n", batch, FRAMES, STEPS, episodes, genS);
        System.out.println("| method | median s/step | steps/s | GFLOP/step | GFLOP/s | final loss |");
        System.out.println("|---|---|---|---|---|---|");
        try (NDManager base = NDManager.newBaseManager()) {
            for (String name : methods.split(",")) {
                boolean fsam = switch (name) {
                    case "erm" -> false;
                    case "fsam" -> true;
                    default -> throw new IllegalArgumentException("--methods: erm or fsam, not " + name);
                };
                try (NDManager runScope = base.newSubManager()) {
                    Run run = new Run(runScope, data, episodes, fsam);
                    SplittableRandom rng = new SplittableRandom(1);
                    double[] t = new double[reps];
                    float loss = Float.NaN;
                    for (int i = 0; i < warmup + reps; i++) {
                        int[] b = new int[batch];
                        for (int j = 0; j < batch; j++) b[j] = rng.nextInt(episodes);
                        long s0 = System.nanoTime();
                        loss = run.step(b);
                        if (i >= warmup) t[i - warmup] = (System.nanoTime() - s0) / 1e9;
                        if (Boolean.getBoolean("djlpeer.verbose")) {
                            System.out.printf(Locale.ROOT, "#   step %d: loss %.6g, %.3f s%n", i + 1, loss, (System.nanoTime() - s0) / 1e9);
                        }
                    }
                    Arrays.sort(t);
                    double med = t[reps / 2];
                    double flop = ermFlop * (fsam ? 2 : 1);
                    System.out.printf(Locale.ROOT, "| %s | %.4f | %.2f | %.2f | %.1f | %.4g |%n", name, med, 1 / med,
                            flop / 1e9, flop / med / 1e9, loss);
                }
            }
        }
    }

    /** One training run: parameters, Adam and fsam state, all tensors in the run's manager. */
    static final class Run {
        final NDManager m;
        final float[] data;
        final int episodes;
        final boolean fsam;
        final NDArray u;                       // unconstrained θ, [2]
        final List<NDArray> phi = new ArrayList<>(); // W1, b1, W2, b2, W3, b3
        final List<NDArray> params = new ArrayList<>();
        final List<NDArray> adamM = new ArrayList<>(), adamV = new ArrayList<>();
        final List<NDArray> avg = new ArrayList<>(), saved = new ArrayList<>(); // fsam's m and φ's copy
        int t;

        Run(NDManager m, float[] data, int episodes, boolean fsam) {
            this.m = m;
            this.data = data;
            this.episodes = episodes;
            this.fsam = fsam;
            SplittableRandom rng = new SplittableRandom(0);
            u = m.zeros(new Shape(2)); // θ in the middle of its (log) box, as hybridsam starts it
            for (int l = 0; l + 1 < CH.length; l++) {
                int in = CH[l], out = CH[l + 1];
                float bound = (float) (1 / Math.sqrt(in * 9.0)); // the bound hybridsam's ConvShape uses
                phi.add(uniform(m, rng, bound, new Shape(out, in, 3, 3)));
                phi.add(uniform(m, rng, bound, new Shape(out)));
            }
            params.add(u);
            params.addAll(phi);
            for (NDArray p : params) {
                adamM.add(m.zeros(p.getShape()));
                adamV.add(m.zeros(p.getShape()));
            }
            for (NDArray p : phi) {
                avg.add(m.zeros(p.getShape()));
                saved.add(m.zeros(p.getShape()));
            }
        }

        private static NDArray uniform(NDManager m, SplittableRandom rng, float bound, Shape s) {
            float[] v = new float[(int) s.size()];
            for (int i = 0; i < v.length; i++) v[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
            return m.create(v, s);
        }

        private final java.util.Map<Double, NDArray> constants = new java.util.HashMap<>();

        /**
         * A float32 scalar tensor that lives as long as the run. Inside the differentiated
         * rollout, scalars must not be passed as Numbers: DJL wraps a Number in a tensor over a
         * buffer of its own and closes it as soon as the op returns, while autograd keeps that
         * tensor for the backward pass, which then reads freed memory (seen: the same
         * minibatch at the same parameters gave a finite gradient on one call and NaN on the
         * next, alternating). A tensor held here stays valid through every backward pass.
         */
        NDArray c(double v) {
            return constants.computeIfAbsent(v, k -> m.create((float) v));
        }

        /** One training step on the given episodes; returns the clean loss. */
        float step(int[] batch) {
            t++;
            try (NDManager scope = m.newSubManager()) {
                // the parameters and optimizer state join the step's scope for the step, so that
                // every array derived from them is freed with it; closing the scope hands them back
                List<NDArray> state = new ArrayList<>(params);
                state.addAll(adamM);
                state.addAll(adamV);
                state.addAll(avg);
                state.addAll(saved);
                scope.tempAttachAll(state.toArray(new NDArray[0]));
                NDArray obs = scope.create(gather(batch), new Shape(batch.length, FRAMES, 2, H, W));
                NDArray[] g = new NDArray[params.size()];
                float loss = lossAndGradient(obs, g);
                if (fsam) {
                    // ε = ρ d / ‖d‖, d = g_φ − σ m (first step: d = g_φ); m ← λ m + (1 − λ) g_φ
                    NDArray[] d = new NDArray[phi.size()];
                    double dd = 0;
                    for (int i = 0; i < phi.size(); i++) {
                        NDArray gp = g[i + 1];
                        if (t == 1) {
                            d[i] = gp;
                            avg.get(i).muli(0f).addi(gp);
                        } else {
                            d[i] = gp.sub(avg.get(i).mul(1f));
                            avg.get(i).muli(0.9f).addi(gp.mul(0.1f));
                        }
                        dd += d[i].square().sum().toFloatArray()[0];
                    }
                    double scale = 0.05 / (Math.sqrt(dd) + 1e-12);
                    for (int i = 0; i < phi.size(); i++) {
                        saved.get(i).muli(0f).addi(phi.get(i));
                        phi.get(i).addi(d[i].mul((float) scale));
                    }
                    lossAndGradient(obs, g); // g' at (θ, φ + ε): θ's gradient from the perturbed pass too
                    for (int i = 0; i < phi.size(); i++) {
                        phi.get(i).muli(0f).addi(saved.get(i)); // φ restored (copied back)
                    }
                }
                if (Boolean.getBoolean("djlpeer.verbose")) {
                    StringBuilder sb = new StringBuilder("#   |g|, |p| per tensor:");
                    for (int i = 0; i < g.length; i++) {
                        sb.append(String.format(Locale.ROOT, " %.3g/%.3g", g[i].norm().toFloatArray()[0],
                                params.get(i).norm().toFloatArray()[0]));
                    }
                    System.out.println(sb);
                }
                adam(g);
                return loss;
            }
        }

        private float[] gather(int[] batch) {
            int per = FRAMES * 2 * H * W;
            float[] out = new float[batch.length * per];
            for (int i = 0; i < batch.length; i++) System.arraycopy(data, batch[i] * per, out, i * per, per);
            return out;
        }

        /**
         * Loss at the current parameters; g[i] receives each parameter's gradient. Each pass
         * differentiates with respect to fresh leaf copies of the parameters, so no gradient
         * is left in a .grad to accumulate into the next pass (PyTorch adds into .grad), and the
         * parameters themselves, never marked as requiring a gradient, can be updated in place.
         */
        private float lossAndGradient(NDArray obs, NDArray[] g) {
            NDArray[] leaf = new NDArray[params.size()];
            for (int i = 0; i < leaf.length; i++) {
                leaf[i] = params.get(i).duplicate();
                leaf[i].setRequiresGradient(true);
            }
            float loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = rolloutLoss(obs, leaf);
                gc.backward(l);
                loss = l.toFloatArray()[0];
            }
            for (int i = 0; i < leaf.length; i++) g[i] = leaf[i].getGradient();
            return loss;
        }

        private NDArray rolloutLoss(NDArray obs, NDArray[] p) {
            // θ = exp(log lo + (log hi − log lo) σ(u)), shaped to scale the two species' Laplacians
            NDArray theta = Activation.sigmoid(p[0]).mul(c(Math.log(HI) - Math.log(LO))).add(c(Math.log(LO))).exp()
                    .reshape(1, 2, 1, 1);
            NDArray z = obs.get(":, 0");
            NDArray sq = null;
            for (int s = 0; s < STEPS; s++) {
                NDArray k1 = field(z, theta, p);
                NDArray k2 = field(z.add(k1.mul(c(0.5 * RK4_H))), theta, p);
                NDArray k3 = field(z.add(k2.mul(c(0.5 * RK4_H))), theta, p);
                NDArray k4 = field(z.add(k3.mul(c(RK4_H))), theta, p);
                z = z.add(k1.add(k2.mul(c(2))).add(k3.mul(c(2))).add(k4).mul(c(RK4_H / 6)));
                NDArray e = z.sub(obs.get(":, " + (s + 1))).square().sum();
                sq = sq == null ? e : sq.add(e);
            }
            if (sq.getDataType() != ai.djl.ndarray.types.DataType.FLOAT32) {
                throw new IllegalStateException("the rollout ran in " + sq.getDataType() + ", not float32");
            }
            return sq.mul(c(1.0 / (obs.getShape().get(0) * STEPS * 2 * H * W)));
        }

        /** The hybrid's vector field: diffusion plus the conv net. */
        private NDArray field(NDArray z, NDArray theta, NDArray[] p) {
            NDArray zp = replicatePad(z);
            NDArray lap = zp.get(":, :, 0:" + H + ", 1:" + (W + 1)).add(zp.get(":, :, 2:, 1:" + (W + 1)))
                    .add(zp.get(":, :, 1:" + (H + 1) + ", 0:" + W)).add(zp.get(":, :, 1:" + (H + 1) + ", 2:"))
                    .sub(z.mul(c(4))).mul(c(1 / (DX * DX)));
            NDArray h = null, out = null;
            for (int l = 0; l + 1 < CH.length; l++) {
                NDArray in = l == 0 ? zp : replicatePad(h);
                NDList c = Conv2d.conv2d(in, p[1 + 2 * l], p[2 + 2 * l]);
                out = c.singletonOrThrow();
                if (l + 2 < CH.length) h = Activation.leakyRelu(out, SLOPE);
            }
            return lap.mul(theta).add(out);
        }

        /** Edge-replicate padding by one cell on each side of the grid (DJL's pad is constant only). */
        private static NDArray replicatePad(NDArray x) {
            NDArray rows = x.get(":, :, 0:1, :").concat(x, 2).concat(x.get(":, :, -1:, :"), 2);
            return rows.get(":, :, :, 0:1").concat(rows, 3).concat(rows.get(":, :, :, -1:"), 3);
        }

        /** Clip the global norm of g over (u, φ) to 5, then one Adam step. */
        private void adam(NDArray[] g) {
            double nn = 0;
            for (NDArray gi : g) nn += gi.square().sum().toFloatArray()[0];
            double coef = Math.min(1.0, 5.0 / (Math.sqrt(nn) + 1e-12));
            double b1 = 0.9, b2 = 0.999, bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
            for (int i = 0; i < params.size(); i++) {
                double lr = i == 0 ? 1e-2 : 1e-3;
                NDArray gi = g[i].mul((float) coef);
                adamM.get(i).muli((float) b1).addi(gi.mul((float) (1 - b1)));
                adamV.get(i).muli((float) b2).addi(gi.square().mul((float) (1 - b2)));
                NDArray denom = adamV.get(i).sqrt().div((float) Math.sqrt(bc2)).add(1e-8f);
                params.get(i).subi(adamM.get(i).div(denom).mul((float) (lr / bc1)));
            }
        }
    }

    /** The task's truth, to make realistic episodes (reaction-diffusion in hybridsam's tasks.md). */
    static final class FitzHughNagumo {
        static final double A = 1.5e-3, B = 5e-3, K = 5e-3, STEP = 1e-3;
        static final int PER_FRAME = 100; // 0.1 / 1e-3

        /** n episodes [n, FRAMES, 2, H, W] as float32, RK4 at 1e-3 in double. */
        static float[] episodes(int n, long seed) {
            int cells = H * W, per = FRAMES * 2 * cells;
            float[] out = new float[n * per];
            SplittableRandom master = new SplittableRandom(seed);
            long[] seeds = new long[n];
            for (int e = 0; e < n; e++) seeds[e] = master.nextLong();
            java.util.stream.IntStream.range(0, n).parallel().forEach(e -> {
                SplittableRandom r = new SplittableRandom(seeds[e]);
                double[] y = new double[2 * cells];
                for (int i = 0; i < y.length; i++) y[i] = r.nextDouble();
                double[] k1 = new double[y.length], k2 = new double[y.length], k3 = new double[y.length],
                        k4 = new double[y.length], tmp = new double[y.length];
                for (int f = 0; f < FRAMES; f++) {
                    if (f > 0) {
                        for (int s = 0; s < PER_FRAME; s++) {
                            truth(y, k1);
                            for (int i = 0; i < y.length; i++) tmp[i] = y[i] + 0.5 * STEP * k1[i];
                            truth(tmp, k2);
                            for (int i = 0; i < y.length; i++) tmp[i] = y[i] + 0.5 * STEP * k2[i];
                            truth(tmp, k3);
                            for (int i = 0; i < y.length; i++) tmp[i] = y[i] + STEP * k3[i];
                            truth(tmp, k4);
                            for (int i = 0; i < y.length; i++) y[i] += STEP / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
                        }
                    }
                    for (int i = 0; i < y.length; i++) out[e * per + f * 2 * cells + i] = (float) y[i];
                }
            });
            return out;
        }

        private static void truth(double[] y, double[] out) {
            int cells = H * W;
            double inv = 1 / (DX * DX);
            for (int yy = 0; yy < H; yy++) {
                for (int x = 0; x < W; x++) {
                    int c = yy * W + x;
                    int up = Math.max(yy - 1, 0) * W + x, down = Math.min(yy + 1, H - 1) * W + x;
                    int left = yy * W + Math.max(x - 1, 0), right = yy * W + Math.min(x + 1, W - 1);
                    double uu = y[c], vv = y[cells + c];
                    double lu = (y[up] + y[down] + y[left] + y[right] - 4 * uu) * inv;
                    double lv = (y[cells + up] + y[cells + down] + y[cells + left] + y[cells + right] - 4 * vv) * inv;
                    out[c] = A * lu + uu - uu * uu * uu - vv - K;
                    out[cells + c] = B * lv + uu - vv;
                }
            }
        }
    }
}
