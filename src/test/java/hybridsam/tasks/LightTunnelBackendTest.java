package hybridsam.tasks;

import hybridsam.io.Dataset;
import hybridsam.model.Activation;
import hybridsam.model.ConvShape;
import hybridsam.tasks.data.LightTunnelData;
import hybridsam.train.TrainingEngine;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The light-tunnel CPU backend: exact gradients, thread-independent bits, the metrics. */
class LightTunnelBackendTest {
    static final Dataset DATA = LightTunnelData.generate("tiny", new LightTunnelData.Settings(12, 12, 40, 12, 12), 4);
    static final ComposedTask.Splits SPLITS = LightTunnelTask.INSTANCE.splits(DATA, null);
    static final LightTunnelSplit TRAIN = (LightTunnelSplit) SPLITS.train();

    /** θ near S* (so few channels sit at the clip), net weights at their seeded start scaled up so the net matters. */
    static float[] params(LightTunnelHybrid model, int K, long seed) {
        int P = model.parameterCount();
        float[] p = new float[K * P];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int r = 0; r < K; r++) {
            for (int i = 0; i < 9; i++) {
                double s = LightTunnelModel.S_STAR[i] * (0.7 + 0.6 * rng.nextDouble()) + 0.01;
                p[r * P + i] = (float) model.thetaSpec().toUnconstrained(i, s);
            }
            model.initializeNetworks(p, r * P, rng);
            for (int i = model.nnOffset(); i < P; i++) p[r * P + i] *= 3f;
        }
        return p;
    }

    static double loss(LightTunnelBackend b, float[] p, int[] batch) {
        double[] l = new double[1];
        b.lossAndGradient(1, p, TRAIN, batch, batch.length, new float[p.length], l);
        return l[0];
    }

    @Test
    void gradientMatchesFiniteDifferencesForThetaAndNetWeights() {
        LightTunnelHybrid model = new LightTunnelHybrid(12, 12, new int[] {6, 5}, Activation.LEAKY_RELU);
        int[] batch = {3, 17, 0, 25, 9, 31, 12, 5, 38, 22, 14};  // 11: one full chunk and a partial one at vector length 8
        try (LightTunnelBackend b = new LightTunnelBackend(model, 2)) {
            float[] p = params(model, 1, 5);
            float[] g = new float[p.length];
            double[] l = new double[1];
            b.lossAndGradient(1, p, TRAIN, batch, batch.length, g, l);
            assertEquals(l[0], loss(b, p, batch), 0.0, "the loss does not depend on the gradient buffer");
            ConvShape net = model.net();
            int nn = model.nnOffset();
            int[] checks = {0, 1, 2, 3, 4, 5, 7, 8,
                    nn + 0, nn + 4, nn + 3 * 9 + 4,                    // layer 0: an F2 channel's and an input channel's taps
                    nn + net.biasOffset(0) + 2,
                    nn + net.weightOffset(1) + 17, nn + net.biasOffset(1) + 1,
                    nn + net.weightOffset(2) + 40, nn + net.biasOffset(2) + 2};
            double h = 2e-3;
            int failures = 0;
            StringBuilder report = new StringBuilder();
            for (int i : checks) {
                float[] up = p.clone(), down = p.clone();
                up[i] += (float) h;
                down[i] -= (float) h;
                double fd = (loss(b, up, batch) - loss(b, down, batch)) / ((double) up[i] - down[i]);
                double tol = 2e-2 * Math.abs(fd) + 2e-6;
                report.append(String.format("%d: grad %.6g fd %.6g%n", i, g[i], fd));
                if (Math.abs(g[i] - fd) > tol) failures++;
            }
            assertEquals(0, failures, report.toString());
        }
    }

    @Test
    void thetaGradientIncludesThePathThroughTheNetworksInput() {
        // With the net's weights on the F2 channels made large, the θ gradient must move with them.
        LightTunnelHybrid model = new LightTunnelHybrid(12, 12, new int[] {4}, Activation.LEAKY_RELU);
        int[] batch = {1, 2, 3, 4, 5, 6, 7, 8};
        try (LightTunnelBackend b = new LightTunnelBackend(model, 1)) {
            float[] p = params(model, 1, 9);
            int nn = model.nnOffset();
            for (int o = 0; o < 4; o++) {
                for (int t = 0; t < 27; t++) p[nn + o * 72 + t] *= 10f;  // in channels 0..2 of layer 0
            }
            float[] g = new float[p.length];
            b.lossAndGradient(1, p, TRAIN, batch, 8, g, new double[1]);
            double h = 2e-3;
            for (int i : new int[] {0, 4, 8}) {
                float[] up = p.clone(), down = p.clone();
                up[i] += (float) h;
                down[i] -= (float) h;
                double fd = (loss(b, up, batch) - loss(b, down, batch)) / ((double) up[i] - down[i]);
                assertEquals(fd, g[i], 2e-2 * Math.abs(fd) + 2e-6, "theta " + i);
            }
        }
    }

    @Test
    void bitsAreTheSameWithOneThreadOrThree() {
        LightTunnelHybrid model = new LightTunnelHybrid(12, 12, new int[] {8, 8}, Activation.LEAKY_RELU);
        int K = 2, B = 19;
        int[] batch = new int[K * B];
        SplittableRandom rng = new SplittableRandom(2);
        for (int i = 0; i < batch.length; i++) batch[i] = rng.nextInt(TRAIN.count());
        float[] p = params(model, K, 8);
        float[][] g = new float[2][p.length];
        double[][] l = new double[2][K];
        double[] mse = new double[2];
        TrainingEngine.Metrics[] m = new TrainingEngine.Metrics[2];
        int[] threads = {1, 3};
        for (int t = 0; t < 2; t++) {
            try (LightTunnelBackend b = new LightTunnelBackend(model, threads[t])) {
                b.lossAndGradient(K, p, TRAIN, batch, B, g[t], l[t]);
                mse[t] = b.meanSquaredError(p, model.parameterCount(), SPLITS.valid(), true);
                m[t] = b.evaluate(p, 0, SPLITS.test());
            }
        }
        assertArrayEquals(g[0], g[1]);
        assertArrayEquals(l[0], l[1]);
        assertEquals(mse[0], mse[1], 0.0);
        assertEquals(m[0], m[1]);
    }

    @Test
    void scienceOnlyErrorIsF2AloneAndTheShareIsAFraction() {
        LightTunnelHybrid model = new LightTunnelHybrid(12, 12, new int[] {4}, Activation.LEAKY_RELU);
        LightTunnelSplit test = (LightTunnelSplit) SPLITS.test();
        float[] p = params(model, 1, 3);
        double[] s = model.thetaSpec().physical(p, 0);
        float[] mask = LightTunnelModel.hexagonMask(12, 12);
        float[] img = new float[test.imageSize()];
        double sq = 0;
        for (int n = 0; n < test.count(); n++) {
            LightTunnelModel.renderInto(img, 0, 1, 12, 12, mask, s, 0, test.inputs(), test.inputOffset(n));
            for (int d = 0; d < img.length; d++) {
                double e = (double) img[d] - test.images()[test.imageOffset(n) + d];
                sq += e * e;
            }
        }
        try (LightTunnelBackend b = new LightTunnelBackend(model, 2)) {
            assertEquals(sq / ((double) test.count() * test.imageSize()), b.meanSquaredError(p, 0, test, false), 1e-12);
            TrainingEngine.Metrics m = b.evaluate(p, 0, test);
            assertTrue(m.networkShare() > 0 && m.networkShare() < 1, "share " + m.networkShare());
            assertEquals(m.scienceOnlyMse(), b.meanSquaredError(p, 0, test, false), 0.0);
            for (int i = model.nnOffset(); i < p.length; i++) p[i] = 0f;
            TrainingEngine.Metrics zero = b.evaluate(p, 0, test);
            assertEquals(0.0, zero.networkShare(), 0.0, "a zero net carries nothing");
            assertEquals(zero.mse(), zero.scienceOnlyMse(), 1e-15);
        }
    }
}
