package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.model.Sequences;
import hybridsam.model.ThetaSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** RK4's global error falls as h⁴ on x'' = -ω² x, whose solution is known in closed form. */
class Rk4OrderTest {

    /** Harmonic oscillator x' = v, v' = -θ x. */
    static final class Oscillator implements ScientificModel {
        public int stateDim() {
            return 2;
        }

        public ThetaSpec theta() {
            return ThetaSpec.linear(List.of("omega_sq"), new double[]{0.1}, new double[]{4});
        }

        public void field(float[] z, int zOff, int C, double[] theta, float[] out, int outOff) {
            for (int c = 0; c < C; c++) {
                out[outOff + c] = z[zOff + C + c];
                out[outOff + C + c] = (float) (-theta[0] * z[zOff + c]);
            }
        }

        public void vjp(float[] z, int zOff, int C, double[] theta, float[] g, int gOff, float[] gz, int gzOff, double[] gTheta) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void globalErrorFallsAtFourthOrder() {
        double omega = 1.5, frameDt = 0.8;
        int frames = 6, n = 3;
        float[] obs = new float[n * frames * 2];
        for (int s = 0; s < n; s++) {
            double x0 = 1 + 0.3 * s, v0 = -0.5 * s;
            for (int t = 0; t < frames; t++) {
                double tt = t * frameDt;
                obs[(s * frames + t) * 2] = (float) (x0 * Math.cos(omega * tt) + v0 / omega * Math.sin(omega * tt));
                obs[(s * frames + t) * 2 + 1] = (float) (-x0 * omega * Math.sin(omega * tt) + v0 * Math.cos(omega * tt));
            }
        }
        Sequences data = new Sequences(obs, n, frames, 2);
        Oscillator osc = new Oscillator();
        double[] err = new double[4];
        for (int i = 0; i < err.length; i++) {
            int spf = 1 << i;
            OdeHybrid m = new OdeHybrid(osc, new MlpShape(new int[]{2, 4, 2}, Activation.TANH), frameDt / spf, spf);
            float[] p = new float[m.parameterCount()];
            p[0] = (float) osc.theta().toUnconstrained(0, omega * omega);
            try (CpuOdeBackend b = new CpuOdeBackend(m, 1)) {
                // the scientific model alone: RK4 on the exact oscillator
                err[i] = Math.sqrt(b.meanSquaredError(p, 0, data, false));
            }
        }
        // u is stored in float, so θ differs from ω² by ~1e-7: far below the errors compared here
        for (int i = 0; i + 1 < err.length; i++) {
            double order = Math.log(err[i] / err[i + 1]) / Math.log(2);
            assertTrue(order > 3.6 && order < 4.6, "observed order " + order + " between h=" + frameDt / (1 << i)
                    + " and h/2 (errors " + java.util.Arrays.toString(err) + ")");
        }
    }
}
