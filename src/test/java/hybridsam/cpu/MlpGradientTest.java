package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The corrector's dense kernels and activations: forward against a plain scalar loop, and the
 * weight, bias and input gradients against central differences of Σ w·MLP(x).
 */
class MlpGradientTest {
    private static final int L = DenseKernels.L;

    /** Forward over a chunk with the production kernels; hidden activations returned per layer. */
    private static float[][] forward(MlpShape s, float[] p, float[] x, int C) {
        float[][] acts = new float[s.layers() + 1][];
        acts[0] = x;
        for (int l = 0; l < s.layers(); l++) {
            acts[l + 1] = new float[s.out(l) * C];
            DenseKernels.forward(p, s.weightOffset(l), s.biasOffset(l), s.in(l), s.out(l), acts[l], 0, acts[l + 1], 0, C);
            if (l < s.layers() - 1) s.activation().applyInPlace(acts[l + 1], 0, s.out(l) * C);
        }
        return acts;
    }

    private static double objective(MlpShape s, float[] p, float[] x, float[] w, int C) {
        float[] out = forward(s, p, x, C)[s.layers()];
        double v = 0;
        for (int i = 0; i < out.length; i++) v += (double) out[i] * w[i];
        return v;
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void forwardMatchesScalarLoopAndGradientsMatchFiniteDifferences(Activation act) {
        MlpShape s = new MlpShape(new int[]{3, 9, 5, 2}, act); // widths not multiples of the row block
        int C = 2 * L;
        SplittableRandom rng = new SplittableRandom(act.ordinal() + 1);
        float[] p = new float[s.parameterCount()];
        s.initialize(p, 0, rng);
        float[] x = new float[3 * C], w = new float[2 * C];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) rng.nextGaussian();

        float[][] acts = forward(s, p, x, C);
        for (int c = 0; c < C; c++) {
            double[] a = {x[c], x[C + c], x[2 * C + c]};
            for (int l = 0; l < s.layers(); l++) {
                double[] o = new double[s.out(l)];
                for (int i = 0; i < o.length; i++) {
                    double v = p[s.biasOffset(l) + i];
                    for (int k = 0; k < a.length; k++) v += p[s.weightOffset(l) + i * s.in(l) + k] * a[k];
                    o[i] = l < s.layers() - 1 ? act.apply((float) v) : v;
                }
                a = o;
            }
            for (int i = 0; i < 2; i++) assertEquals(a[i], acts[s.layers()][i * C + c], 1e-5, "output " + i + " sample " + c);
        }

        // backward as OdeChunk does it
        float[] lanes = new float[s.parameterCount() * L];
        float[] g = w.clone();
        float[] gx = null;
        for (int l = s.layers() - 1; l >= 0; l--) {
            DenseKernels.accumulateWeights(g, 0, acts[l], 0, s.in(l), s.out(l), lanes, s.weightOffset(l) * L, lanes, s.biasOffset(l) * L, C);
            float[] gIn = new float[s.in(l) * C];
            DenseKernels.backwardInput(p, s.weightOffset(l), s.in(l), s.out(l), g, 0, gIn, 0, C);
            if (l > 0) act.backwardInPlace(gIn, 0, acts[l], 0, s.in(l) * C);
            g = gIn;
            gx = gIn;
        }
        float[] gp = new float[s.parameterCount()];
        DenseKernels.reduceLanes(lanes, gp.length, gp, 0);

        double h = act == Activation.RELU || act == Activation.LEAKY_RELU ? 1e-4 : 1e-2; // small enough to stay off ReLU kinks
        for (int i = 0; i < gp.length; i++) {
            float[] pp = p.clone(), pm = p.clone();
            pp[i] += (float) h;
            pm[i] -= (float) h;
            double fd = (objective(s, pp, x, w, C) - objective(s, pm, x, w, C)) / ((double) pp[i] - pm[i]);
            assertEquals(fd, gp[i], 3e-3 * Math.max(1, Math.abs(fd)), act + " parameter " + i);
        }
        for (int i = 0; i < x.length; i++) {
            float[] xp = x.clone(), xm = x.clone();
            xp[i] += (float) h;
            xm[i] -= (float) h;
            double fd = (objective(s, p, xp, w, C) - objective(s, p, xm, w, C)) / ((double) xp[i] - xm[i]);
            assertEquals(fd, gx[i], 3e-3 * Math.max(1, Math.abs(fd)), act + " input " + i);
        }
    }
}
