package hybridsam.cpu;

import hybridsam.train.Rules;
import hybridsam.train.Method;
import hybridsam.train.RuleConfig;
import hybridsam.train.Gradients;
import hybridsam.cpu.Fixtures;
import hybridsam.model.Activation;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.tasks.DuffingModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** A whole rule step on the CPU engine: where it evaluates gradients, and what it hands Adam. */
class EngineStepTest {
    final OdeHybrid model = Fixtures.hybrid(new DuffingModel(), Activation.TANH, 8, 8);
    final Sequences data = Fixtures.randomSequences(9, 4, 2, 3);
    final int[] batch = {1, 4, 7, 2, 0};

    /** Records the parameters of every gradient evaluation. */
    final class Recorder implements Gradients {
        final CpuOdeBackend inner;
        final List<float[]> points = new ArrayList<>();
        final List<float[]> grads = new ArrayList<>();

        Recorder(CpuOdeBackend inner) {
            this.inner = inner;
        }

        public void lossAndGradient(int K, float[] params, hybridsam.model.Split d, int[] b, int B, float[] g, double[] l) {
            points.add(params.clone());
            inner.lossAndGradient(K, params, d, b, B, g, l);
            grads.add(g.clone());
        }
    }

    private Recorder run(RuleConfig cfg, float[] start, int steps) {
        CpuOdeBackend b = new CpuOdeBackend(model, 2);
        Recorder rec = new Recorder(b);
        try (CpuTrainingEngine e = new CpuTrainingEngine(b, rec, data, new RuleConfig[]{cfg}, start)) {
            for (int s = 0; s < steps; s++) e.step(batch, batch.length);
            rec.points.add(e.state().params());
        }
        return rec;
    }

    private static RuleConfig cfg(Method m, boolean all, boolean clean) {
        return new RuleConfig(m, 0.05, 1, 0.9, 0.01, 1e-3, all, clean, 1e-2, 1e-3, 0, 0);
    }

    @Test
    void samFamilyPerturbsOnlyTheNetworkByRhoAndRestoresItExactly() {
        float[] start = Fixtures.randomParams(model, 1, 9);
        int nTheta = model.thetaCount();
        for (Method m : new Method[]{Method.SAM, Method.FSAM}) {
            Recorder r = run(cfg(m, false, false), start, 3);
            assertEquals(7, r.points.size(), "two gradient evaluations per step");
            for (int s = 0; s < 3; s++) {
                float[] clean = r.points.get(2 * s), perturbed = r.points.get(2 * s + 1);
                for (int i = 0; i < nTheta; i++) assertEquals(clean[i], perturbed[i], m + ": theta must not move");
                float[] eps = new float[clean.length];
                for (int i = nTheta; i < clean.length; i++) eps[i] = perturbed[i] - clean[i];
                assertEquals(0.05, Rules.norm(eps, nTheta, clean.length - nTheta), 1e-4, m + ": |eps| = rho");
            }
        }
    }

    @Test
    void perturbAllMovesThetaToo() {
        float[] start = Fixtures.randomParams(model, 1, 9);
        Recorder r = run(cfg(Method.SAM, true, false), start, 1);
        assertNotEquals(r.points.get(0)[0], r.points.get(1)[0]);
    }

    @Test
    void stepEqualsAdamOnThePerturbedGradientFromTheRestoredWeights() {
        float[] start = Fixtures.randomParams(model, 1, 9);
        for (boolean clean : new boolean[]{false, true}) {
            Recorder r = run(cfg(Method.SAM, false, clean), start, 1);
            float[] g = r.grads.get(1).clone();
            if (clean) System.arraycopy(r.grads.get(0), 0, g, 0, model.thetaCount());
            float[] p = start.clone(), m = new float[p.length], v = new float[p.length];
            Rules.adam(p, g, m, v, 0, model.thetaCount(), 1e-2, 0, 1);
            Rules.adam(p, g, m, v, model.thetaCount(), p.length - model.thetaCount(), 1e-3, 0, 1);
            assertArrayEquals(p, r.points.get(2), "theta-grad " + (clean ? "clean" : "perturbed"));
        }
    }

    @Test
    void ermAndL2TakeOneGradientAndL2AddsThePenaltyOnTheNetworkOnly() {
        float[] start = Fixtures.randomParams(model, 1, 9);
        Recorder erm = run(cfg(Method.ERM, false, false), start, 1);
        Recorder l2 = run(cfg(Method.L2, false, false), start, 1);
        assertEquals(2, erm.points.size());
        float[] pe = erm.points.get(1), pl = l2.points.get(1);
        // θ gets the same gradient under both rules; φ differs by the penalty
        for (int i = 0; i < model.thetaCount(); i++) assertEquals(pe[i], pl[i]);
        boolean differs = false;
        for (int i = model.thetaCount(); i < pe.length; i++) differs |= pe[i] != pl[i];
        assertFalse(!differs, "the l2 penalty must change the network's step");
    }

    @Test
    void resultsDoNotDependOnTheThreadCountAndReplicasMatchSeparateRuns() {
        float[] start = Fixtures.randomParams(model, 2, 4);
        int P = model.parameterCount();
        RuleConfig c = cfg(Method.FSAM, false, false);
        float[][] finals = new float[3][];
        int[] threads = {1, 2, 3};
        for (int t = 0; t < 3; t++) {
            try (CpuTrainingEngine e = new CpuTrainingEngine(new CpuOdeBackend(model, threads[t]), data, new RuleConfig[]{c, c}, start)) {
                int[] b2 = {1, 4, 7, 2, 0, 3, 3, 8, 5, 6};
                for (int s = 0; s < 3; s++) e.step(b2, 5);
                finals[t] = e.state().params();
            }
        }
        assertArrayEquals(finals[0], finals[1]);
        assertArrayEquals(finals[0], finals[2]);
        // replica 1 alone, with its own batch, equals replica 1 of the pair bit for bit
        float[] alone = java.util.Arrays.copyOfRange(start, P, 2 * P);
        try (CpuTrainingEngine e = new CpuTrainingEngine(new CpuOdeBackend(model, 2), data, new RuleConfig[]{c}, alone)) {
            for (int s = 0; s < 3; s++) e.step(new int[]{3, 3, 8, 5, 6}, 5);
            assertArrayEquals(java.util.Arrays.copyOfRange(finals[0], P, 2 * P), e.state().params());
        }
    }
}
