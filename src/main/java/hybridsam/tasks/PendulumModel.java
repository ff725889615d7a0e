package hybridsam.tasks;

import hybridsam.model.ScientificModel;
import hybridsam.model.ThetaSpec;

import java.util.List;

/** Frictionless pendulum q' = p, p' = −θ sin q with θ = ω0² in [0.1, 4]. */
public final class PendulumModel implements ScientificModel {
    private static final ThetaSpec THETA = ThetaSpec.linear(List.of("omega0_sq"), new double[]{0.1}, new double[]{4.0});

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
        float w = (float) theta[0];
        for (int c = 0; c < C; c++) {
            out[outOff + c] = z[zOff + C + c];
            out[outOff + C + c] = -w * (float) StrictMath.sin(z[zOff + c]);
        }
    }

    @Override
    public void vjp(float[] z, int zOff, int C, double[] theta, float[] g, int gOff,
                    float[] gz, int gzOff, double[] gTheta) {
        float w = (float) theta[0];
        double gw = 0;
        for (int c = 0; c < C; c++) {
            float q = z[zOff + c];
            float gp = g[gOff + C + c];
            gz[gzOff + c] += -w * (float) StrictMath.cos(q) * gp;
            gz[gzOff + C + c] += g[gOff + c];
            gw -= (double) gp * (float) StrictMath.sin(q);
        }
        gTheta[0] += gw;
    }
}
