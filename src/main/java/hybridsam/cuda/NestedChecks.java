package hybridsam.cuda;

import hybridsam.cuda.KernelChecks.Check;
import hybridsam.cuda.KernelChecks.Compare;
import hybridsam.model.Activation;
import hybridsam.model.ImageSequences;
import hybridsam.model.MlpShape;
import hybridsam.model.NestedHybrid;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.tasks.DuffingModel;
import hybridsam.tasks.PendulumModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The nested hybrid's kernels (native-kernels/nested.cu) and gradient program
 * ({@link NestedGradient}) against {@link NestedReference} on fresh random inputs: images that
 * are not square, K > 1 replicas with different parameters, batches off the block sizes. Run by
 * the emulation and stand-in tests and by the GPU check.
 */
public final class NestedChecks {
    private NestedChecks() {
    }

    /** The checks at test sizes, planned (they draw from rng in order). */
    static List<KernelChecks.Planned> plan(Device dev, SplittableRandom rng, boolean large) {
        List<KernelChecks.Planned> c = new ArrayList<>();
        c.add(KernelChecks.Planned.one("nested gather + residual K=2 B=5 6x7 T=4", () -> gatherResidual(dev, 2, 5, 6, 7, 4, rng)));
        c.add(KernelChecks.Planned.one("nested rollout forward/reverse + rowsum K=2 B=67 T=5", () -> rollout(dev, new PendulumModel(),
                Activation.TANH, 2, 67, 5, 2, new int[]{8, 8}, rng)));
        c.add(KernelChecks.Planned.one("gradient nested [project kernels] K=2 B=3 5x6 T=5", () -> gradient(dev,
                KernelChecks.KERNEL_DENSE, new PendulumModel(), Activation.TANH, 2, 3, 5, 6, 5, 2, 16, rng)));
        if (large) {
            c.add(KernelChecks.Planned.one("gradient nested [project kernels] K=2 B=32 28x28 T=20", () -> gradient(dev,
                    KernelChecks.KERNEL_DENSE, new PendulumModel(), Activation.TANH, 2, 32, 28, 28, 20, 2, 128, rng)));
        }
        return c;
    }

    /** A nested hybrid: ODE corrector 2-8-8-2 (act), encoder 3·H·W → width → 2, decoder 2 → width → H·W. */
    public static NestedHybrid hybrid(ScientificModel sci, Activation act, int H, int W, int spf, int width) {
        OdeHybrid ode = KernelChecks.hybrid(sci, act, spf, 8, 8);
        int px = H * W;
        return new NestedHybrid(ode, new MlpShape(new int[]{NestedHybrid.ENCODER_FRAMES * px, width, 2}, act),
                new MlpShape(new int[]{2, width, px}, act), NestedHybrid.ENCODER_FRAMES, H, W);
    }

    /** count sequences of frames images, pixels uniform in [0, 1). */
    public static ImageSequences randomImages(NestedHybrid m, int count, int frames, SplittableRandom rng) {
        float[] img = new float[count * frames * m.pixels()];
        for (int i = 0; i < img.length; i++) img[i] = (float) rng.nextDouble();
        return new ImageSequences(img, count, frames, m.height(), m.width(), 0.1);
    }

    /** K replicas' parameters: u uniform in [−0.5, 0.5), every network initialized. */
    public static float[] randomParams(NestedHybrid m, int K, SplittableRandom rng) {
        int P = m.parameterCount();
        float[] p = new float[K * P];
        for (int r = 0; r < K; r++) {
            for (int i = 0; i < m.thetaCount(); i++) p[r * P + i] = (float) (rng.nextDouble() - 0.5);
            m.initializeNetworks(p, r * P, rng);
        }
        return p;
    }

