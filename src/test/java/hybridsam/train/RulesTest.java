package hybridsam.train;

import hybridsam.io.ConfigException;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The invariants of each rule's perturbation, clipping, and Adam against hand-computed steps. */
class RulesTest {
    static RuleConfig rule(Method m, double rho) {
        return new RuleConfig(m, rho, 1.0, 0.9, 0.01, 1e-3, false, false, 1e-2, 1e-3, 5, 0);
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    @Test
    void samPerturbationHasNormRhoAlongTheGradient() {
        float[] g = random(50, 1), p = random(50, 2), eps = new float[50];
        Rules.perturbation(rule(Method.SAM, 0.07), g, p, new float[50], false, 3, 40, eps);
        assertEquals(0.07, Rules.norm(eps, 3, 40), 1e-6);
        double gn = Rules.norm(g, 3, 40);
        for (int i = 3; i < 43; i++) assertEquals(0.07 * g[i] / gn, eps[i], 1e-7);
        for (int i = 0; i < 3; i++) assertEquals(0f, eps[i], "outside the segment stays untouched");
    }

    @Test
    void asamPerturbationIsRhoInTheRescaledNorm() {
        float[] g = random(30, 3), p = random(30, 4), eps = new float[30];
        Rules.perturbation(rule(Method.ASAM, 0.5), g, p, new float[30], false, 0, 30, eps);
        // ‖T⁻¹ ε‖ = ρ with T = |φ| + η
        double s = 0;
        for (int i = 0; i < 30; i++) {
            double t = Math.abs(p[i]) + 0.01;
            s += (eps[i] / t) * (eps[i] / t);
        }
        assertEquals(0.5, Math.sqrt(s), 1e-5);
    }

    @Test
    void fsamUsesThePreviousAverageThenUpdatesItWithTheRawGradient() {
        int n = 20;
        float[] g1 = random(n, 5), g2 = random(n, 6), p = random(n, 7);
        float[] avg = new float[n], eps = new float[n];
        RuleConfig cfg = new RuleConfig(Method.FSAM, 0.05, 0.6, 0.8, 0.01, 0, false, false, 1e-2, 1e-3, 5, 0);
        // first step: plain SAM, and the average starts at g1
        Rules.perturbation(cfg, g1, p, avg, true, 0, n, eps);
        assertArrayEquals(g1, avg);
        double n1 = Rules.norm(g1, 0, n);
        for (int i = 0; i < n; i++) assertEquals(0.05 * g1[i] / n1, eps[i], 1e-7);
        // second step: d = g2 - σ m1 (previous average), then m2 = λ m1 + (1-λ) g2
        Rules.perturbation(cfg, g2, p, avg, false, 0, n, eps);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = g2[i] - 0.6f * g1[i];
        double dn = Rules.norm(d, 0, n);
        for (int i = 0; i < n; i++) {
            assertEquals(0.05 * d[i] / dn, eps[i], 1e-7, "d must use the previous average");
            assertEquals(0.8f * g1[i] + 0.2f * g2[i], avg[i], 1e-6, "average takes the raw gradient");
        }
        assertEquals(0.05, Rules.norm(eps, 0, n), 1e-6);
    }

    @Test
    void clipScalesOnlyAboveTheLimit() {
        float[] g = {3, 4};
        Rules.clip(g, 0, 2, 10);
        assertArrayEquals(new float[]{3, 4}, g);
        Rules.clip(g, 0, 2, 1);
        assertEquals(1.0, Rules.norm(g, 0, 2), 1e-6);
        assertEquals(0.6f, g[0], 1e-6);
        float[] h = {3, 4};
        Rules.clip(h, 0, 2, 0);
        assertArrayEquals(new float[]{3, 4}, h, "0 turns clipping off");
    }

    @Test
    void adamMatchesHandComputedSteps() {
        float[] p = {1.0f, -2.0f}, m = new float[2], v = new float[2];
        // step 1 with g = (0.5, -1): m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², update = lr · g/(|g| + 1e-8)
        Rules.adam(p, new float[]{0.5f, -1f}, m, v, 0, 2, 0.1, 0, 1);
        assertEquals(1.0 - 0.1 * 0.5 / (0.5 + 1e-8), p[0], 1e-6);
        assertEquals(-2.0 + 0.1 * 1 / (1 + 1e-8), p[1], 1e-6);
        assertEquals(0.05f, m[0], 1e-7);
        assertEquals(0.00025f, v[0], 1e-9);
        // step 2 with g = (0.1, 0.2)
        double m0 = 0.9 * 0.05 + 0.1 * 0.1, v0 = 0.999 * 0.00025 + 0.001 * 0.01;
        double mh = m0 / (1 - 0.81), vh = v0 / (1 - 0.999 * 0.999);
        double expected = p[0] - 0.1 * mh / (Math.sqrt(vh) + 1e-8);
        Rules.adam(p, new float[]{0.1f, 0.2f}, m, v, 0, 2, 0.1, 0, 2);
        assertEquals(expected, p[0], 1e-6);
        // decoupled weight decay: p ← p (1 - lr·wd) before the update; with g = 0 only the decay acts
        float[] q = {2f}, mq = new float[1], vq = new float[1];
        Rules.adam(q, new float[]{0f}, mq, vq, 0, 1, 0.1, 0.5, 1);
        assertEquals(2f * 0.95f, q[0], 1e-6);
    }

    @Test
    void outOfRangeHyperparametersAreRefusedNamingTheOption() {
        for (double bad : new double[]{-0.1, Double.NaN, Double.POSITIVE_INFINITY}) {
            ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                    () -> new RuleConfig(Method.SAM, bad, 1, 0.9, 0.01, 0, false, false, 1e-2, 1e-3, 5, 0));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith("--rho"), e.getMessage());
        }
        org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> new RuleConfig(Method.FSAM, 0.05, 1, 1.0, 0.01, 0, false, false, 1e-2, 1e-3, 5, 0));
        org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> new RuleConfig(Method.FSAM, 0.05, 1, 0.9, 0.01, 0, false, false, 0, 1e-3, 5, 0));
    }
}
