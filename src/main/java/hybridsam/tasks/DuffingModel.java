package hybridsam.tasks;

import hybridsam.model.ScientificModel;
import hybridsam.model.ThetaSpec;

import java.util.List;

/** Undamped Duffing oscillator x' = v, v' = −α x − β x³; θ = (α, β), each in [0.1, 5]. */
public final class DuffingModel implements ScientificModel {
    private static final ThetaSpec THETA = ThetaSpec.linear(List.of("alpha", "beta"),
            new double[]{0.1, 0.1}, new double[]{5.0, 5.0});

    @Override
    public int stateDim() {
        return 2;
    }

    @Override
    public ThetaSpec theta() {
        return THETA;
    }

    @Override
    public void field(float[] z, int zOff, int C, double[] theta, float[] out, int outOff) {
        float a = (float) theta[0], b = (float) theta[1];
        for (int c = 0; c < C; c++) {
            float x = z[zOff + c];
            out[outOff + c] = z[zOff + C + c];
            out[outOff + C + c] = -a * x - b * x * x * x;
        }
    }

    @Override
    public void vjp(float[] z, int zOff, int C, double[] theta, float[] g, int gOff,
                    float[] gz, int gzOff, double[] gTheta) {
        float a = (float) theta[0], b = (float) theta[1];
        double ga = 0, gb = 0;
        for (int c = 0; c < C; c++) {
            float x = z[zOff + c];
            float gv = g[gOff + C + c];
            gz[gzOff + c] += (-a - 3f * b * x * x) * gv;
            gz[gzOff + C + c] += g[gOff + c];
            ga -= (double) gv * x;
            gb -= (double) gv * x * x * x;
        }
        gTheta[0] += ga;
        gTheta[1] += gb;
    }
}
