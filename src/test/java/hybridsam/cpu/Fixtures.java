package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.model.Sequences;

import java.util.SplittableRandom;

/** Small random hybrids and data for the CPU tests. */
public final class Fixtures {
    private Fixtures() {
    }

    public static OdeHybrid hybrid(ScientificModel sci, Activation act, int... hidden) {
        int[] w = new int[hidden.length + 2];
        w[0] = sci.stateDim();
        System.arraycopy(hidden, 0, w, 1, hidden.length);
        w[w.length - 1] = sci.stateDim();
        return new OdeHybrid(sci, new MlpShape(w, act), 0.1, 2);
    }

    public static float[] randomParams(OdeHybrid m, int K, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int P = m.parameterCount();
        float[] p = new float[K * P];
        for (int r = 0; r < K; r++) {
            for (int i = 0; i < m.thetaCount(); i++) p[r * P + i] = (float) (rng.nextDouble() - 0.5);
            m.corrector().initialize(p, r * P + m.nnOffset(), rng);
        }
        return p;
    }

    public static Sequences randomSequences(int n, int frames, int dim, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] obs = new float[n * frames * dim];
        for (int i = 0; i < obs.length; i++) obs[i] = (float) (2 * rng.nextDouble() - 1);
        return new Sequences(obs, n, frames, dim);
    }
}
