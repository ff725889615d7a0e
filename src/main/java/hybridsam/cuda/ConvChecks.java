package hybridsam.cuda;

import hybridsam.cuda.KernelChecks.Compare;

import hybridsam.cuda.DenseOps.Strided;
import hybridsam.cuda.KernelChecks.Check;
import hybridsam.model.Activation;
import hybridsam.model.ConvShape;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.model.ThetaSpec;
import hybridsam.cpu.CpuOdeBackend;
import hybridsam.tasks.ReactionDiffusionModel;
import hybridsam.train.RuleConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The grid kernels (native-kernels/conv.cu, gridode.cu) and the convolutional gradient program
 * against {@link GridReference} on fresh random inputs: grids that are not square (a transposed
 * index shows), grids larger than a block, K > 1 replicas with weights at a stride and an offset
 * in a larger vector, outputs that must accumulate onto existing values. Run by the emulation and
 * stand-in tests (through {@link KernelChecks#plan}) and by the GPU check.
 */
public final class ConvChecks {
    private ConvChecks() {
    }

    /** The checks at test sizes, planned (they draw from rng in order). */
    static List<KernelChecks.Planned> plan(Device dev, SplittableRandom rng, boolean large) {
        List<KernelChecks.Planned> c = new ArrayList<>();
        c.add(KernelChecks.Planned.one("pad replicate + adjoint 6x5, 1x1, 13x11", () -> padding(dev, rng)));
        c.add(KernelChecks.Planned.one("conv3 K=2 n=3 2->5 6x5", () -> convLayer(dev, KERNELS, 2, 3, 2, 5, 6, 5, rng)));
        c.add(KernelChecks.Planned.one("conv3 K=3 n=2 3->2 13x11", () -> convLayer(dev, KERNELS, 3, 2, 3, 2, 13, 11, rng)));
        c.add(KernelChecks.Planned.one("conv3 K=1 n=1 1->1 1x1", () -> convLayer(dev, KERNELS, 1, 1, 1, 1, 1, 1, rng)));
        c.add(KernelChecks.Planned.one("activation leaky_relu", () -> leakyRelu(dev, rng)));
        c.add(KernelChecks.Planned.one("diffusion field + vjp K=2 B=3 6x5", () -> diffusion(dev, 2, 3, 2, 6, 5, rng)));
        c.add(KernelChecks.Planned.one("diffusion field + vjp K=1 B=2 17x19", () -> diffusion(dev, 1, 2, 2, 17, 19, rng)));
        c.add(KernelChecks.Planned.one("gradient conv K=2 B=3 6x5 T=4", () -> gradient(dev, KERNELS, 2, 3, 4, 1, 6, 5,
                new int[]{2, 4, 3, 2}, rng)));
        c.add(KernelChecks.Planned.one("gradient conv K=1 B=2 4x7 T=3 h=dt/2", () -> gradient(dev, KERNELS, 1, 2, 3, 2, 4, 7,
                new int[]{2, 3, 2}, rng)));
        c.add(KernelChecks.Planned.one("gradient conv vs CPU reaction-diffusion K=2 B=3 6x5 T=4",
                () -> gradientVsCpu(dev, KERNELS, 2, 3, 4, 6, 5, new int[]{2, 4, 3, 2}, rng)));
        if (large) {
            c.add(KernelChecks.Planned.one("gradient conv K=2 B=4 16x16 T=4", () -> gradient(dev, KERNELS, 2, 4, 4, 1, 16, 16,
                    new int[]{2, 16, 16, 2}, rng)));
        }
        return c;
    }

    /** Makes the convolutions of the convolutional path on a device (KernelConvOps::new; cuDNN's where it exists). */
    @FunctionalInterface
    public interface ConvFactory {
        ConvOps open(Device dev);
    }

    public static final ConvFactory KERNELS = KernelConvOps::new;

    static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i];
        return d;
    }

    /** hs_pad_replicate and hs_pad_replicate_adjoint (overwrite and accumulate) at buffer offsets, on three grids. */
    static Check padding(Device dev, SplittableRandom rng) {
        Compare c = new Compare(1e-6, 1e-7);
        for (int[] g : new int[][]{{3, 6, 5}, {2, 1, 1}, {5, 13, 11}}) {
            int planes = g[0], H = g[1], W = g[2], n = planes * H * W, np = planes * (H + 2) * (W + 2);
            float[] x = KernelChecks.randomFloats(n, 1, rng), gp = KernelChecks.randomFloats(np, 1, rng);
            float[] g0 = KernelChecks.randomFloats(n, 1, rng);
            double[] xpRef = GridReference.pad(toDouble(x), planes, H, W);
            float[] gRef = GridReference.padAdjoint(gp, planes, H, W), gAcc = new float[n];
            for (int i = 0; i < n; i++) gAcc[i] = g0[i] + gRef[i];
            float[] xp = new float[np], got = new float[n], acc = new float[n];
            try (DeviceScope s = new DeviceScope(dev)) {
                DeviceBuffer dx = s.floats(n + 3), dxp = s.floats(np + 5), dgp = s.floats(np + 1), dg = s.floats(n + 2);
                dev.upload(dx, prefixed(3, x));
                dev.upload(dgp, prefixed(1, gp));
                KernelConvOps.pad(dev, planes, H, W, dx, 3, dxp, 5);
                dev.upload(dg, prefixed(2, KernelChecks.randomFloats(n, 1, rng)));
                KernelConvOps.padAdjoint(dev, planes, H, W, dgp, 1, dg, 2, false);
                download(dev, dxp, 5, xp);
                download(dev, dg, 2, got);
                dev.upload(dg, prefixed(2, g0));
                KernelConvOps.padAdjoint(dev, planes, H, W, dgp, 1, dg, 2, true);
                download(dev, dg, 2, acc);
            }
            c.add(xp, xpRef).add(got, gRef).add(acc, gAcc);
        }
        return c.as("pad replicate + adjoint (overwrite, accumulate) 6x5, 1x1, 13x11");
    }

    /** x after `off` leading values (random, so that a kernel reading them shows). */
    private static float[] prefixed(int off, float[] x) {
        float[] y = new float[off + x.length];
        for (int i = 0; i < off; i++) y[i] = 1e3f * (i + 1);
        System.arraycopy(x, 0, y, off, x.length);
        return y;
    }

    private static void download(Device dev, DeviceBuffer b, int off, float[] out) {
        float[] all = new float[(int) (b.bytes() / 4)];
        dev.download(b, all);
        System.arraycopy(all, off, out, 0, out.length);
    }

    /**
     * A ConvOps layer (forward, backward data, backward filter accumulating onto existing values)
     * against the reference, K replicas whose weights sit at a stride with a gap in one vector.
     */
    public static Check convLayer(Device dev, ConvFactory factory, int K, int n, int in, int out, int H, int W, SplittableRandom rng) {
        int HW = H * W, PHW = (H + 2) * (W + 2), taps = out * in * 9, stride = taps + out + 7, wOff = 4, bOff = wOff + taps;
        float[] p = KernelChecks.randomFloats(wOff + K * stride, 1, rng);
        float[] xp = KernelChecks.randomFloats(n * K * in * PHW, 1, rng), dy = KernelChecks.randomFloats(n * K * out * HW, 1, rng);
        float[] g0 = KernelChecks.randomFloats(p.length, 1, rng);
        double[] yRef = GridReference.convForward(K, n, in, out, H, W, toDouble(p), wOff, bOff, stride, toDouble(xp));
        double[] dxpRef = GridReference.convBackwardData(K, n, in, out, H, W, toDouble(p), wOff, stride, toDouble(dy));
        double[] gRef = toDouble(g0);
        GridReference.convBackwardFilter(K, n, in, out, H, W, toDouble(dy), toDouble(xp), gRef, wOff, bOff, stride);
        float[] y = new float[yRef.length], dxp = new float[dxpRef.length], g = new float[g0.length];
        String what;
        try (DeviceScope s = new DeviceScope(dev)) {
            ConvOps ops = s.own(factory.open(dev));
            what = ops.describe();
            // activations 16-byte aligned at nonzero offsets, as the gradient program lays them out
            DeviceBuffer dp = s.floats(p.length), dx = s.floats(xp.length + 4), ddy = s.floats(dy.length + 8);
            DeviceBuffer dyOut = s.floats(y.length + 4), ddxp = s.floats(dxp.length + 4), dg = s.floats(g0.length);
            dev.upload(dp, p);
            dev.upload(dx, prefixed(4, xp));
            dev.upload(ddy, prefixed(8, dy));
            dev.upload(dg, g0);
            ops.forward(K, n, in, out, H, W, new Strided(dp, wOff, stride), new Strided(dp, bOff, stride), new Strided(dx, 4, 0),
                    new Strided(dyOut, 4, 0));
            ops.backwardData(K, n, in, out, H, W, new Strided(dp, wOff, stride), new Strided(ddy, 8, 0), new Strided(ddxp, 4, 0));
            ops.backwardFilter(K, n, in, out, H, W, new Strided(ddy, 8, 0), new Strided(dx, 4, 0), new Strided(dg, wOff, stride),
                    new Strided(dg, bOff, stride));
            download(dev, dyOut, 4, y);
            download(dev, ddxp, 4, dxp);
            dev.download(dg, g);
        }
        // the gaps between replicas' weights in g must keep their values: the reference leaves them too
        Compare c = new Compare(1e-5, 1e-5).add(y, yRef).add(dxp, dxpRef).add(g, gRef);
        return c.as(String.format(Locale.ROOT, "conv3 [%s] K=%d n=%d %d->%d %dx%d", what, K, n, in, out, H, W));
    }

    /** hs_act_forward and hs_act_backward for leaky ReLU (the convolutional corrector's activation) against GridReference.act. */
    static Check leakyRelu(Device dev, SplittableRandom rng) {
        int n = 1000;
        float[] x = KernelChecks.randomFloats(n, 2, rng), g = KernelChecks.randomFloats(n, 1, rng);
        double[] hRef = new double[n], gRef = new double[n];
        for (int i = 0; i < n; i++) {
            hRef[i] = GridReference.act(Activation.LEAKY_RELU, x[i]);
            gRef[i] = g[i] * GridReference.actGrad(Activation.LEAKY_RELU, (float) hRef[i]);
        }
        float[] h = new float[n], gOut = new float[n];
        int a = KernelConstants.activation(Activation.LEAKY_RELU);
        try (DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer dx = s.floats(n), dg = s.floats(n);
            dev.upload(dx, x);
            dev.upload(dg, g);
            dev.launch("hs_act_forward", KernelDenseOps.ceil(n, 256), 1, 1, 256, 1, 1, 0, KernelArgs.of().i(a).l(n).ptr(dx).l(0));
            dev.launch("hs_act_backward", KernelDenseOps.ceil(n, 256), 1, 1, 256, 1, 1, 0,
                    KernelArgs.of().i(a).l(n).ptr(dg).l(0).ptr(dx).l(0));
            dev.download(dx, h);
            dev.download(dg, gOut);
        }
        return new Compare(1e-6, 1e-7).add(h, hRef).add(gOut, gRef).as("activation leaky_relu forward + backward");
    }

    /** A grid hybrid with C channels, the given conv widths and θ on reaction-diffusion's log box. */
    static GridHybrid hybrid(int H, int W, int spf, int[] channels) {
        int C = channels[0];
        List<String> names = new ArrayList<>();
        double[] lo = new double[C], hi = new double[C];
        boolean[] log = new boolean[C];
        for (int c = 0; c < C; c++) {
            names.add("d" + c);
            lo[c] = 1e-4;
            hi[c] = 1e-2;
            log[c] = true;
        }
        return new GridHybrid(new ThetaSpec(names, lo, hi, log), new ConvShape(channels, H, W, Activation.LEAKY_RELU),
                2.0 / (Math.max(W, 2) - 1), 0.1 / spf, spf);
    }

    /**
     * hs_diffusion_field and hs_diffusion_vjp (gz and θ's partials accumulating onto existing
     * values) against the reference, K replicas with their own θ, arrays at offsets inside ws.
     */
    static Check diffusion(Device dev, int K, int B, int C, int H, int W, SplittableRandom rng) {
        GridHybrid m = hybrid(H, W, 1, new int[]{C, 1, C});
        int P = m.parameterCount(), D = m.stateDim(), N = B * K * D, MT = StepKernels.MAX_THETA;
        float[] p = KernelChecks.randomFloats(K * P, 2, rng);
        float[] z = KernelChecks.randomFloats(N, 1, rng), g = KernelChecks.randomFloats(N, 1, rng);
        float[] gz0 = KernelChecks.randomFloats(N, 1, rng), gth0 = KernelChecks.randomFloats(K * MT * B, 1, rng);
        double[] theta = new double[K * C];
        for (int r = 0; r < K; r++) for (int c = 0; c < C; c++) theta[r * C + c] = (float) m.theta().toPhysical(c, p[r * P + c]);
        double inv = m.invDx2();
        double[] fRef = GridReference.diffusionField(K, B, C, H, W, inv, theta, toDouble(z));
        double[] gzRef = toDouble(gz0);
        double[] gthRef = toDouble(gth0);
        // the reference's θ partial is per replica; the kernel's is per (replica, component, sample)
        for (int r = 0; r < K; r++) {
            for (int smp = 0; smp < B; smp++) {
                double[] zs = doubles(z, (smp * K + r) * D, D), gs = doubles(g, (smp * K + r) * D, D), gzs = new double[D];
                double[] gt = new double[C];
                GridReference.diffusionVjp(1, 1, C, H, W, inv, java.util.Arrays.copyOfRange(theta, r * C, (r + 1) * C), zs, gs, gzs, gt);
                for (int d = 0; d < D; d++) gzRef[(smp * K + r) * D + d] += gzs[d];
                for (int c = 0; c < C; c++) gthRef[(r * MT + c) * B + smp] += gt[c];
            }
        }
        // ws: [pad 4] z, f, g, gz, gth
        long zOff = 4, fOff = zOff + N, gOff = fOff + N, gzOff = gOff + N, gthOff = gzOff + N;
        float[] ws = new float[(int) (gthOff + gth0.length)];
        System.arraycopy(z, 0, ws, (int) zOff, N);
        System.arraycopy(g, 0, ws, (int) gOff, N);
        System.arraycopy(gz0, 0, ws, (int) gzOff, N);
        System.arraycopy(gth0, 0, ws, (int) gthOff, gth0.length);
        float[] out = new float[ws.length];
        try (DeviceScope s = new DeviceScope(dev)) {
            DeviceBuffer dp = s.floats(p.length), dws = s.floats(ws.length), box = s.doubles(3L * C);
            dev.upload(dp, p);
            dev.upload(dws, ws);
            dev.upload(box, StepKernels.thetaBox(m.theta()));
            ConvOdeGradient.diffusionField(dev, m, B, K, box, dp, dws, zOff, fOff);
            ConvOdeGradient.diffusionVjp(dev, m, B, K, box, dp, dws, zOff, gOff, gzOff, gthOff);
            dev.download(dws, out);
        }
        // sums of terms of both signs: tolerances relative to each array's largest value
        Check f = scaled(floats(out, (int) fOff, N), fRef), gzc = scaled(floats(out, (int) gzOff, N), gzRef);
        Check gt = scaled(floats(out, (int) gthOff, gth0.length), gthRef);
        return new Check(String.format(Locale.ROOT, "diffusion field + vjp K=%d B=%d C=%d %dx%d", K, B, C, H, W),
                Math.max(f.worst(), Math.max(gzc.worst(), gt.worst())), f.values() + gzc.values() + gt.values());
    }

    /** dev against ref with rtol 1e-4 and atol 1e-5 of ref's largest magnitude. */
    private static Check scaled(float[] dev, double[] ref) {
        double scale = 0;
        for (double x : ref) scale = Math.max(scale, Math.abs(x));
        return new Compare(1e-4, 1e-5 * scale + 1e-30).add(dev, ref).as("");
    }

    private static double[] doubles(float[] x, int off, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = x[off + i];
        return d;
    }

    private static float[] floats(float[] x, int off, int n) {
        return java.util.Arrays.copyOfRange(x, off, off + n);
    }

    /** Random parameters: u in [−1, 1] (θ well inside its box), the net initialized as PyTorch does. */
    static float[] randomParams(GridHybrid m, int K, SplittableRandom rng) {
        int P = m.parameterCount();
        float[] p = new float[K * P];
        for (int r = 0; r < K; r++) {
            for (int i = 0; i < m.thetaCount(); i++) p[r * P + i] = (float) (2 * rng.nextDouble() - 1);
            m.net().initialize(p, r * P + m.thetaCount(), rng);
        }
        return p;
    }

    /** Random observations in [0, 1) (reaction-diffusion's initial states), count sequences. */
    static Sequences randomSequences(GridHybrid m, int count, int frames, SplittableRandom rng) {
        float[] obs = new float[count * frames * m.stateDim()];
        for (int i = 0; i < obs.length; i++) obs[i] = (float) rng.nextDouble();
        return new Sequences(obs, count, frames, m.stateDim());
    }

    /** The device's loss and gradient of one minibatch per replica: loss in out[0..K), gradient after. */
    static void deviceGradient(Device dev, ConvFactory factory, GridHybrid m, float[] p, Sequences data, int[] batch, int B,
                               float[] grad, double[] loss) {
        int K = batch.length / B, P = m.parameterCount(), frames = data.frames();
        try (DeviceScope s = new DeviceScope(dev)) {
            ConvOdeGradient cg = new ConvOdeGradient(s, m, K, s.own(factory.open(dev)));
            DeviceBuffer dp = s.floats(p.length), dObs = s.floats(data.obs().length), dBatch = s.ints(batch.length);
            DeviceBuffer ws = s.floats(ConvOdeGradient.workspaceFloats(m, K, B, frames)), sq = s.doubles((long) K * B);
            DeviceBuffer dg = s.floats((long) K * P), dl = s.doubles(K);
            dev.upload(dp, p);
            dev.upload(dObs, data.obs());
            dev.upload(dBatch, batch);
            dev.upload(dg, KernelChecks.randomFloats(K * P, 1, new SplittableRandom(1)));  // overwritten, not accumulated into
            cg.gradient(dp, dObs, frames, dBatch, B, ws, sq, dg);
            dev.launch("hs_loss", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().i(K).i(B).f(ConvOdeGradient.lossWeight(m, B, frames))
                    .ptr(sq).ptr(dl));
            dev.download(dg, grad);
            dev.download(dl, loss);
        }
    }

    /**
     * A gradient against its reference, the tolerance of the rollout kernels' checks; θ's block,
     * orders of magnitude below φ's (θ ~ 1e-3), against its own scale.
     */
    private static Compare gradientCompare(GridHybrid m, float[] g, double[] gRef) {
        int nt = m.thetaCount(), P = m.parameterCount();
        double sTheta = 0, sPhi = 0;
        for (int i = 0; i < gRef.length; i++) {
            if (i % P < nt) sTheta = Math.max(sTheta, Math.abs(gRef[i]));
            else sPhi = Math.max(sPhi, Math.abs(gRef[i]));
        }
        Compare c = new Compare(2e-3, 1e-4 * sPhi + 1e-12), ct = new Compare(2e-3, 1e-4 * sTheta + 1e-12);
        for (int i = 0; i < gRef.length; i++) (i % P < nt ? ct : c).add(new float[]{g[i]}, new double[]{gRef[i]});
        c.worst = Math.max(c.worst, ct.worst);
        c.n += ct.n;
        return c;
    }

    /** ConvOdeGradient + hs_loss against GridReference.lossAndGradient for K replicas with different weights. */
    public static Check gradient(Device dev, ConvFactory factory, int K, int B, int frames, int spf, int H, int W, int[] channels,
                                 SplittableRandom rng) {
        GridHybrid m = hybrid(H, W, spf, channels);
        int P = m.parameterCount();
        Sequences data = randomSequences(m, B + 2, frames, rng);
        float[] p = randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        double[] gRef = new double[K * P];
        double[] lRef = GridReference.lossAndGradient(m, toDouble(p), data, batch, B, gRef);
        float[] g = new float[K * P];
        double[] l = new double[K];
        deviceGradient(dev, factory, m, p, data, batch, B, g, l);
        Compare c = gradientCompare(m, g, gRef);
        float[] lf = new float[K];
        for (int r = 0; r < K; r++) lf[r] = (float) l[r];
        c.add(lf, lRef);
        return c.as(String.format(Locale.ROOT, "gradient conv %s K=%d B=%d T=%d %s", m.net().describe().replace(' ', '/'), K, B,
                frames, spf == 1 ? "h=dt" : "h=dt/" + spf));
    }

    /** reaction-diffusion's hybrid on an H × W grid (the task's θ box and dx), the conv net of the given channels. */
    static OdeHybrid reactionDiffusion(int H, int W, int[] channels) {
        return new OdeHybrid(ReactionDiffusionModel.onUnitSquare(H, W), new ConvShape(channels, H, W, Activation.LEAKY_RELU), 0.1, 1);
    }

    /** ConvOdeGradient + hs_loss against the CPU backend (CpuOdeBackend.lossAndGradient) on reaction-diffusion. */
    public static Check gradientVsCpu(Device dev, ConvFactory factory, int K, int B, int frames, int H, int W, int[] channels,
                                      SplittableRandom rng) {
        OdeHybrid model = reactionDiffusion(H, W, channels);
        GridHybrid m = ConvOdeGradient.grid(model);
        int P = m.parameterCount();
        Sequences data = randomSequences(m, B + 2, frames, rng);
        float[] p = randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[] gRef = new float[K * P];
        double[] lRef = new double[K];
        try (CpuOdeBackend cpu = new CpuOdeBackend(model, 2)) {
            cpu.lossAndGradient(K, p, data, batch, B, gRef, lRef);
        }
        float[] g = new float[K * P];
        double[] l = new double[K];
        deviceGradient(dev, factory, m, p, data, batch, B, g, l);
        Compare c = gradientCompare(m, g, toDouble(gRef));
        float[] lf = new float[K];
        for (int r = 0; r < K; r++) lf[r] = (float) l[r];
        c.add(lf, lRef);
        return c.as(String.format(Locale.ROOT, "gradient conv vs CPU reaction-diffusion %s K=%d B=%d T=%d",
                m.net().describe().replace(' ', '/'), K, B, frames));
    }

    /**
     * steps training steps of CudaTrainingEngine on the convolutional path (convolutions from the
     * factory, every step one captured graph) against CpuTrainingEngine on reaction-diffusion:
     * losses of every step and the final parameters, fsam averages and Adam moments.
     */
    public static Check engine(Device dev, ConvFactory factory, RuleConfig[] rules, int B, int frames, int H, int W, int[] channels,
                               int steps, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        OdeHybrid model = reactionDiffusion(H, W, channels);
        GridHybrid m = ConvOdeGradient.grid(model);
        int K = rules.length;
        Sequences data = randomSequences(m, B + 3, frames, rng);
        float[] p = randomParams(m, K, rng);
        Check[] worst;
        String what;
        try (CudaTrainingEngine gpu = new CudaTrainingEngine(dev, model, data, rules, p, factory.open(dev))) {
            if (!gpu.convolutional()) throw new IllegalStateException("the engine did not take the convolutional path");
            String d = gpu.describe();
            what = d.substring(d.indexOf("corrector on ") + "corrector on ".length(), d.length() - 1);
            worst = KernelChecks.stepsAgainstCpu(gpu, model, data, rules, p, B, steps, rng);
        }
        StringBuilder name = new StringBuilder("engine conv reaction-diffusion");
        for (RuleConfig r : rules) name.append(' ').append(r.method().id());
        name.append(" B=").append(B).append(" [").append(what).append(']');
        return new Check(name.toString(), Math.max(worst[0].worst(), worst[1].worst()), worst[0].values() + worst[1].values());
    }
}
