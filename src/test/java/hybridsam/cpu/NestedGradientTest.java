package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.ImageSequences;
import hybridsam.model.MlpShape;
import hybridsam.model.NestedHybrid;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The nested hybrid's gradient (encoder → RK4 rollout with corrector → decoder + sigmoid → pixel
 * MSE) against central differences of its own loss, block by block: θ (u), corrector, encoder,
 * decoder; and the encoder's skipped input gradient.
 */
class NestedGradientTest {
    private static final int H = 6, W = 6, FRAMES = 4;

    private static double loss(CpuNestedBackend b, float[] p, ImageSequences data, int[] batch) {
        double[] l = new double[1];
        b.lossAndGradient(1, p, data, batch, batch.length, new float[p.length], l);
        return l[0];
    }

    /**
     * dir scaled to unit length: a Gaussian direction over hundreds of weights moves a hidden
     * unit's input by ~√n · eps, and the central difference's truncation error grows with its cube.
     */
    private static float[] unit(float[] dir) {
        double n = 0;
        for (float d : dir) n += (double) d * d;
        float s = (float) (1 / Math.sqrt(n));
        for (int i = 0; i < dir.length; i++) dir[i] *= s;
        return dir;
    }

    /**
     * Checks the directional derivative along dir. The float parameters cannot move by exactly
     * ±eps·dir, so the analytic side uses the steps actually taken. The loss is computed in float
     * (summed in double), so its central difference carries an absolute noise of about 1e-7 here.
     */
    private static void checkDirection(CpuNestedBackend b, float[] p, float[] g, float[] dir, double eps,
                                       ImageSequences data, int[] batch, String what) {
        float[] plus = p.clone(), minus = p.clone();
        double an = 0;
        for (int i = 0; i < p.length; i++) {
            plus[i] = p[i] + (float) (eps * dir[i]);
            minus[i] = p[i] - (float) (eps * dir[i]);
            an += (double) g[i] * ((double) plus[i] - minus[i]) / (2 * eps);
        }
        double fd = (loss(b, plus, data, batch) - loss(b, minus, data, batch)) / (2 * eps);
        assertEquals(fd, an, 2e-3 * Math.abs(fd) + 3e-7, what + ": finite difference " + fd + ", gradient " + an);
    }

    @ParameterizedTest
    @EnumSource(value = Activation.class, names = {"TANH", "SOFTPLUS"})
    void gradientMatchesCentralDifferencesBlockByBlock(Activation act) {
        NestedHybrid m = NestedFixtures.nested(act, H, W, 8);
        ImageSequences data = NestedFixtures.images(7, FRAMES, H, W, 21);
        int[] batch = {3, 0, 6, 2, 5};  // 5 sequences: a part chunk, padded with zero weight
        float[] p = NestedFixtures.params(m, 1, 4);
        int[][] blocks = {
                {m.correctorOffset(), m.encoderOffset()},
                {m.encoderOffset(), m.decoderOffset()},
                {m.decoderOffset(), m.parameterCount()}};
        String[] names = {"corrector", "encoder", "decoder"};
        try (CpuNestedBackend b = new CpuNestedBackend(m, 2)) {
            float[] g = new float[p.length];
            double[] l = new double[1];
            b.lossAndGradient(1, p, data, batch, batch.length, g, l);
            assertTrue(l[0] > 0.01, "loss " + l[0]);
            SplittableRandom rng = new SplittableRandom(7);
            double eps = 1e-2;
            for (int i = 0; i < m.thetaCount(); i++) {
                float[] dir = new float[p.length];
                dir[i] = 1;
                checkDirection(b, p, g, dir, eps, data, batch, act + " theta " + i);
                assertTrue(Math.abs(g[i]) > 1e-6, "θ's gradient should not vanish: " + g[i]);
            }
            for (int k = 0; k < blocks.length; k++) {
                int lo = blocks[k][0], hi = blocks[k][1];
                // the coordinate with the largest gradient, then random ones
                int big = lo;
                for (int i = lo; i < hi; i++) if (Math.abs(g[i]) > Math.abs(g[big])) big = i;
                for (int trial = 0; trial < 4; trial++) {
                    float[] dir = new float[p.length];
                    dir[trial == 0 ? big : lo + rng.nextInt(hi - lo)] = 1;
                    checkDirection(b, p, g, dir, eps, data, batch, act + " " + names[k] + " coordinate trial " + trial);
                }
                for (int trial = 0; trial < 3; trial++) {
                    float[] dir = new float[p.length];
                    for (int i = lo; i < hi; i++) dir[i] = (float) rng.nextGaussian();
                    checkDirection(b, p, g, unit(dir), eps, data, batch, act + " " + names[k] + " direction " + trial);
                }
            }
            for (int trial = 0; trial < 3; trial++) {
                float[] dir = new float[p.length];
                for (int i = 0; i < dir.length; i++) dir[i] = (float) rng.nextGaussian();
                checkDirection(b, p, g, unit(dir), eps, data, batch, act + " all parameters, direction " + trial);
            }
        }
    }

