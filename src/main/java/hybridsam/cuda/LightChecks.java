package hybridsam.cuda;

import hybridsam.cuda.KernelChecks.Check;
import hybridsam.cuda.KernelChecks.Compare;
import hybridsam.model.Activation;
import hybridsam.model.ConvShape;
import hybridsam.model.ThetaSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The light-tunnel kernels (native-kernels/lighttunnel.cu) and gradient program against
 * {@link LightReference} on fresh random inputs: images that are not square, K > 1 replicas with
 * different S and weights, colours both inside (0, 1) and clipped. Run by the emulation and
 * stand-in tests and by the GPU check.
 */
public final class LightChecks {
    private LightChecks() {
    }

    /** The checks at test sizes, planned (they draw from rng in order). */
    static List<KernelChecks.Planned> plan(Device dev, SplittableRandom rng, boolean large) {
        List<KernelChecks.Planned> c = new ArrayList<>();
        c.add(KernelChecks.Planned.one("gradient light-tunnel K=2 B=3 7x6", () -> gradient(dev, ConvChecks.KERNELS, 2, 3, 7, 6,
                new int[]{4, 3}, rng)));
        if (large) {
            c.add(KernelChecks.Planned.one("gradient light-tunnel K=2 B=4 16x16 16-16", () -> gradient(dev, ConvChecks.KERNELS, 2, 4,
                    16, 16, new int[]{16, 16}, rng)));
        }
        return c;
    }

    /** Exposure · w / 255 of the chamber's camera (tasks.md: w = (2.65625, 1, 1.77344), exposure 0.8). */
    static final double[] CHAMBER_COLOUR_SCALE = {0.8 * 2.65625 / 255, 0.8 / 255, 0.8 * 1.77344 / 255};

