package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.tasks.PendulumModel;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The rollout's second way in (given initial states, every frame's state out, per-frame adjoints
 * in) is the same computation as its observed-sequence path: rolling out from frame 0 and handing
 * back 2·weight·residual as the adjoints gives the same residual sum and gradients, bit for bit.
 */
class OdeRolloutFramesTest {

    @Test
    void givenInitialStatesAndAdjointsReproduceTheObservedPath() {
        OdeHybrid m = Fixtures.hybrid(new PendulumModel(), Activation.TANH, 8, 6);
        int frames = 5, C = DenseKernels.L, D = m.stateDim(), n = C - 3;
        Sequences data = Fixtures.randomSequences(C, frames, D, 2);
        int[] idx = NestedFixtures.range(C);
        float[] p = Fixtures.randomParams(m, 1, 3);
        float weight = 1f / (n * (frames - 1) * D);
        for (boolean keepAll : new boolean[]{true, false}) {
            OdeRollout observed = new OdeRollout(m, frames, C, keepAll);
            double sq = observed.forward(p, 0, data, idx, 0, n, true, true);
            observed.backward(p, 0, weight);

            OdeRollout given = new OdeRollout(m, frames, C, keepAll);
            float[] states = new float[frames * D * C];
            for (int c = 0; c < C; c++) {
                for (int d = 0; d < D; d++) states[d * C + c] = data.at(c < n ? c : 0, 0, d);
            }
            given.forward(p, 0, states, true, true);
            float[] adjoint = new float[(frames - 1) * D * C];
            double sq2 = 0;
            float two = 2f * weight;
            for (int f = 1; f < frames; f++) {
                for (int c = 0; c < C; c++) {
                    for (int d = 0; d < D; d++) {
                        int i = ((f - 1) * D + d) * C + c;
                        float r = c < n ? states[f * D * C + d * C + c] - data.at(c, f, d) : 0f;
                        sq2 += (double) r * r;
                        adjoint[i] = two * r;
                    }
                }
            }
            float[] gz0 = new float[D * C];
            given.backward(p, 0, adjoint, gz0);
            assertEquals(sq, sq2, 0.0, "keepAll " + keepAll);
            assertArrayEquals(observed.gNn, given.gNn, 0f, "keepAll " + keepAll);
            assertArrayEquals(observed.gTheta, given.gTheta, 0.0, "keepAll " + keepAll);
            // padded columns carry no adjoint, so no gradient reaches their initial state
            for (int d = 0; d < D; d++) {
                for (int c = n; c < C; c++) assertEquals(0f, gz0[d * C + c], 0f);
            }
            // the share along the predicted states is the observed path's share at those states
            float[] obs = new float[C * frames * D];
            for (int f = 0; f < frames; f++) {
                for (int c = 0; c < C; c++) {
                    for (int d = 0; d < D; d++) obs[(c * frames + f) * D + d] = states[(f * D + d) * C + c];
                }
            }
            double share = given.networkShareSum(p, 0, states, n);
            assertEquals(observed.networkShareSum(p, 0, new Sequences(obs, C, frames, D), idx, 0, n), share, 0.0);
            assertEquals(true, share > 0 && share < n * frames, "share sum " + share);
        }
    }
}