    @Test
    void checkpointedRolloutGivesTheSameBits() {
        NestedHybrid m = NestedFixtures.nested(Activation.TANH, H, W, 8);
        ImageSequences data = NestedFixtures.images(9, FRAMES, H, W, 3);
        int[] batch = {8, 1, 4, 4, 0, 7, 2, 3};
        float[] p = NestedFixtures.params(m, 2, 5);
        float[] g1 = new float[p.length], g2 = new float[p.length];
        double[] l1 = new double[2], l2 = new double[2];
        int chunk = CpuNestedBackend.chunkFor(4);
        assertTrue(CpuNestedBackend.keepsAll(m, FRAMES, chunk, CpuOdeBackend.KEEP_ALL_BYTES));
        assertTrue(!CpuNestedBackend.keepsAll(m, FRAMES, chunk, 0));
        try (CpuNestedBackend all = new CpuNestedBackend(m, 2); CpuNestedBackend ckpt = new CpuNestedBackend(m, 2, 0)) {
            all.lossAndGradient(2, p, data, batch, 4, g1, l1);
            ckpt.lossAndGradient(2, p, data, batch, 4, g2, l2);
        }
        assertArrayEquals(l1, l2, 0.0);
        assertArrayEquals(g1, g2, 0f);
    }

    /** Σ v · encoder(x): its weight gradient with the input gradient skipped (gIn null) against taking it, and against central differences. */
    @Test
    void encoderWeightGradientWithoutTheInputGradient() {
        int C = DenseKernels.L;
        MlpShape enc = new MlpShape(new int[]{3 * H * W, 8, 2}, Activation.TANH);
        SplittableRandom rng = new SplittableRandom(12);
        float[] p = new float[enc.parameterCount()];
        enc.initialize(p, 0, rng);
        float[] x = new float[enc.inputs() * C], v = new float[2 * C];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextDouble();
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
        MlpCorrector net = new MlpCorrector(enc, C);
        float[] tape = new float[net.tapeFloats()], out = new float[2 * C];
        net.forward(p, 0, x, 0, tape, 0, out);
        float[] withInput = new float[p.length], skipped = new float[p.length];
        net.clearGradient();
        net.backward(p, 0, x, 0, tape, 0, v, new float[x.length]);
        net.reduce(withInput, 0);
        net.clearGradient();
        net.backward(p, 0, x, 0, tape, 0, v, null);
        net.reduce(skipped, 0);
        assertArrayEquals(withInput, skipped, 0f);
        double eps = 1e-2;
        for (int trial = 0; trial < 8; trial++) {
            float[] dir = new float[p.length];
            if (trial < 4) dir[rng.nextInt(p.length)] = 1;
            else for (int i = 0; i < dir.length; i++) dir[i] = (float) rng.nextGaussian();
            unit(dir);
            float[] plus = p.clone(), minus = p.clone();
            double an = 0;
            for (int i = 0; i < p.length; i++) {
                plus[i] = p[i] + (float) (eps * dir[i]);
                minus[i] = p[i] - (float) (eps * dir[i]);
                an += (double) skipped[i] * ((double) plus[i] - minus[i]) / (2 * eps);
            }
            double fd = (dot(net, plus, x, v, C) - dot(net, minus, x, v, C)) / (2 * eps);
            assertEquals(fd, an, 2e-3 * Math.abs(fd) + 1e-5, "trial " + trial);
        }
    }

    private static double dot(MlpCorrector net, float[] p, float[] x, float[] v, int C) {
        float[] tape = new float[net.tapeFloats()], out = new float[v.length];
        net.forward(p, 0, x, 0, tape, 0, out);
        double s = 0;
        for (int i = 0; i < out.length; i++) s += (double) out[i] * v[i];
        return s;
    }
}
