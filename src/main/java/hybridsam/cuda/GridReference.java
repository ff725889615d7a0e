package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.model.ConvShape;
import hybridsam.model.Sequences;

/**
 * The Java reference of the grid kernels (native-kernels/conv.cu, gridode.cu) and of the whole
 * convolutional gradient program ({@link ConvOdeGradient}): plain scalar loops in double over the
 * kernels' own layouts (activations [n][K][C][H][W], padded inputs [n][K][C][H+2][W+2], weights
 * [out][in][3][3] then b[out] per replica at a stride in the flat parameter vector). Adjoints are
 * written as the literal transposes of their forward loops (each forward read becomes a scattered
 * add), not through any symmetry the kernels exploit, so a comparison tests the kernels' algebra
 * as well as their code. Used by {@link ConvChecks} and by finite-difference tests.
 */
public final class GridReference {
    private GridReference() {
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    /** x [planes][H][W] padded by one cell on every side, edge-replicate. */
    public static double[] pad(double[] x, int planes, int H, int W) {
        int PW = W + 2, PHW = (H + 2) * PW;
        double[] xp = new double[planes * PHW];
        for (int p = 0; p < planes; p++) {
            for (int py = 0; py < H + 2; py++) {
                for (int px = 0; px < PW; px++) {
                    xp[p * PHW + py * PW + px] = x[p * H * W + clamp(py - 1, 0, H - 1) * W + clamp(px - 1, 0, W - 1)];
                }
            }
        }
        return xp;
    }

    /** The transpose of {@link #pad}: every padded cell's gradient added onto the cell it copies. */
    public static double[] padAdjoint(double[] gp, int planes, int H, int W) {
        int PW = W + 2, PHW = (H + 2) * PW;
        double[] g = new double[planes * H * W];
        for (int p = 0; p < planes; p++) {
            for (int py = 0; py < H + 2; py++) {
                for (int px = 0; px < PW; px++) g[padAdjointTarget(p, py, px, H, W)] += gp[p * PHW + py * PW + px];
            }
        }
        return g;
    }

    /**
     * {@link #padAdjoint} in float, each cell's terms added in the same order (padded rows, then
     * columns, ascending) as hs_pad_replicate_adjoint adds them: its exact result. An edge cell sums
     * up to 9 terms, whose float rounding a double reference cannot be held to at 1e-7.
     */
    public static float[] padAdjoint(float[] gp, int planes, int H, int W) {
        int PW = W + 2, PHW = (H + 2) * PW;
        float[] g = new float[planes * H * W];
        for (int p = 0; p < planes; p++) {
            for (int py = 0; py < H + 2; py++) {
                for (int px = 0; px < PW; px++) g[padAdjointTarget(p, py, px, H, W)] += gp[p * PHW + py * PW + px];
            }
        }
        return g;
    }

    /** The grid cell that padded value (py, px) of plane p replicates. */
    private static int padAdjointTarget(int p, int py, int px, int H, int W) {
        return p * H * W + clamp(py - 1, 0, H - 1) * W + clamp(px - 1, 0, W - 1);
    }

    /** Replica r's weight W[o][i][ky][kx] at p[wOff + r·stride + ((o·in + i)·3 + ky)·3 + kx], its bias at bOff + r·stride + o. */
    public static double[] convForward(int K, int n, int in, int out, int H, int W, double[] p, int wOff, int bOff, int stride,
                                       double[] xp) {
        int PW = W + 2, PHW = (H + 2) * PW, HW = H * W;
        double[] y = new double[n * K * out * HW];
        for (int s = 0; s < n; s++) {
            for (int r = 0; r < K; r++) {
                int z = s * K + r;
                for (int o = 0; o < out; o++) {
                    for (int cy = 0; cy < H; cy++) {
                        for (int cx = 0; cx < W; cx++) {
                            double a = p[bOff + r * stride + o];
                            for (int i = 0; i < in; i++) {
                                for (int ky = 0; ky < 3; ky++) {
                                    for (int kx = 0; kx < 3; kx++) {
                                        a += p[wOff + r * stride + ((o * in + i) * 3 + ky) * 3 + kx]
                                                * xp[(z * in + i) * PHW + (cy + ky) * PW + cx + kx];
                                    }
                                }
                            }
                            y[(z * out + o) * HW + cy * W + cx] = a;
                        }
                    }
                }
            }
        }
        return y;
    }

    /** The transpose of {@link #convForward} in its input: dxp (padded, border included). */
    public static double[] convBackwardData(int K, int n, int in, int out, int H, int W, double[] p, int wOff, int stride,
                                           double[] dy) {
        int PW = W + 2, PHW = (H + 2) * PW, HW = H * W;
        double[] dxp = new double[n * K * in * PHW];
        for (int s = 0; s < n; s++) {
            for (int r = 0; r < K; r++) {
                int z = s * K + r;
                for (int o = 0; o < out; o++) {
                    for (int cy = 0; cy < H; cy++) {
                        for (int cx = 0; cx < W; cx++) {
                            double d = dy[(z * out + o) * HW + cy * W + cx];
                            for (int i = 0; i < in; i++) {
                                for (int ky = 0; ky < 3; ky++) {
                                    for (int kx = 0; kx < 3; kx++) {
                                        dxp[(z * in + i) * PHW + (cy + ky) * PW + cx + kx]
                                                += p[wOff + r * stride + ((o * in + i) * 3 + ky) * 3 + kx] * d;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dxp;
    }

    /** The transpose of {@link #convForward} in its weights and biases, added to g (same layout as p). */
    public static void convBackwardFilter(int K, int n, int in, int out, int H, int W, double[] dy, double[] xp, double[] g,
                                          int wOff, int bOff, int stride) {
        int PW = W + 2, PHW = (H + 2) * PW, HW = H * W;
        for (int s = 0; s < n; s++) {
            for (int r = 0; r < K; r++) {
                int z = s * K + r;
                for (int o = 0; o < out; o++) {
                    for (int cy = 0; cy < H; cy++) {
                        for (int cx = 0; cx < W; cx++) {
                            double d = dy[(z * out + o) * HW + cy * W + cx];
                            g[bOff + r * stride + o] += d;
                            for (int i = 0; i < in; i++) {
                                for (int ky = 0; ky < 3; ky++) {
                                    for (int kx = 0; kx < 3; kx++) {
                                        g[wOff + r * stride + ((o * in + i) * 3 + ky) * 3 + kx]
                                                += d * xp[(z * in + i) * PHW + (cy + ky) * PW + cx + kx];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** The activation in double (the reference of hs_act). */
    public static double act(Activation a, double x) {
        switch (a) {
            case RELU: return Math.max(x, 0);
            case TANH: return Math.tanh(x);
            case ELU: return x > 0 ? x : Math.expm1(x);
            case LEAKY_RELU: return x > 0 ? x : Activation.LEAKY_SLOPE * x;
            default: return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
        }
    }

    /** Its derivative through the output h = act(x) (the reference of hs_act_grad). */
    public static double actGrad(Activation a, double h) {
        switch (a) {
            case RELU: return h > 0 ? 1 : 0;
            case TANH: return 1 - h * h;
            case ELU: return h > 0 ? 1 : h + 1;
            case LEAKY_RELU: return h > 0 ? 1 : Activation.LEAKY_SLOPE;
            default: return -Math.expm1(-h);
        }
    }

    /**
     * f[s][r][c] = θ[r][c] · Δ z[s][r][c]: the five-point Laplacian times inv = 1/dx², a neighbour
     * outside the grid taking the edge value. theta holds K × C physical values.
     */
    public static double[] diffusionField(int K, int n, int C, int H, int W, double inv, double[] theta, double[] z) {
        int HW = H * W;
        double[] f = new double[z.length];
        for (int s = 0; s < n; s++) {
            for (int r = 0; r < K; r++) {
                for (int c = 0; c < C; c++) {
                    int base = ((s * K + r) * C + c) * HW;
                    for (int y = 0; y < H; y++) {
                        for (int x = 0; x < W; x++) {
                            double lap = z[base + clamp(y - 1, 0, H - 1) * W + x] + z[base + clamp(y + 1, 0, H - 1) * W + x]
                                    + z[base + y * W + clamp(x - 1, 0, W - 1)] + z[base + y * W + clamp(x + 1, 0, W - 1)]
                                    - 4 * z[base + y * W + x];
                            f[base + y * W + x] = theta[r * C + c] * lap * inv;
                        }
                    }
                }
            }
        }
        return f;
    }

    /**
     * The transpose of {@link #diffusionField}: gz += (∂f/∂z)ᵀ g, each of the five stencil reads
     * scattered back onto the cell it read, and gTheta[r·C + c] += Σ g · Δz (both accumulated).
     */
    public static void diffusionVjp(int K, int n, int C, int H, int W, double inv, double[] theta, double[] z, double[] g,
                                    double[] gz, double[] gTheta) {
        int HW = H * W;
        double[] lap = diffusionField(K, n, C, H, W, inv, onesLike(K * C), z);
        for (int s = 0; s < n; s++) {
            for (int r = 0; r < K; r++) {
                for (int c = 0; c < C; c++) {
                    int base = ((s * K + r) * C + c) * HW;
                    double t = theta[r * C + c] * inv;
                    for (int y = 0; y < H; y++) {
                        for (int x = 0; x < W; x++) {
                            double gv = g[base + y * W + x];
                            gz[base + clamp(y - 1, 0, H - 1) * W + x] += t * gv;
                            gz[base + clamp(y + 1, 0, H - 1) * W + x] += t * gv;
                            gz[base + y * W + clamp(x - 1, 0, W - 1)] += t * gv;
                            gz[base + y * W + clamp(x + 1, 0, W - 1)] += t * gv;
                            gz[base + y * W + x] -= 4 * t * gv;
                            gTheta[r * C + c] += gv * lap[base + y * W + x];
                        }
                    }
                }
            }
        }
    }

    private static double[] onesLike(int n) {
        double[] o = new double[n];
        java.util.Arrays.fill(o, 1);
        return o;
    }

    /** The corrector on one state (n = K = 1), keeping each layer's input: xs[0] = y, xs[l] = layer l's input (post-activation). */
    static double[][] netForward(ConvShape net, double[] p, int nnOff, double[] y, double[] out) {
        int L = net.layers(), H = net.height(), W = net.width();
        double[][] xs = new double[L][];
        xs[0] = y;
        for (int l = 0; l < L; l++) {
            double[] a = convForward(1, 1, net.in(l), net.out(l), H, W, p, nnOff + net.weightOffset(l), nnOff + net.biasOffset(l), 0,
                    pad(xs[l], net.in(l), H, W));
            if (l < L - 1) {
                for (int i = 0; i < a.length; i++) a[i] = act(net.activation(), a[i]);
                xs[l + 1] = a;
            } else {
                System.arraycopy(a, 0, out, 0, a.length);
            }
        }
        return xs;
    }

    /** The corrector's reverse pass: parameter gradients added to g at nnOff, returns (∂net/∂y)ᵀ gOut. */
    static double[] netBackward(ConvShape net, double[] p, int nnOff, double[][] xs, double[] gOut, double[] g) {
        int H = net.height(), W = net.width();
        double[] d = gOut;
        for (int l = net.layers() - 1; l >= 0; l--) {
            int in = net.in(l), out = net.out(l);
            convBackwardFilter(1, 1, in, out, H, W, d, pad(xs[l], in, H, W), g, nnOff + net.weightOffset(l), nnOff + net.biasOffset(l), 0);
            double[] dx = padAdjoint(convBackwardData(1, 1, in, out, H, W, p, nnOff + net.weightOffset(l), 0, d), in, H, W);
            if (l > 0) for (int i = 0; i < dx.length; i++) dx[i] *= actGrad(net.activation(), xs[l][i]);
            d = dx;
        }
        return d;
    }

    /**
     * Loss and exact gradient of every replica's minibatch, as {@link ConvOdeGradient} computes them:
     * RK4 from each sample's first frame, loss = weight · Σ (z − obs)² over the predicted frames with
     * weight = 1 / (B · (frames − 1) · D), the gradient by reverse-mode through every stage, θ's part
     * with respect to u (ThetaSpec.derivative). params and grad are K · P; batch is [r][b].
     */
    public static double[] lossAndGradient(GridHybrid m, double[] params, Sequences data, int[] batch, int B, double[] grad) {
        int K = batch.length / B, P = m.parameterCount(), D = m.stateDim(), C = m.channels(), H = m.height(), W = m.width();
        int frames = data.frames(), spf = m.stepsPerFrame(), steps = (frames - 1) * spf, nn = m.thetaCount();
        double h = m.h(), inv = 1.0 / (m.dx() * m.dx()), weight = 1.0 / ((double) B * (frames - 1) * D);
        double[] a = {0, h / 2, h / 2, h}, c = {h / 6, h / 3, h / 3, h / 6};
        java.util.Arrays.fill(grad, 0);
        double[] loss = new double[K];
        for (int r = 0; r < K; r++) {
            double[] p = java.util.Arrays.copyOfRange(params, r * P, (r + 1) * P), g = new double[P];
            double[] theta = new double[C];
            for (int i = 0; i < C; i++) theta[i] = m.theta().toPhysical(i, p[i]);
            double[] gTheta = new double[C];
            double sq = 0;
            for (int b = 0; b < B; b++) {
                int seq = batch[r * B + b];
                double[] z = new double[D];
                for (int d = 0; d < D; d++) z[d] = data.at(seq, 0, d);
                double[][] ys = new double[steps * 4][];
                double[][][] xs = new double[steps * 4][][];
                double[][] resid = new double[frames][];
                double[][] k = new double[4][];
                for (int st = 0; st < steps; st++) {
                    for (int j = 0; j < 4; j++) {
                        double[] y = z.clone();
                        if (j > 0) for (int d = 0; d < D; d++) y[d] += a[j] * k[j - 1][d];
                        double[] fn = new double[D];
                        xs[st * 4 + j] = netForward(m.net(), p, nn, y, fn);
                        ys[st * 4 + j] = y;
                        k[j] = diffusionField(1, 1, C, H, W, inv, theta, y);
                        for (int d = 0; d < D; d++) k[j][d] += fn[d];
                    }
                    for (int d = 0; d < D; d++) z[d] += h / 6 * (k[0][d] + 2 * k[1][d] + 2 * k[2][d] + k[3][d]);
                    if ((st + 1) % spf == 0) {
                        int f = (st + 1) / spf;
                        double[] res = new double[D];
                        for (int d = 0; d < D; d++) {
                            res[d] = z[d] - data.at(seq, f, d);
                            sq += res[d] * res[d];
                        }
                        resid[f] = res;
                    }
                }
                double[] gz = new double[D];
                double[][] gk = new double[4][D];
                for (int st = steps - 1; st >= 0; st--) {
                    if ((st + 1) % spf == 0) {
                        double[] res = resid[(st + 1) / spf];
                        for (int d = 0; d < D; d++) gz[d] += 2 * weight * res[d];
                    }
                    for (int j = 0; j < 4; j++) for (int d = 0; d < D; d++) gk[j][d] = c[j] * gz[d];
                    for (int j = 3; j >= 0; j--) {
                        double[] gy = netBackward(m.net(), p, nn, xs[st * 4 + j], gk[j], g);
                        diffusionVjp(1, 1, C, H, W, inv, theta, ys[st * 4 + j], gk[j], gy, gTheta);
                        for (int d = 0; d < D; d++) {
                            gz[d] += gy[d];
                            if (j > 0) gk[j - 1][d] += a[j] * gy[d];
                        }
                    }
                }
            }
            for (int i = 0; i < C; i++) g[i] = gTheta[i] * m.theta().derivative(i, p[i]);
            System.arraycopy(g, 0, grad, r * P, P);
            loss[r] = sq * weight;
        }
        return loss;
    }
}
