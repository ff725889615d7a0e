package hybridsam.cuda;

import hybridsam.model.MlpShape;

/**
 * The Java reference of the wind-tunnel loss ({@link WindHybrid}, native-kernels/wind.cu), in
 * double: both fans' RK4 rollout with the loads held per interval, the pressure readouts, the
 * per-channel scaled loss. The device gradient is checked against finite differences of the
 * device loss, and the loss against this.
 */
public final class WindReference {
    private WindReference() {
    }

    static double mlp(MlpShape m, double[] p, int off, double[] x) {
        double[] a = x;
        for (int l = 0; l < m.layers(); l++) {
            int nin = m.in(l), nout = m.out(l), w = off + m.weightOffset(l), b = off + m.biasOffset(l);
            double[] o = new double[nout];
            for (int k = 0; k < nout; k++) {
                double s = p[b + k];
                for (int i = 0; i < nin; i++) s += p[w + k * nin + i] * a[i];
                o[k] = l < m.layers() - 1 ? GridReference.act(m.activation(), s) : s;
            }
            a = o;
        }
        return a[0];
    }

    static double loadFactor(WindHybrid.Constants c, double L) {
        if (L == 0) return 0;
        double l = Math.max(c.loadMin(), L);
        return l * l * l * c.cRange();
    }

    /** Each replica's minibatch loss (the mean over its sequences batch[r·B ..]). */
    public static double[] loss(WindHybrid m, double[] params, WindHybrid.Samples d, int[] batch, int B) {
        int K = batch.length / B, P = m.parameterCount(), T = d.frames(), SUB = m.substeps();
        WindHybrid.Constants c = m.constants();
        double[] loss = new double[K];
        for (int r = 0; r < K; r++) {
            int base = r * P;
            double thT = m.theta().toPhysical(0, params[base]), thK = m.theta().toPhysical(1, params[base + 1]);
            double total = 0;
            for (int bi = 0; bi < B; bi++) {
                int s = batch[r * B + bi];
                double[] z = {d.obs()[s * T * 3], d.obs()[s * T * 3 + 1]};
                double sqW = 0, sqP = 0;
                for (int f = 0; f < T; f++) {
                    if (f > 0) {
                        int fi = f - 1;
                        double h = ((double) d.times()[s * T + f] - d.times()[s * T + fi]) / SUB;
                        double[] g = {loadFactor(c, d.inputs()[(s * T + fi) * 3]), loadFactor(c, d.inputs()[(s * T + fi) * 3 + 1])};
                        for (int st = 0; st < SUB; st++) {
                            double[][] k = new double[4][2];
                            for (int j = 0; j < 4; j++) {
                                for (int e = 0; e < 2; e++) {
                                    double y = j == 0 ? z[e] : z[e] + (j == 3 ? h : h / 2) * k[j - 1][e];
                                    double net = mlp(m.fan(), params, base + m.fanOffset(),
                                            new double[]{y / c.omegaMax(), d.inputs()[(s * T + fi) * 3 + e]});
                                    k[j][e] = thT * g[e] - thK * y * y + c.fanScale() * net;
                                }
                            }
                            for (int e = 0; e < 2; e++) z[e] += h / 6 * (k[0][e] + 2 * k[1][e] + 2 * k[2][e] + k[3][e]);
                        }
                        for (int e = 0; e < 2; e++) {
                            double res = (z[e] - d.obs()[(s * T + f) * 3 + e]) / c.omegaMax();
                            sqW += res * res;
                        }
                    }
                    double a = z[0] / c.omegaMax(), b = z[1] / c.omegaMax();
                    double pr = c.sMax() * (a * a - b * b) + c.pressureScale() * mlp(m.pressure(), params, base + m.pressureOffset(),
                            new double[]{a, b, d.inputs()[(s * T + f) * 3 + 2] / c.hatchMax()});
                    double res = (pr - d.obs()[(s * T + f) * 3 + 2]) / c.sMax();
                    sqP += res * res;
                }
                total += (sqW / (T - 1) + sqP / T) / 3;
            }
            loss[r] = total / B;
        }
        return loss;
    }
}
