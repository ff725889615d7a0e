package hybridsam.tasks;

import hybridsam.io.Dataset;
import hybridsam.model.Activation;
import hybridsam.tasks.data.WindTunnelData;
import hybridsam.train.TrainingEngine;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The wind tunnel's CPU backend: its gradient against finite differences, and thread-count independence. */
class WindTunnelBackendTest {
    static final WindTunnelTask TASK = WindTunnelTask.INSTANCE;

    static WindTunnelSplit train(int n, long seed) {
        Dataset d = WindTunnelData.generate("test", new WindTunnelData.Settings(n, 3, 3), seed);
        return (WindTunnelSplit) TASK.splits(d, Path.of("mem")).train();
    }

    /** K replicas: u uniform in ±0.7 (θ away from θ*), networks initialized and their last layers enlarged. */
    static float[] params(WindTunnelHybrid m, int K, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int P = m.parameterCount();
        float[] p = new float[K * P];
        for (int r = 0; r < K; r++) {
            p[r * P] = (float) (1.4 * rng.nextDouble() - 0.7);
            p[r * P + 1] = (float) (1.4 * rng.nextDouble() - 0.7);
            m.initializeNetworks(p, r * P, rng);
        }
        return p;
    }

    @Test
    void gradientMatchesCentralDifferencesForThetaAndBothNetworks() {
        WindTunnelSplit data = train(7, 4);
        WindTunnelHybrid m = WindTunnelHybrid.of(new int[]{8, 8}, Activation.TANH);
        int P = m.parameterCount(), K = 2, B = 5;
        float[] p = params(m, K, 9);
        int[] batch = {0, 3, 5, 6, 2, 1, 2, 4, 6, 0};
        float[] g = new float[K * P];
        double[] loss = new double[K];
        try (WindTunnelBackend be = new WindTunnelBackend(m, 2)) {
            be.lossAndGradient(K, p, data, batch, B, g, loss);
            SplittableRandom rng = new SplittableRandom(5);
            int fan = m.fanOffset(), pres = m.pressureOffset();
            int checked = 0;
            for (int r = 0; r < K; r++) {
                int[] coords = new int[14];
                coords[0] = 0;
                coords[1] = 1;
                for (int i = 2; i < 8; i++) coords[i] = fan + rng.nextInt(m.fan().parameterCount());
                for (int i = 8; i < 14; i++) coords[i] = pres + rng.nextInt(m.pressure().parameterCount());
                coords[7] = pres - 1;     // the fan net's output bias
                coords[13] = P - 1;       // the pressure net's output bias
                for (int c : coords) {
                    int at = r * P + c;
                    float keep = p[at];
                    float hi = keep + 1e-3f, lo = keep - 1e-3f;
                    double[] lp = new double[K], lm = new double[K];
                    float[] scratch = new float[K * P];
                    p[at] = hi;
                    be.lossAndGradient(K, p, data, batch, B, scratch, lp);
                    p[at] = lo;
                    be.lossAndGradient(K, p, data, batch, B, scratch, lm);
                    p[at] = keep;
                    double fd = (lp[r] - lm[r]) / ((double) hi - lo);
                    double an = g[at];
                    assertEquals(fd, an, 2e-3 * Math.abs(fd) + 1e-7,
                            "replica " + r + ", parameter " + c + ": analytic " + an + ", finite differences " + fd);
                    if (Math.abs(fd) > 1e-5) checked++;
                    // the other replica's loss does not move
                    assertEquals(loss[1 - r], lp[1 - r]);
                }
            }
            assertTrue(checked >= 20, "most checked coordinates have a gradient worth checking: " + checked);
        }
    }

    @Test
    void bitIdenticalWithOneAndThreeThreads() {
        WindTunnelSplit data = train(70, 8);
        WindTunnelHybrid m = WindTunnelHybrid.of(new int[]{16, 16}, Activation.TANH);
        int P = m.parameterCount(), K = 2, B = 70;  // two chunks per replica
        float[] p = params(m, K, 3);
        int[] batch = new int[K * B];
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < batch.length; i++) batch[i] = rng.nextInt(70);
        float[] g1 = new float[K * P], g3 = new float[K * P];
        double[] l1 = new double[K], l3 = new double[K];
        TrainingEngine.Metrics m1, m3;
        try (WindTunnelBackend one = new WindTunnelBackend(m, 1); WindTunnelBackend three = new WindTunnelBackend(m, 3)) {
            one.lossAndGradient(K, p, data, batch, B, g1, l1);
            three.lossAndGradient(K, p, data, batch, B, g3, l3);
            m1 = one.evaluate(p, P, data);
            m3 = three.evaluate(p, P, data);
        }
        assertArrayEquals(g1, g3);
        assertArrayEquals(l1, l3);
        assertEquals(m1, m3);
        assertTrue(m1.networkShare() > 0 && m1.networkShare() < 1, "share " + m1.networkShare());
    }

    @Test
    void withSilentNetworksTheHybridIsTheScienceAndAtThetaStarItsErrorIsTheFrictionAndHatch() {
        WindTunnelSplit data = train(6, 2);
        WindTunnelHybrid m = WindTunnelHybrid.of(new int[]{8}, Activation.TANH);
        float[] p = new float[m.parameterCount()];  // u = 0: θ = θ*; every weight 0: both networks output 0
        try (WindTunnelBackend be = new WindTunnelBackend(m, 2)) {
            TrainingEngine.Metrics e = be.evaluate(p, 0, data);
            assertEquals(e.scienceOnlyMse(), e.mse());
            assertEquals(0, e.networkShare());
            assertTrue(e.mse() > 0);
            float[] q = params(m, 1, 4);
            TrainingEngine.Metrics f = be.evaluate(q, 0, data);
            assertTrue(f.mse() != f.scienceOnlyMse());
            // the mean of the minibatch loss over the whole split is meanSquaredError
            int[] all = {0, 1, 2, 3, 4, 5};
            double[] loss = new double[1];
            be.lossAndGradient(1, q, data, all, 6, new float[q.length], loss);
            assertEquals(be.meanSquaredError(q, 0, data, true), loss[0], 1e-12 * loss[0]);
        }
    }
}
