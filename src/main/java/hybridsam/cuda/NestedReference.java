package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.model.ImageSequences;
import hybridsam.model.MlpShape;
import hybridsam.model.NestedHybrid;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ThetaSpec;
import hybridsam.tasks.PendulumModel;

import java.util.Arrays;

/**
 * The Java reference of the nested hybrid's kernels (native-kernels/nested.cu) and of the whole
 * gradient program ({@link NestedGradient}): plain loops in double, one sample at a time. The
 * encoder reads the first encoderFrames frames, RK4 (science + MLP corrector) rolls the state out
 * from its output, the decoder + sigmoid renders every frame; the loss is the pixel MSE over all
 * frames (weight 1 / (B · T · H · W)). Used by {@link NestedChecks}.
 */
public final class NestedReference {
    private NestedReference() {
    }

    static double act(Activation a, double x) {
        switch (a) {
            case RELU: return x > 0 ? x : 0;
            case TANH: return Math.tanh(x);
            case ELU: return x > 0 ? x : Math.expm1(x);
            case LEAKY_RELU: return x > 0 ? x : Activation.LEAKY_SLOPE * x;
            default: return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
        }
    }

    static double actGrad(Activation a, double h) {
        switch (a) {
            case RELU: return h > 0 ? 1 : 0;
            case TANH: return 1 - h * h;
            case ELU: return h > 0 ? 1 : h + 1;
            case LEAKY_RELU: return h > 0 ? 1 : Activation.LEAKY_SLOPE;
            default: return -Math.expm1(-h);
        }
    }

    /** Every layer's input and the output: acts[0] = x, acts[l + 1] = layer l's output (activated unless last). */
    static double[][] mlpForward(MlpShape s, double[] p, int off, double[] x) {
        int L = s.layers();
        double[][] acts = new double[L + 1][];
        acts[0] = x;
        for (int l = 0; l < L; l++) {
            int in = s.in(l), out = s.out(l), w = off + s.weightOffset(l), bo = off + s.biasOffset(l);
            double[] y = new double[out];
            for (int k = 0; k < out; k++) {
                double a = p[bo + k];
                for (int i = 0; i < in; i++) a += p[w + k * in + i] * acts[l][i];
                y[k] = l < L - 1 ? act(s.activation(), a) : a;
            }
            acts[l + 1] = y;
        }
        return acts;
    }

    /** The MLP's vector-Jacobian product at stored acts: adds to grad[gOff ..] (the MLP's layout), returns dL/dx. */
    static double[] mlpBackward(MlpShape s, double[] p, int off, double[][] acts, double[] gOut, double[] grad, int gOff) {
        int L = s.layers();
        double[] g = gOut.clone();
        for (int l = L - 1; l >= 0; l--) {
            int in = s.in(l), out = s.out(l), w = s.weightOffset(l), bo = s.biasOffset(l);
            double[] gx = new double[in];
            for (int k = 0; k < out; k++) {
                for (int i = 0; i < in; i++) {
                    grad[gOff + w + k * in + i] += g[k] * acts[l][i];
                    gx[i] += p[off + w + k * in + i] * g[k];
                }
                grad[gOff + bo + k] += g[k];
            }
            if (l > 0) for (int i = 0; i < in; i++) gx[i] *= actGrad(s.activation(), acts[l][i]);
            g = gx;
        }
        return g;
    }

    /** θ (physical) of one replica. */
    static double[] theta(ThetaSpec spec, double[] p, int off) {
        double[] th = new double[spec.size()];
        for (int i = 0; i < th.length; i++) th[i] = spec.toPhysical(i, p[off + i]);
        return th;
    }

    static double[] sciField(OdeHybrid ode, double[] th, double[] z) {
        if (ode.science() instanceof PendulumModel) return new double[]{z[1], -th[0] * Math.sin(z[0])};
        double x = z[0];
        return new double[]{z[1], -th[0] * x - th[1] * x * x * x};
    }

    static void sciVjp(OdeHybrid ode, double[] th, double[] z, double[] g, double[] gz, double[] gth) {
        if (ode.science() instanceof PendulumModel) {
            gz[0] += -th[0] * Math.cos(z[0]) * g[1];
            gz[1] += g[0];
            gth[0] -= g[1] * Math.sin(z[0]);
        } else {
            double x = z[0];
            gz[0] += (-th[0] - 3 * th[1] * x * x) * g[1];
            gz[1] += g[0];
            gth[0] -= g[1] * x;
            gth[1] -= g[1] * x * x * x;
        }
    }

    /** One rollout with its tape: states[t] at frames 0..frames-1, and every stage's input and MLP activations. */
    record Rollout(double[][] states, double[][][] stageIn, double[][][][] acts) {
    }

