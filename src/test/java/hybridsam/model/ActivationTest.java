package hybridsam.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The activations' vector paths against their scalar definitions. */
class ActivationTest {

    @Test
    void vectorTanhIsWithinThreeUlpsEverywhere() {
        int L = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        SplittableRandom rng = new SplittableRandom(1);
        int n = 200_000 / L * L;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            // dense near the branch points (0.55, the clamp at 10) and spread over ±20
            x[i] = (float) (i % 3 == 0 ? rng.nextDouble(-20, 20) : i % 3 == 1 ? rng.nextDouble(-1, 1) : rng.nextDouble(-0.6, 0.6));
        }
        x[0] = 0f;
        x[1] = -0f;
        x[2] = 0.55f;
        x[3] = Math.nextDown(0.55f);
        x[4] = 10f;
        x[5] = -1e-30f;
        float[] y = x.clone();
        Activation.TANH.applyInPlace(y, 0, n);
        for (int i = 0; i < n; i++) {
            double t = Math.tanh(x[i]);
            assertEquals(t, y[i], 3 * Math.ulp((float) t), "tanh(" + x[i] + ") within 3 float ulps");
        }
        assertEquals(0f, y[0]);
    }

    @Test
    void vectorPathsMatchScalarApplyAndDerivatives() {
        int L = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        SplittableRandom rng = new SplittableRandom(2);
        for (Activation act : Activation.values()) {
            float[] x = new float[8 * L];
            for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextDouble(-4, 4);
            float[] h = x.clone();
            act.applyInPlace(h, 0, h.length);
            float[] g = new float[x.length];
            java.util.Arrays.fill(g, 1f);
            act.backwardInPlace(g, 0, h, 0, g.length);
            for (int i = 0; i < x.length; i++) {
                assertEquals(act.apply(x[i]), h[i], 1e-7, act + " value");
                double d = Math.min(1e-3, Math.abs(x[i]) / 2);  // stays on one side of a kink at 0
                double fd = (exact(act, x[i] + d) - exact(act, x[i] - d)) / (2 * d);
                assertEquals(fd, g[i], 2e-5 + 1e-4 * Math.abs(fd), act + " derivative at " + x[i]);
            }
        }
    }

    private static double exact(Activation a, double x) {
        return switch (a) {
            case RELU -> Math.max(0, x);
            case TANH -> Math.tanh(x);
            case ELU -> x > 0 ? x : Math.expm1(x);
            case SOFTPLUS -> Math.log1p(Math.exp(x));
            case LEAKY_RELU -> x > 0 ? x : 0.01 * x;
        };
    }
}