    static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    /** NestedGradient + hs_loss on the device: grad (K · P) and loss (K). */
    static void deviceGradient(Device dev, KernelChecks.DenseFactory factory, NestedHybrid m, float[] p, ImageSequences data,
                               int[] batch, int B, float[] grad, double[] loss, String[] what) {
        int K = batch.length / B, P = m.parameterCount();
        try (DeviceScope s = new DeviceScope(dev)) {
            DenseOps ops = s.own(factory.open(dev));
            if (what != null) what[0] = ops.describe();
            NestedGradient ng = new NestedGradient(s, m, K, ops);
            ng.upload(s, data);
            DeviceBuffer dp = s.floats(p.length), dBatch = s.ints(batch.length);
            DeviceBuffer ws = s.floats(ng.workspaceFloats(B)), gs = s.floats(ng.gradientRowsFloats(B)), sq = s.doubles((long) K * B);
            DeviceBuffer dg = s.floats((long) K * P), dl = s.doubles(K);
            dev.upload(dp, p);
            dev.upload(dBatch, batch);
            dev.upload(dg, KernelChecks.randomFloats(K * P, 1, new SplittableRandom(1)));  // overwritten, not accumulated into
            ng.gradient(dp, dBatch, B, ws, gs, sq, dg);
            dev.launch("hs_loss", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().i(K).i(B).f(ng.lossWeight(B)).ptr(sq).ptr(dl));
            dev.download(dg, grad);
            dev.download(dl, loss);
        }
    }

    /** The whole nested gradient and loss of K replicas against {@link NestedReference}. */
    public static Check gradient(Device dev, KernelChecks.DenseFactory factory, ScientificModel sci, Activation act, int K, int B,
                                 int H, int W, int frames, int spf, int width, SplittableRandom rng) {
        NestedHybrid m = hybrid(sci, act, H, W, spf, width);
        int P = m.parameterCount();
        ImageSequences data = randomImages(m, B + 3, frames, rng);
        float[] p = randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        double[] gRef = new double[K * P];
        double[] lRef = NestedReference.lossAndGradient(m, toDouble(p), data, batch, B, gRef);
        float[] g = new float[K * P];
        double[] l = new double[K];
        String[] what = new String[1];
        deviceGradient(dev, factory, m, p, data, batch, B, g, l, what);
        Compare c = LightChecks.gradientCompare(m.thetaCount(), P, g, gRef);
        float[] lf = new float[K];
        for (int r = 0; r < K; r++) lf[r] = (float) l[r];
        c.add(lf, lRef);
        return c.as(String.format(Locale.ROOT, "gradient nested [%s] %dx%d T=%d K=%d B=%d", what[0], H, W, frames, K, B));
    }

