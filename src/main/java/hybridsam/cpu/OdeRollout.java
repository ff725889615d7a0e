package hybridsam.cpu;

import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.model.Sequences;

/**
 * Workspace and loops for one chunk of C samples of an ODE-additive hybrid: the RK4 rollout,
 * the MSE over observed frames, and exact reverse-mode differentiation through every RK4 stage.
 * The corrector may be any {@link CpuCorrector}. One instance per worker thread; nothing is shared.
 *
 * <p>Two ways in: from frame 0 of observed {@link Sequences}, scored against the later frames
 * (the ODE tasks); or from given initial states, leaving the state at every frame for a caller
 * that scores them itself and hands back their adjoints (the nested hybrid's decoder).
 *
 * <p>The reverse pass needs every stage's input and the corrector's activations. Where they fit
 * the memory budget the forward pass keeps them all; otherwise it keeps only the state at the
 * start of each RK4 step (a checkpoint) and the reverse pass recomputes that step's stages just
 * before it needs them. The recomputation repeats the same operations on the same values, so the
 * gradient is bit for bit the same either way; only the time (one more forward) differs.
 */
final class OdeRollout {
    private final OdeHybrid model;
    private final ScientificModel sci;
    private final CpuCorrector net;
    private final int D, C, T, steps, spf;
    private final boolean keepAll;

    private final float[] stageIn;  // [step or 1][stage][D][C]
    private final float[] tape;     // [step or 1][stage][T]
    private final float[] zStart;   // [step][D][C] when checkpointing, else empty
    private final float[] resid;    // [frame-1][D][C]
    private final float[] z, y, nnOut, sciOut;
    private final float[][] k = new float[4][];
    private final float[][] gk = new float[4][];
    private final float[] gz, gy;
    final float[] gNn;              // the corrector's gradient after backward
    final double[] gTheta;
    private final double[] theta;

    /**
     * @param keepAll keep every stage for the reverse pass (else checkpoint each RK4 step)
     */
    OdeRollout(OdeHybrid model, int frames, int chunk, boolean keepAll) {
        this.model = model;
        this.sci = model.science();
        this.net = CpuCorrector.of(model.corrector(), chunk);
        this.D = model.stateDim();
        this.C = chunk;
        this.T = net.tapeFloats();
        this.spf = model.stepsPerFrame();
        this.steps = (frames - 1) * spf;
        this.keepAll = keepAll;
        int kept = keepAll ? steps : 1;
        stageIn = new float[kept * 4 * D * C];
        tape = new float[kept * 4 * T];
        zStart = new float[keepAll ? 0 : steps * D * C];
        resid = new float[(frames - 1) * D * C];
        z = new float[D * C];
        y = new float[D * C];
        nnOut = new float[D * C];
        sciOut = new float[D * C];
        for (int j = 0; j < 4; j++) {
            k[j] = new float[D * C];
            gk[j] = new float[D * C];
        }
        gz = new float[D * C];
        gy = new float[D * C];
        gNn = new float[model.corrector().parameterCount()];
        gTheta = new double[model.thetaCount()];
        theta = new double[model.thetaCount()];
    }

    /** Floats a rollout workspace holds: what {@link #OdeRollout} allocates, for the memory budget. */
    static long floats(OdeHybrid model, int frames, int chunk, boolean keepAll) {
        long D = model.stateDim(), C = chunk, T = (long) model.corrector().hiddenUnits() * C;
        long steps = (long) (frames - 1) * model.stepsPerFrame(), kept = keepAll ? steps : 1;
        return kept * 4 * (D * C + T) + (keepAll ? 0 : steps * D * C) + (frames - 1L) * D * C + 16 * D * C
                + model.corrector().parameterCount() + CpuCorrector.workspaceFloats(model.corrector(), chunk);
    }

    int chunk() {
        return C;
    }

    int frames() {
        return steps / spf + 1;
    }

    boolean keepsAll() {
        return keepAll;
    }

    /**
     * Rolls out samples idx[off .. off+n) (n ≤ C; the rest of the chunk repeats the first sample
     * with zero weight) and returns Σ (z - obs)² over their predicted frames. With store set the
     * stage inputs and activations (or the step checkpoints) are kept for {@link #backward};
     * without useNet the corrector is left out (the scientific model alone).
     */
    double forward(float[] params, int pOff, Sequences data, int[] idx, int off, int n,
                   boolean store, boolean useNet) {
        for (int c = 0; c < C; c++) {
            int s = idx[off + (c < n ? c : 0)];
            for (int d = 0; d < D; d++) z[d * C + c] = data.at(s, 0, d);
        }
        return rollout(params, pOff, store, useNet, data, idx, off, n, null);
    }

