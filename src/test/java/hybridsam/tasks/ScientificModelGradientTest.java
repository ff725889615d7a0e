package hybridsam.tasks;

import hybridsam.model.ScientificModel;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The scientific models' vector-Jacobian products against central differences (in double). */
class ScientificModelGradientTest {

    private static double weighted(ScientificModel m, float[] z, double[] theta, float[] w, int C) {
        float[] out = new float[z.length];
        m.field(z, 0, C, theta, out, 0);
        double s = 0;
        for (int i = 0; i < out.length; i++) s += (double) out[i] * w[i];
        return s;
    }

    private static void check(ScientificModel m) {
        int C = 7, D = m.stateDim();
        SplittableRandom rng = new SplittableRandom(42);
        float[] z = new float[D * C], w = new float[D * C];
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) (3 * rng.nextDouble() - 1.5);
            w[i] = (float) rng.nextGaussian();
        }
        double[] theta = new double[m.theta().size()];
        for (int i = 0; i < theta.length; i++) theta[i] = m.theta().lo()[i] + rng.nextDouble() * (m.theta().hi()[i] - m.theta().lo()[i]);
        float[] gz = new float[D * C];
        double[] gTheta = new double[theta.length];
        m.vjp(z, 0, C, theta, w, 0, gz, 0, gTheta);
        double h = 1e-2;
        for (int i = 0; i < z.length; i++) {
            float[] zp = z.clone(), zm = z.clone();
            zp[i] += (float) h;
            zm[i] -= (float) h;
            double step = (double) zp[i] - zm[i];
            double fd = (weighted(m, zp, theta, w, C) - weighted(m, zm, theta, w, C)) / step;
            assertEquals(fd, gz[i], 2e-3 * Math.max(1, Math.abs(fd)), m.getClass().getSimpleName() + " state " + i);
        }
        for (int i = 0; i < theta.length; i++) {
            double[] tp = theta.clone(), tm = theta.clone();
            tp[i] += h;
            tm[i] -= h;
            double fd = (weighted(m, z, tp, w, C) - weighted(m, z, tm, w, C)) / (2 * h);
            assertEquals(fd, gTheta[i], 1e-4 * Math.max(1, Math.abs(fd)), m.getClass().getSimpleName() + " theta " + i);
        }
    }

    @Test
    void pendulumVjpMatchesFiniteDifferences() {
        check(new PendulumModel());
    }

    @Test
    void duffingVjpMatchesFiniteDifferences() {
        check(new DuffingModel());
    }

    @Test
    void vjpAccumulatesRatherThanOverwrites() {
        ScientificModel m = new DuffingModel();
        float[] z = {0.5f, -0.2f}, g = {1f, 2f};
        float[] gz = {10f, 20f};
        double[] gTheta = {1, 1};
        m.vjp(z, 0, 1, new double[]{1, 1}, g, 0, gz, 0, gTheta);
        // ∂f/∂x = (0, -α - 3βx²), ∂f/∂v = (1, 0)
        assertEquals(10f + 2f * (-1f - 3f * 0.25f), gz[0], 1e-6);
        assertEquals(20f + 1f, gz[1], 1e-6);
        assertEquals(1 - 2 * 0.5, gTheta[0], 1e-6);
        assertEquals(1 - 2 * 0.125, gTheta[1], 1e-6);
    }
}
