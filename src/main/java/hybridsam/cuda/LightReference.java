package hybridsam.cuda;

import hybridsam.model.ConvShape;

import java.util.Arrays;

/**
 * The Java reference of the light-tunnel kernels (native-kernels/lighttunnel.cu) and of the whole
 * gradient program ({@link LightTunnelGradient}): plain loops in double, one sample at a time,
 * the network through {@link GridReference}'s convolutions. Used by {@link LightChecks}.
 */
public final class LightReference {
    private LightReference() {
    }

    /** Malus's factor cos²(pol_1 − pol_2), the angles in degrees. */
    static double malus(float pol1, float pol2) {
        double c = Math.cos(((double) pol1 - pol2) * (Math.PI / 180.0));
        return c * c;
    }

    /** The unclipped F2 colour of one sample: c_ch = colourScale_ch · Σ_j S[ch][j] rgb_j · m. */
    static double[] colour(LightHybrid m, double[] S, float[] inputs, int n) {
        int o = n * LightHybrid.INPUTS;
        double mal = malus(inputs[o + 3], inputs[o + 4]);
        double[] c = new double[3];
        for (int ch = 0; ch < 3; ch++) {
            double acc = 0;
            for (int j = 0; j < 3; j++) acc += S[3 * ch + j] * inputs[o + j];
            c[ch] = m.colourScale()[ch] * acc * mal;
        }
        return c;
    }

    /** The network's input of one sample: the F2 image (mask · clip(c)), then the scaled inputs broadcast; [3 + INPUTS][H][W]. */
    static double[] networkInput(LightHybrid m, double[] S, float[] inputs, int n) {
        int HW = m.height() * m.width(), I = LightHybrid.INPUTS;
        double[] c = colour(m, S, inputs, n), x = new double[(3 + I) * HW];
        for (int ch = 0; ch < 3; ch++) {
            double v = Math.min(1, Math.max(0, c[ch]));
            for (int cell = 0; cell < HW; cell++) x[ch * HW + cell] = m.mask()[cell] * v;
        }
        for (int i = 0; i < I; i++) {
            double v = m.inputScale()[i] * inputs[n * I + i] + m.inputShift()[i];
            Arrays.fill(x, (3 + i) * HW, (4 + i) * HW, v);
        }
        return x;
    }

    /**
     * Loss and exact gradient of every replica's minibatch (pixel MSE, weight 1 / (B · 3 · H · W)),
     * θ's part with respect to u. params and grad are K · P; batch is [r][b]; images [n][3][H][W].
     */
    public static double[] lossAndGradient(LightHybrid m, double[] params, float[] inputs, float[] images, int[] batch, int B,
                                           double[] grad) {
        int K = batch.length / B, P = m.parameterCount(), HW = m.height() * m.width(), nT = m.thetaCount();
        ConvShape net = m.net();
        double weight = 1.0 / ((double) B * 3 * HW);
        Arrays.fill(grad, 0);
        double[] loss = new double[K];
        for (int r = 0; r < K; r++) {
            double[] p = Arrays.copyOfRange(params, r * P, (r + 1) * P), g = new double[P];
            double[] S = new double[nT];
            for (int i = 0; i < nT; i++) S[i] = m.theta().toPhysical(i, p[i]);
            double[] gS = new double[nT];
            double sq = 0;
            for (int b = 0; b < B; b++) {
                int n = batch[r * B + b];
                double[] x = networkInput(m, S, inputs, n), fn = new double[3 * HW];
                double[][] xs = GridReference.netForward(net, p, nT, x, fn);
                double[] gOut = new double[3 * HW];
                for (int d = 0; d < 3 * HW; d++) {
                    double res = x[d] + fn[d] - images[n * 3 * HW + d];
                    sq += res * res;
                    gOut[d] = 2 * weight * res;
                }
                double[] gx = GridReference.netBackward(net, p, nT, xs, gOut, g);
                double[] c = colour(m, S, inputs, n);
                int o = n * LightHybrid.INPUTS;
                double mal = malus(inputs[o + 3], inputs[o + 4]);
                for (int ch = 0; ch < 3; ch++) {
                    if (!(c[ch] > 0 && c[ch] < 1)) continue;
                    double G = 0;
                    for (int cell = 0; cell < HW; cell++) G += m.mask()[cell] * (gOut[ch * HW + cell] + gx[ch * HW + cell]);
                    for (int j = 0; j < 3; j++) gS[3 * ch + j] += G * m.colourScale()[ch] * inputs[o + j] * mal;
                }
            }
            for (int i = 0; i < nT; i++) g[i] = gS[i] * m.theta().derivative(i, p[i]);
            System.arraycopy(g, 0, grad, r * P, P);
            loss[r] = sq * weight;
        }
        return loss;
    }
}