    /**
     * Rolls out the chunk from the initial states states[0 .. D·C) (state-major, one column per
     * sample) and writes the state at frame f to states[f·D·C ..], [frames][D][C]. With store set
     * the reverse pass {@link #backward(float[], int, float[], float[])} can follow.
     */
    void forward(float[] params, int pOff, float[] states, boolean store, boolean useNet) {
        System.arraycopy(states, 0, z, 0, D * C);
        rollout(params, pOff, store, useNet, null, null, 0, 0, states);
    }

    /**
     * The RK4 rollout from z. At each frame: with data, the residuals against it (Σ r² returned);
     * else the state copied to states.
     */
    private double rollout(float[] params, int pOff, boolean store, boolean useNet,
                           Sequences data, int[] idx, int off, int n, float[] states) {
        for (int i = 0; i < theta.length; i++) theta[i] = sci.theta().toPhysical(i, params[pOff + i]);
        int nn = pOff + model.nnOffset();
        float h = (float) model.h(), sixth = h / 6f;
        double sq = 0;
        for (int s = 0; s < steps; s++) {
            if (store && !keepAll) System.arraycopy(z, 0, zStart, s * D * C, D * C);
            stages(params, nn, store && keepAll ? s * 4 : 0, useNet);
            float[] k1 = k[0], k2 = k[1], k3 = k[2], k4 = k[3];
            for (int i = 0; i < D * C; i++) z[i] += sixth * (k1[i] + 2f * k2[i] + 2f * k3[i] + k4[i]);
            if ((s + 1) % spf == 0 && data == null) {
                System.arraycopy(z, 0, states, (s + 1) / spf * D * C, D * C);
            } else if ((s + 1) % spf == 0) {
                int f = (s + 1) / spf;
                int rOff = (f - 1) * D * C;
                for (int c = 0; c < C; c++) {
                    int smp = idx[off + (c < n ? c : 0)];
                    for (int d = 0; d < D; d++) {
                        float r = c < n ? z[d * C + c] - data.at(smp, f, d) : 0f;
                        resid[rOff + d * C + c] = r;
                        sq += (double) r * r;
                    }
                }
            }
        }
        return sq;
    }

    /** The four stage derivatives k[0..3] of the RK4 step from z, inputs and activations kept at slots slot..slot+3. */
    private void stages(float[] params, int nn, int slot, boolean useNet) {
        float h = (float) model.h(), half = 0.5f * h;
        for (int j = 0; j < 4; j++) {
            float[] in;
            if (j == 0) {
                in = z;
            } else {
                float a = j == 3 ? h : half;
                float[] prev = k[j - 1];
                for (int i = 0; i < D * C; i++) y[i] = z[i] + a * prev[i];
                in = y;
            }
            int yOff = (slot + j) * D * C;
            System.arraycopy(in, 0, stageIn, yOff, D * C);
            field(params, nn, stageIn, yOff, (slot + j) * T, useNet, k[j]);
        }
    }

    /** k = f_sci(y) + f_nn(y) for the stage input at in[yOff], activations to tape[tOff]. */
    private void field(float[] p, int nn, float[] in, int yOff, int tOff, boolean useNet, float[] out) {
        sci.field(in, yOff, C, theta, sciOut, 0);
        if (!useNet) {
            System.arraycopy(sciOut, 0, out, 0, D * C);
            return;
        }
        net.forward(p, nn, in, yOff, tape, tOff, nnOut);
        for (int i = 0; i < D * C; i++) out[i] = sciOut[i] + nnOut[i];
    }

    /**
     * Reverse pass of the last stored {@link #forward}: the gradient of weight · Σ r² into
     * {@link #gNn} and {@link #gTheta}. weight is 1 / (batch · frames · D).
     */
    void backward(float[] params, int pOff, float weight) {
        // the loss's gradient w.r.t. each predicted frame, in place: backward consumes the residuals
        float two = 2f * weight;
        for (int i = 0; i < resid.length; i++) resid[i] = two * resid[i];
        reverse(params, pOff, resid);
    }

    /**
     * Reverse pass of the last stored {@link #forward(float[], int, float[], boolean, boolean)}:
     * given adjoint[(f-1)·D·C ..] = ∂loss/∂state at frame f for f = 1 .. frames-1 ([frame-1][D][C]),
     * leaves ∂loss/∂z0 through the rollout in gz0 ([D][C], overwritten; frame 0's own adjoint is
     * the caller's to add) and the gradients of the corrector and θ in {@link #gNn} and {@link #gTheta}.
     */
    void backward(float[] params, int pOff, float[] adjoint, float[] gz0) {
        reverse(params, pOff, adjoint);
        System.arraycopy(gz, 0, gz0, 0, D * C);
    }

