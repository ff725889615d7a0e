package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.tasks.DuffingModel;
import hybridsam.tasks.PendulumModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Finite-difference checks of the gradient of a whole integrated, backpropagated trajectory. */
class TrajectoryGradientTest {

    private static double loss(CpuOdeBackend b, float[] p, Sequences data, int[] batch) {
        float[] g = new float[p.length];
        double[] l = new double[1];
        b.lossAndGradient(1, p, data, batch, batch.length, g, l);
        return l[0];
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void gradientMatchesCentralDifferences(Activation act) {
        for (var sci : new hybridsam.model.ScientificModel[]{new PendulumModel(), new DuffingModel()}) {
            OdeHybrid m = Fixtures.hybrid(sci, act, 8, 6);
            Sequences data = Fixtures.randomSequences(7, 4, 2, 11);
            int[] batch = {3, 0, 6, 2, 5};   // 5 samples: not a multiple of the vector length
            float[] p = Fixtures.randomParams(m, 1, 5);
            try (CpuOdeBackend b = new CpuOdeBackend(m, 2)) {
                float[] g = new float[p.length];
                double[] l = new double[1];
                b.lossAndGradient(1, p, data, batch, batch.length, g, l);
                SplittableRandom rng = new SplittableRandom(3);
                // every θ component, then random single weights and random directions
                for (int trial = 0; trial < m.thetaCount() + 12; trial++) {
                    float[] dir = new float[p.length];
                    if (trial < m.thetaCount()) {
                        dir[trial] = 1;
                    } else if (trial < m.thetaCount() + 6) {
                        dir[m.nnOffset() + rng.nextInt(m.corrector().parameterCount())] = 1;
                    } else {
                        for (int i = 0; i < dir.length; i++) dir[i] = (float) rng.nextGaussian();
                    }
                    // ReLU's kinks: a smaller step keeps the difference on one linear piece
                    double eps = act == Activation.RELU || act == Activation.LEAKY_RELU ? 1e-4 : 1e-2;
                    float[] plus = p.clone(), minus = p.clone();
                    for (int i = 0; i < p.length; i++) {
                        plus[i] += (float) (eps * dir[i]);
                        minus[i] -= (float) (eps * dir[i]);
                    }
                    double fd = (loss(b, plus, data, batch) - loss(b, minus, data, batch)) / (2 * eps);
                    double an = 0;
                    for (int i = 0; i < p.length; i++) an += (double) g[i] * dir[i];
                    assertEquals(fd, an, 2e-3 * Math.max(1, Math.abs(fd)) + 5e-3 * Math.abs(fd),
                            sci.getClass().getSimpleName() + " " + act + " trial " + trial);
                }
                assertTrue(l[0] > 0);
            }
        }
    }
}