    /** hs_ni_gather (exact) and hs_ni_residual (dL/dlogit in place, per-sample squared errors) against Java loops. */
    public static Check gatherResidual(Device dev, int K, int B, int H, int W, int frames, SplittableRandom rng) {
        NestedHybrid m = hybrid(new PendulumModel(), Activation.TANH, H, W, 1, 8);
        int px = m.pixels(), E = m.encoderFrames() * px, TB = frames * B;
        ImageSequences data = randomImages(m, B + 2, frames, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[] logits = KernelChecks.randomFloats(K * px * TB, 3, rng);
        float two = 2f * NestedGradient.lossWeight(m, B, frames);
        long xOff = 4, aOff = 8 + (long) K * E * B;
        Compare c = new Compare(1e-5, 1e-7);
        try (DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer img = s.floats(data.images().length), dBatch = s.ints(batch.length);
            DeviceBuffer ws = s.floats(aOff + (long) K * px * TB), sq = s.doubles((long) K * B);
            dev.upload(img, data.images());
            dev.upload(dBatch, batch);
            float[] wsIn = new float[(int) (aOff + (long) K * px * TB)];
            System.arraycopy(logits, 0, wsIn, (int) aOff, logits.length);
            dev.upload(ws, wsIn);
            dev.launch("hs_ni_gather", KernelDenseOps.ceil((long) E * B, 256), K, 1, 256, 1, 1, 0, KernelArgs.of().i(E)
                    .l((long) frames * px).ptr(img).ptr(dBatch).i(B).ptr(ws).l(xOff));
            dev.launch("hs_ni_residual", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(px).i(frames).ptr(img).ptr(dBatch)
                    .ptr(ws).l(aOff).f(two).ptr(sq));
            float[] out = new float[wsIn.length];
            double[] sqOut = new double[K * B];
            dev.download(ws, out);
            dev.download(sq, sqOut);
            double[] sqRef = new double[K * B];
            for (int r = 0; r < K; r++) {
                for (int b = 0; b < B; b++) {
                    int n = batch[r * B + b];
                    for (int e = 0; e < E; e++) {
                        c.exact(out[(int) xOff + (r * E + e) * B + b] == data.images()[data.frameOffset(n, 0) + e]);
                    }
                    for (int t = 0; t < frames; t++) {
                        for (int q = 0; q < px; q++) {
                            int at = (int) aOff + (r * px + q) * TB + t * B + b;
                            double y = NestedReference.sigmoid(logits[at - (int) aOff]);
                            double res = y - data.images()[data.frameOffset(n, t) + q];
                            sqRef[r * B + b] += res * res;
                            c.add(new float[]{out[at]}, new double[]{two * res * y * (1 - y)});
                        }
                    }
                }
            }
            c.add(sqOut, sqRef);
        }
        return c.as(String.format(Locale.ROOT, "nested gather + residual %dx%d T=%d K=%d B=%d", H, W, frames, K, B));
    }

    /**
     * hs_ni_forward (every frame's state from a random z0), hs_ni_reverse (from random state
     * adjoints: the per-sample gradient rows and z0's adjoint) and hs_ni_rowsum against
     * {@link NestedReference#rollout} and {@link NestedReference#rolloutVjp}.
     */
    public static Check rollout(Device dev, ScientificModel sci, Activation act, int K, int B, int frames, int spf, int[] hidden,
                                SplittableRandom rng) {
        OdeHybrid ode = KernelChecks.hybrid(sci, act, spf, hidden);
        NestedHybrid m = new NestedHybrid(ode, new MlpShape(new int[]{3, 4, 2}, act), new MlpShape(new int[]{2, 4, 1}, act), 3, 1, 1);
        int P = m.parameterCount(), nT = m.thetaCount(), G = NestedGradient.rows(m), D = 2, TB = frames * B;
        float[] p = randomParams(m, K, rng);
        float[] z0 = KernelChecks.randomFloats(K * D * B, 1, rng), gZ = KernelChecks.randomFloats(K * D * TB, 0.1, rng);
        long rollFloats = NestedGradient.rolloutFloats(m, frames);
        long z0Off = 4, zOff = z0Off + K * D * B, gzOff = zOff + (long) K * D * TB, gz0Off = gzOff + (long) K * D * TB;
        long roll = gz0Off + K * D * B, total = roll + K * rollFloats * B;
        float[] wsIn = KernelChecks.randomFloats((int) total, 1, rng);
        System.arraycopy(z0, 0, wsIn, (int) z0Off, z0.length);
        System.arraycopy(gZ, 0, wsIn, (int) gzOff, gZ.length);
        float[] out = new float[(int) total], rows = new float[K * G * B], grad = new float[K * P];
        float h = (float) ode.h();
        try (DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer dp = s.floats(p.length), ws = s.floats(total), gs = s.floats((long) K * G * B), dg = s.floats((long) K * P);
            DeviceBuffer w = s.ints(ode.mlp().widths().length);
            double[] boxArr = StepKernels.thetaBox(m.thetaSpec());
            DeviceBuffer box = s.doubles(boxArr.length);
            dev.upload(box, boxArr);
            dev.upload(w, ode.mlp().widths());
            dev.upload(dp, p);
            dev.upload(ws, wsIn);
            dev.upload(gs, KernelChecks.randomFloats(K * G * B, 1, rng));  // overwritten
            dev.upload(dg, new float[K * P]);
            int g = KernelDenseOps.ceil(B, StepKernels.ROLLOUT_BLOCK), act_ = KernelConstants.activation(act);
            dev.launch("hs_ni_forward", g, K, 1, StepKernels.ROLLOUT_BLOCK, 1, 1, 0, KernelArgs.of().i(StepKernels.modelId(ode))
                    .i(act_).i(ode.mlp().layers()).ptr(w).i(nT).ptr(box).i(P).ptr(dp).i(frames).i(B).f(h).i(spf).ptr(ws)
                    .l(roll).l(z0Off).l(zOff));
            dev.launch("hs_ni_reverse", g, K, 1, StepKernels.ROLLOUT_BLOCK, 1, 1, 0, KernelArgs.of().i(StepKernels.modelId(ode))
                    .i(act_).i(ode.mlp().layers()).ptr(w).i(nT).ptr(box).i(P).ptr(dp).i(G).i(frames).i(B).f(h).i(spf).ptr(ws)
                    .l(roll).l(gzOff).l(gz0Off).ptr(gs));
            dev.launch("hs_ni_rowsum", KernelDenseOps.ceil(G, 64), K, 1, 64, 1, 1, 0, KernelArgs.of().i(G).i(P).i(B).ptr(gs).ptr(dg));
            dev.download(ws, out);
            dev.download(gs, rows);
            dev.download(dg, grad);
        }
        double[] pd = toDouble(p);
        Compare states = new Compare(1e-4, 1e-5), gz0 = new Compare(1e-3, 1e-5);
        double[] rowRef = new double[K * G * B];
        for (int r = 0; r < K; r++) {
            for (int b = 0; b < B; b++) {
                double[] z = new double[D];
                for (int d = 0; d < D; d++) z[d] = z0[(r * D + d) * B + b];
                NestedReference.Rollout ro = NestedReference.rollout(ode, pd, r * P, z, frames);
                double[][] adj = new double[frames][D];
                for (int t = 0; t < frames; t++) {
                    for (int d = 0; d < D; d++) {
                        int at = (r * D + d) * TB + t * B + b;
                        states.add(new float[]{out[(int) zOff + at]}, new double[]{ro.states()[t][d]});
                        adj[t][d] = gZ[at];
                    }
                }
                double[] g = new double[G];
                double[] gz = NestedReference.rolloutVjp(ode, pd, r * P, ro, adj, g, 0);
                for (int d = 0; d < D; d++) gz0.add(new float[]{out[(int) gz0Off + (r * D + d) * B + b]}, new double[]{gz[d]});
                for (int i = 0; i < G; i++) rowRef[(r * G + i) * B + b] = g[i];
            }
        }
        double scale = 0;
        for (double v : rowRef) scale = Math.max(scale, Math.abs(v));
        Compare rowC = new Compare(1e-3, 1e-4 * scale + 1e-12), sums = new Compare(1e-6, 1e-9);
        rowC.add(rows, rowRef);
        for (int r = 0; r < K; r++) {
            for (int i = 0; i < G; i++) {
                double sum = 0;
                for (int b = 0; b < B; b++) sum += rows[(r * G + i) * B + b];
                sums.add(new float[]{grad[r * P + i]}, new double[]{(float) sum});
            }
            for (int i = G; i < P; i++) sums.exact(grad[r * P + i] == 0f);
        }
        Compare all = states;
        for (Compare x : new Compare[]{gz0, rowC, sums}) {
            all.worst = Math.max(all.worst, x.worst);
            all.n += x.n;
        }
        return all.as(String.format(Locale.ROOT, "nested rollout forward/reverse + rowsum %s K=%d B=%d T=%d",
                sci.getClass().getSimpleName(), K, B, frames));
    }

    /** The whole program with both scientific models, for the test suites. */
    static List<Check> gradients(Device dev, KernelChecks.DenseFactory dense, SplittableRandom rng) {
        List<Check> out = new ArrayList<>();
        out.add(gradient(dev, dense, new PendulumModel(), Activation.TANH, 2, 3, 5, 6, 5, 2, 16, rng));
        out.add(gradient(dev, dense, new DuffingModel(), Activation.ELU, 2, 4, 3, 4, 4, 1, 12, rng));
        return out;
    }
}