    /** The reverse pass of the last stored rollout, with the per-frame adjoints added at each frame. */
    private void reverse(float[] params, int pOff, float[] adjoint) {
        int nn = pOff + model.nnOffset();
        net.clearGradient();
        java.util.Arrays.fill(gTheta, 0.0);
        java.util.Arrays.fill(gz, 0f);
        float h = (float) model.h(), half = 0.5f * h;
        float w6 = h / 6f, w3 = h / 3f;
        for (int s = steps - 1; s >= 0; s--) {
            if ((s + 1) % spf == 0) {
                int aOff = ((s + 1) / spf - 1) * D * C;
                for (int i = 0; i < D * C; i++) gz[i] += adjoint[aOff + i];
            }
            int base = s * 4;
            if (!keepAll) {
                System.arraycopy(zStart, s * D * C, z, 0, D * C);
                stages(params, nn, 0, true);
                base = 0;
            }
            for (int i = 0; i < D * C; i++) {
                gk[0][i] = w6 * gz[i];
                gk[1][i] = w3 * gz[i];
                gk[2][i] = w3 * gz[i];
                gk[3][i] = w6 * gz[i];
            }
            for (int j = 3; j >= 0; j--) {
                int slot = base + j;
                fieldVjp(params, nn, slot * D * C, slot * T, gk[j], gy);
                for (int i = 0; i < D * C; i++) gz[i] += gy[i];
                if (j > 0) {
                    float a = j == 3 ? h : half;
                    float[] g = gk[j - 1];
                    for (int i = 0; i < D * C; i++) g[i] += a * gy[i];
                }
            }
        }
        net.reduce(gNn, 0);
    }

    /** gy = (∂F/∂y)ᵀ g at the stored stage; accumulates the parameter gradients. */
    private void fieldVjp(float[] p, int nn, int yOff, int tOff, float[] g, float[] out) {
        net.backward(p, nn, stageIn, yOff, tape, tOff, g, out);
        sci.vjp(stageIn, yOff, C, theta, g, 0, out, 0, gTheta);
    }

    /**
     * Σ over samples idx[off .. off+n) and all their observed frames of
     * ‖f_nn‖ / (‖f_sci‖ + ‖f_nn‖) at the observed state: how much of the field the network carries.
     */
    double networkShareSum(float[] params, int pOff, Sequences data, int[] idx, int off, int n) {
        for (int i = 0; i < theta.length; i++) theta[i] = sci.theta().toPhysical(i, params[pOff + i]);
        double sum = 0;
        for (int t = 0; t < data.frames(); t++) {
            for (int c = 0; c < C; c++) {
                int s = idx[off + (c < n ? c : 0)];
                for (int d = 0; d < D; d++) stageIn[d * C + c] = data.at(s, t, d);
            }
            sum = addShares(params, pOff, n, sum);
        }
        return sum;
    }

    /**
     * The same share summed over the first n columns and every frame of states ([frames][D][C],
     * as {@link #forward(float[], int, float[], boolean, boolean)} leaves them): along the
     * model's own trajectories, where no observed state exists.
     */
    double networkShareSum(float[] params, int pOff, float[] states, int n) {
        for (int i = 0; i < theta.length; i++) theta[i] = sci.theta().toPhysical(i, params[pOff + i]);
        double sum = 0;
        for (int t = 0; t < frames(); t++) {
            System.arraycopy(states, t * D * C, stageIn, 0, D * C);
            sum = addShares(params, pOff, n, sum);
        }
        return sum;
    }

    /**
     * sum plus the shares of the first n columns at the states in stageIn[0 .. D·C), added one
     * column after another onto the running sum (one order for the whole split).
     */
    private double addShares(float[] params, int pOff, int n, double sum) {
        field(params, pOff + model.nnOffset(), stageIn, 0, 0, true, k[0]);
        for (int c = 0; c < n; c++) {
            double ns = 0, nl = 0;
            for (int d = 0; d < D; d++) {
                ns += (double) sciOut[d * C + c] * sciOut[d * C + c];
                nl += (double) nnOut[d * C + c] * nnOut[d * C + c];
            }
            double a = Math.sqrt(ns), b = Math.sqrt(nl);
            sum += a + b > 0 ? b / (a + b) : 0;
        }
        return sum;
    }
}
