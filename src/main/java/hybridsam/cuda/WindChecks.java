package hybridsam.cuda;

import hybridsam.cuda.KernelChecks.Check;
import hybridsam.cuda.KernelChecks.Compare;
import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.ThetaSpec;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The wind-tunnel kernel (native-kernels/wind.cu) and gradient program against
 * {@link WindReference} on fresh random sequences (irregular time stamps, loads of 0, below L_min
 * and above it, K replicas with different θ and weights). Run by the emulation and stand-in tests.
 */
public final class WindChecks {
    private WindChecks() {
    }

    /** The checks at test sizes, planned (they draw from rng in order). */
    static java.util.List<KernelChecks.Planned> plan(Device dev, SplittableRandom rng, boolean large) {
        java.util.List<KernelChecks.Planned> c = new java.util.ArrayList<>();
        c.add(KernelChecks.Planned.one("loss wind-tunnel K=2 B=3 T=6", () -> loss(dev, 2, 3, 6, new int[]{5, 4}, Activation.TANH, rng)));
        c.add(KernelChecks.Planned.one("gradient wind-tunnel K=2 B=3 T=5 (finite differences)",
                () -> gradient(dev, 2, 3, 5, new int[]{5, 4}, Activation.TANH, rng)));
        if (large) {
            c.add(KernelChecks.Planned.one("loss wind-tunnel K=2 B=8 T=50 32-32", () -> loss(dev, 2, 8, 50, new int[]{32, 32},
                    Activation.TANH, rng)));
        }
        return c;
    }

    /**
     * The device gradient's derivative along random directions (in θ, each network, all) against
     * central differences (step 1e-2) of {@link WindReference}'s loss in double; the error of each
     * against 2% of the difference plus 1e-6.
     */
    public static Check gradient(Device dev, int K, int B, int frames, int[] hidden, Activation act, SplittableRandom rng) {
        WindHybrid m = hybrid(hidden, act, 4);
        int P = m.parameterCount();
        WindHybrid.Samples data = randomSamples(B + 2, frames, rng);
        float[] p = randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        float[] g = new float[K * P];
        deviceGradient(dev, m, p, data, batch, B, g, new double[K]);
        int[][] ranges = {{0, m.fanOffset()}, {m.fanOffset(), m.pressureOffset()}, {m.pressureOffset(), P}, {0, P}};
        double worst = 0;
        int n = 0;
        for (int[] range : ranges) {
            double[] dir = new double[K * P];
            double norm = 0;
            for (int r = 0; r < K; r++) for (int i = range[0]; i < range[1]; i++) dir[r * P + i] = rng.nextGaussian();
            for (double d : dir) norm += d * d;
            norm = Math.sqrt(norm);
            double eps = 1e-2;
            double[][] ls = new double[2][];
            for (int side = 0; side < 2; side++) {
                double[] q = ConvChecks.toDouble(p);
                for (int i = 0; i < q.length; i++) q[i] += (side == 0 ? eps : -eps) * dir[i] / norm;
                ls[side] = WindReference.loss(m, q, data, batch, B);
            }
            for (int r = 0; r < K; r++) {
                double fd = (ls[0][r] - ls[1][r]) / (2 * eps), an = 0;
                for (int i = 0; i < P; i++) an += g[r * P + i] * dir[r * P + i] / norm;
                double e = Math.abs(fd - an) / (0.02 * Math.abs(fd) + 1e-6);
                worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(worst, e);
                n++;
            }
        }
        return new Check(String.format(Locale.ROOT, "gradient wind-tunnel %s K=%d B=%d T=%d (finite differences)",
                m.fan().describe().replace(' ', '/'), K, B, frames), worst, n);
    }

    /** The chamber's constants (tasks.md, wind-tunnel) and the task's output scales (ω_max / 20, S_max / 4). */
    static final WindHybrid.Constants CHAMBER = new WindHybrid.Constants(100 * Math.PI, 74.82473949999999, 45, 0.1,
            0.27 - 0.166, 100 * Math.PI / 20, 74.82473949999999 / 4);

    /** θ* = (T/I, K/I), each boxed a decade either side, log scale. */
    static final double[] THETA_STAR = {0.05 / 3.481e-5, 5.268701549401565e-8 / 3.481e-5};