    /** The rollout of replica parameters p[off ..] (u, then the corrector) from z0. */
    static Rollout rollout(OdeHybrid ode, double[] p, int off, double[] z0, int frames) {
        MlpShape net = ode.mlp();
        int D = z0.length, spf = ode.stepsPerFrame(), steps = (frames - 1) * spf;
        double h = ode.h();
        double[] th = theta(ode.thetaSpec(), p, off);
        int nn = off + ode.thetaCount();
        double[][] states = new double[frames][];
        double[][][] stageIn = new double[steps][4][];
        double[][][][] acts = new double[steps][4][][];
        double[] z = z0.clone();
        states[0] = z.clone();
        for (int st = 0; st < steps; st++) {
            double[][] k = new double[4][];
            for (int j = 0; j < 4; j++) {
                double a = j == 3 ? h : 0.5 * h;
                double[] y = new double[D];
                for (int d = 0; d < D; d++) y[d] = j == 0 ? z[d] : z[d] + a * k[j - 1][d];
                stageIn[st][j] = y;
                double[] fs = sciField(ode, th, y);
                acts[st][j] = mlpForward(net, p, nn, y);
                double[] fn = acts[st][j][net.layers()];
                k[j] = new double[D];
                for (int d = 0; d < D; d++) k[j][d] = fs[d] + fn[d];
            }
            for (int d = 0; d < D; d++) z[d] += h / 6 * (k[0][d] + 2 * k[1][d] + 2 * k[2][d] + k[3][d]);
            if ((st + 1) % spf == 0) states[(st + 1) / spf] = z.clone();
        }
        return new Rollout(states, stageIn, acts);
    }

    /**
     * The reverse of {@link #rollout}: the state adjoints gZ[t] (t = 0..frames-1) in, the initial
     * state's adjoint out; θ's physical gradient added to g[gOff .. + nTheta) and the corrector's
     * after it (the kernels' gradient rows).
     */
    static double[] rolloutVjp(OdeHybrid ode, double[] p, int off, Rollout ro, double[][] gZ, double[] g, int gOff) {
        MlpShape net = ode.mlp();
        int frames = gZ.length, D = gZ[0].length, spf = ode.stepsPerFrame(), steps = (frames - 1) * spf, nT = ode.thetaCount();
        double h = ode.h();
        double[] th = theta(ode.thetaSpec(), p, off), gth = new double[nT], gz = new double[D];
        int nn = off + nT;
        for (int st = steps - 1; st >= 0; st--) {
            if ((st + 1) % spf == 0) for (int d = 0; d < D; d++) gz[d] += gZ[(st + 1) / spf][d];
            double[][] gk = new double[4][D];
            for (int d = 0; d < D; d++) {
                gk[0][d] = h / 6 * gz[d];
                gk[1][d] = h / 3 * gz[d];
                gk[2][d] = h / 3 * gz[d];
                gk[3][d] = h / 6 * gz[d];
            }
            for (int j = 3; j >= 0; j--) {
                double[] gy = mlpBackward(net, p, nn, ro.acts()[st][j], gk[j], g, gOff + nT);
                sciVjp(ode, th, ro.stageIn()[st][j], gk[j], gy, gth);
                for (int d = 0; d < D; d++) gz[d] += gy[d];
                if (j > 0) {
                    double a = j == 3 ? h : 0.5 * h;
                    for (int d = 0; d < D; d++) gk[j - 1][d] += a * gy[d];
                }
            }
        }
        for (int d = 0; d < D; d++) gz[d] += gZ[0][d];
        for (int i = 0; i < nT; i++) g[gOff + i] += gth[i];
        return gz;
    }

    static double sigmoid(double a) {
        return 1 / (1 + Math.exp(-a));
    }

    /**
     * Loss and exact gradient of every replica's minibatch batch[r·B ..), θ's part with respect to
     * u. params and grad are K · P.
     */
    public static double[] lossAndGradient(NestedHybrid m, double[] params, ImageSequences data, int[] batch, int B, double[] grad) {
        int K = batch.length / B, P = m.parameterCount(), T = data.frames(), px = m.pixels(), D = m.stateDim();
        int E = m.encoderFrames() * px, nT = m.thetaCount();
        OdeHybrid ode = m.ode();
        double weight = 1.0 / ((double) B * T * px);
        Arrays.fill(grad, 0);
        double[] loss = new double[K];
        for (int r = 0; r < K; r++) {
            int off = r * P;
            for (int b = 0; b < B; b++) {
                int n = batch[r * B + b];
                double[] x = new double[E];
                for (int e = 0; e < E; e++) x[e] = data.images()[data.frameOffset(n, 0) + e];
                double[][] enc = mlpForward(m.encoder(), params, off + m.encoderOffset(), x);
                double[] z0 = enc[m.encoder().layers()];
                Rollout ro = rollout(ode, params, off, z0, T);
                double[][] gZ = new double[T][];
                for (int t = 0; t < T; t++) {
                    double[][] dec = mlpForward(m.decoder(), params, off + m.decoderOffset(), ro.states()[t]);
                    double[] a = dec[m.decoder().layers()], gA = new double[px];
                    for (int q = 0; q < px; q++) {
                        double y = sigmoid(a[q]), res = y - data.images()[data.frameOffset(n, t) + q];
                        loss[r] += weight * res * res;
                        gA[q] = 2 * weight * res * y * (1 - y);
                    }
                    gZ[t] = mlpBackward(m.decoder(), params, off + m.decoderOffset(), dec, gA, grad, off + m.decoderOffset());
                }
                double[] gz0 = rolloutVjp(ode, params, off, ro, gZ, grad, off);
                mlpBackward(m.encoder(), params, off + m.encoderOffset(), enc, gz0, grad, off + m.encoderOffset());
            }
            for (int i = 0; i < nT; i++) grad[off + i] *= m.thetaSpec().derivative(i, params[off + i]);
        }
        if (D != 2) throw new IllegalStateException("the reference follows the kernels' 2-dimensional state");
        return loss;
    }
}