    /** A hexagon mask for tests: circumradius 0.22 of the side, centre (0.5, 0.5), flat top and bottom, y up. */
    static float[] hexagon(int H, int W) {
        float[] m = new float[H * W];
        double R = 0.22;
        double[][] v = new double[6][];
        for (int k = 0; k < 6; k++) v[k] = new double[]{0.5 + R * Math.cos(k * Math.PI / 3), 0.5 + R * Math.sin(k * Math.PI / 3)};
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                double px = (x + 0.5) / W, py = 1 - (y + 0.5) / H;
                int pos = 0, neg = 0;
                for (int k = 0; k < 6; k++) {
                    double[] a = v[k], b = v[(k + 1) % 6];
                    double cr = (b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0]);
                    if (cr > 0) pos++;
                    else if (cr < 0) neg++;
                }
                m[y * W + x] = pos == 6 || neg == 6 ? 1f : 0f;
            }
        }
        return m;
    }

    /** The light-tunnel hybrid on H × W images: θ = S in [0, 3]⁹, the net 8 → channels… → 3 (leaky ReLU). */
    public static LightHybrid hybrid(int H, int W, int[] hidden) {
        List<String> names = new ArrayList<>();
        double[] lo = new double[9], hi = new double[9];
        for (int i = 0; i < 9; i++) {
            names.add("S" + i / 3 + i % 3);
            hi[i] = 3;
        }
        int[] ch = new int[hidden.length + 2];
        ch[0] = 3 + LightHybrid.INPUTS;
        System.arraycopy(hidden, 0, ch, 1, hidden.length);
        ch[ch.length - 1] = 3;
        double[] scale = {1.0 / 255, 1.0 / 255, 1.0 / 255, 1.0 / 180, 1.0 / 180}, shift = new double[LightHybrid.INPUTS];
        return new LightHybrid(ThetaSpec.linear(names, lo, hi), new ConvShape(ch, H, W, Activation.LEAKY_RELU), hexagon(H, W),
                CHAMBER_COLOUR_SCALE.clone(), scale, shift, s -> (LightHybrid.Samples) s);
    }

    /** count samples: R, G, B integers 0..255, angles uniform in [−180, 180), target images in [0, 1). */
    public static LightHybrid.Samples randomSamples(LightHybrid m, int count, SplittableRandom rng) {
        int I = LightHybrid.INPUTS, HW = m.height() * m.width();
        float[] in = new float[count * I], img = new float[count * 3 * HW];
        for (int n = 0; n < count; n++) {
            for (int j = 0; j < 3; j++) in[n * I + j] = rng.nextInt(256);
            for (int j = 3; j < I; j++) in[n * I + j] = (float) (360 * rng.nextDouble() - 180);
        }
        for (int i = 0; i < img.length; i++) img[i] = (float) rng.nextDouble();
        return new LightHybrid.Samples(in, img, count);
    }

    /**
     * K replicas' parameters: u of S around −4 (S ≈ 0.05, so that most colours lie inside (0, 1)
     * and some clip at 1), the net initialized.
     */
    public static float[] randomParams(LightHybrid m, int K, SplittableRandom rng) {
        int P = m.parameterCount();
        float[] p = new float[K * P];
        for (int r = 0; r < K; r++) {
            for (int i = 0; i < m.thetaCount(); i++) p[r * P + i] = (float) (-4 + 1.5 * rng.nextGaussian());
            m.initializeNetworks(p, r * P, rng);
        }
        return p;
    }

    /** LightTunnelGradient + hs_loss on the device: grad (K · P) and loss (K). */
    static void deviceGradient(Device dev, ConvChecks.ConvFactory factory, LightHybrid m, float[] p, LightHybrid.Samples data,
                               int[] batch, int B, float[] grad, double[] loss) {
        int K = batch.length / B, P = m.parameterCount();
        try (DeviceScope s = new DeviceScope(dev)) {
            LightTunnelGradient lg = new LightTunnelGradient(s, m, K, s.own(factory.open(dev)));
            lg.upload(s, data);
            DeviceBuffer dp = s.floats(p.length), dBatch = s.ints(batch.length);
            DeviceBuffer ws = s.floats(lg.workspaceFloats(B)), sq = s.doubles((long) K * B);
            DeviceBuffer dg = s.floats((long) K * P), dl = s.doubles(K);
            dev.upload(dp, p);
            dev.upload(dBatch, batch);
            dev.upload(dg, KernelChecks.randomFloats(K * P, 1, new SplittableRandom(1)));  // overwritten, not accumulated into
            lg.gradient(dp, dBatch, B, ws, s.floats(1), sq, dg);
            dev.launch("hs_loss", 1, 1, 1, 32, 1, 1, 0, KernelArgs.of().i(K).i(B).f(lg.lossWeight(B)).ptr(sq).ptr(dl));
            dev.download(dg, grad);
            dev.download(dl, loss);
        }
    }

    /** A gradient against its reference; θ's block against its own scale. */
    static Compare gradientCompare(int nTheta, int P, float[] g, double[] gRef) {
        double sTheta = 0, sPhi = 0;
        for (int i = 0; i < gRef.length; i++) {
            if (i % P < nTheta) sTheta = Math.max(sTheta, Math.abs(gRef[i]));
            else sPhi = Math.max(sPhi, Math.abs(gRef[i]));
        }
        Compare c = new Compare(2e-3, 1e-4 * sPhi + 1e-12), ct = new Compare(2e-3, 1e-4 * sTheta + 1e-12);
        for (int i = 0; i < gRef.length; i++) (i % P < nTheta ? ct : c).add(new float[]{g[i]}, new double[]{gRef[i]});
        c.worst = Math.max(c.worst, ct.worst);
        c.n += ct.n;
        return c;
    }

    /** The whole light-tunnel gradient and loss of K replicas against {@link LightReference}. */
    public static Check gradient(Device dev, ConvChecks.ConvFactory factory, int K, int B, int H, int W, int[] hidden,
                                 SplittableRandom rng) {
        LightHybrid m = hybrid(H, W, hidden);
        int P = m.parameterCount();
        LightHybrid.Samples data = randomSamples(m, B + 3, rng);
        float[] p = randomParams(m, K, rng);
        int[] batch = KernelChecks.randomBatch(K, B, data.count(), rng);
        double[] gRef = new double[K * P];
        double[] lRef = LightReference.lossAndGradient(m, ConvChecks.toDouble(p), data.inputs(), data.images(), batch, B, gRef);
        float[] g = new float[K * P];
        double[] l = new double[K];
        deviceGradient(dev, factory, m, p, data, batch, B, g, l);
        Compare c = gradientCompare(m.thetaCount(), P, g, gRef);
        float[] lf = new float[K];
        for (int r = 0; r < K; r++) lf[r] = (float) l[r];
        c.add(lf, lRef);
        return c.as(String.format(Locale.ROOT, "gradient light-tunnel %s K=%d B=%d", m.net().describe().replace(' ', '/'), K, B));
    }
}