    public static WindHybrid hybrid(int[] hidden, Activation act, int substeps) {
        ThetaSpec theta = new ThetaSpec(List.of("torque_per_inertia", "drag_per_inertia"),
                new double[]{THETA_STAR[0] / 10, THETA_STAR[1] / 10}, new double[]{THETA_STAR[0] * 10, THETA_STAR[1] * 10},
                new boolean[]{true, true});
        return new WindHybrid(theta, new MlpShape(widths(2, hidden), act), new MlpShape(widths(3, hidden), act), CHAMBER, substeps,
                s -> (WindHybrid.Samples) s);
    }

    private static int[] widths(int in, int[] hidden) {
        int[] w = new int[hidden.length + 2];
        w[0] = in;
        System.arraycopy(hidden, 0, w, 1, hidden.length);
        w[w.length - 1] = 1;
        return w;
    }

    /** count sequences of frames samples about 1/7 s apart (±10%), speeds and pressures near the chamber's. */
    public static WindHybrid.Samples randomSamples(int count, int frames, SplittableRandom rng) {
        int n = count * frames;
        float[] obs = new float[n * 3], in = new float[n * 3], t = new float[n];
        float[] loads = {0f, 0.01f, 0.5f, 1f};
        for (int s = 0; s < count; s++) {
            double time = 0;
            for (int f = 0; f < frames; f++) {
                int i = s * frames + f;
                t[i] = (float) time;
                time += (1 + 0.2 * (rng.nextDouble() - 0.5)) / 7;
                obs[i * 3] = (float) (100 + 200 * rng.nextDouble());
                obs[i * 3 + 1] = (float) (100 + 200 * rng.nextDouble());
                obs[i * 3 + 2] = (float) (40 * (rng.nextDouble() - 0.5));
                in[i * 3] = rng.nextBoolean() ? loads[rng.nextInt(loads.length)] : (float) rng.nextDouble();
                in[i * 3 + 1] = loads[rng.nextInt(loads.length)];
                in[i * 3 + 2] = (float) (45 * rng.nextDouble());
            }
        }
        return new WindHybrid.Samples(obs, in, t, count, frames);
    }

    /** K replicas: u near 0 (θ near the box's middle in log scale), the networks initialized. */
    public static float[] randomParams(WindHybrid m, int K, SplittableRandom rng) {
        int P = m.parameterCount();
        float[] p = new float[K * P];
        for (int r = 0; r < K; r++) {
            for (int i = 0; i < m.thetaCount(); i++) p[r * P + i] = (float) (0.5 * rng.nextGaussian());
            m.initializeNetworks(p, r * P, rng);
        }
        return p;
    }

    /** WindTunnelGradient + hs_loss on the device: grad (K · P) and loss (K). */
    static void deviceGradient(Device dev, WindHybrid m, float[] p, WindHybrid.Samples data, int[] batch, int B, float[] grad,
                               double[] loss) {
        int K = batch.length / B, P = m.parameterCount();
        try (DeviceScope s = new DeviceScope(dev)) {
            WindTunnelGradient wg = new WindTunnelGradient(s, m, K);
            wg.upload(s, data);
            DeviceBuffer dp = s.floats(p.length), dBatch = s.ints(batch.length);
            DeviceBuffer ws = s.floats(wg.workspaceFloats(B)), gs = s.floats(wg.gradientRowsFloats(B)), sq = s.doubles((long) K * B);
            DeviceBuffer dg = s.floats((long) K * P), dl = s.doubles(K);
            dev.upload(dp, p);
            dev.upload(dBatch, batch);
            dev.upload(dg, KernelChecks.randomFloats(K * P, 1, new SplittableRandom(1)));  // overwritten, not accumulated into
            wg.gradient(dp, dBatch, B, ws, gs, sq, dg);
            dev.launch("hs_loss", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().i(K).i(B).f(wg.lossWeight(B)).ptr(sq).ptr(dl));
            dev.download(dg, grad);
            dev.download(dl, loss);
        }
    }

    /** The device loss of K replicas against {@link WindReference} (float32 rollout against double). */
    public static Check loss(Device dev, int K, int B, int frames, int[] hidden, Activation act, SplittableRandom rng) {
        WindHybrid m = hybrid(hidden, act, 4);
        WindHybrid.Samples data = randomSamples(B + 2, frames, rng);
        float[] p = randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        double[] lRef = WindReference.loss(m, ConvChecks.toDouble(p), data, batch, B);
        double[] l = new double[K];
        deviceGradient(dev, m, p, data, batch, B, new float[K * m.parameterCount()], l);
        return new Compare(1e-4, 1e-9).add(l, lRef).as(String.format(Locale.ROOT, "loss wind-tunnel %s K=%d B=%d T=%d",
                m.fan().describe().replace(' ', '/'), K, B, frames));
    }
}
