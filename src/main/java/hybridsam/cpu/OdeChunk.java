package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.OdeHybrid;
import hybridsam.model.ScientificModel;
import hybridsam.model.Sequences;

/**
 * Workspace and loops for one chunk of C samples of an ODE-additive hybrid: the RK4 rollout,
 * the MSE over observed frames, and exact reverse-mode differentiation through every RK4 stage.
 * The forward pass stores each stage's input and the corrector's hidden activations; the
 * backward pass replays them in reverse. One instance per worker thread; nothing is shared.
 */
final class OdeChunk {
    private final OdeHybrid model;
    private final ScientificModel sci;
    private final MlpShape mlp;
    private final Activation act;
    private final int D, C, H, steps, spf;

    private final float[] stageIn;  // [step][stage][D][C]
    private final float[] hidden;   // [step][stage][H][C]
    private final float[] resid;    // [frame-1][D][C]
    private final float[] z, y, nnOut, sciOut;
    private final float[][] k = new float[4][];
    private final float[][] gk = new float[4][];
    private final float[] gz, gy, gA, gB;
    final float[] gNnLanes;         // corrector gradient, one vector of lanes per parameter
    final double[] gTheta;
    private final double[] theta;
    private final int[] hiddenStart; // offset of each hidden layer's activations within a stage


    OdeChunk(OdeHybrid model, int frames, int chunk) {
        this.model = model;
        this.sci = model.science();
        this.mlp = model.corrector();
        this.act = mlp.activation();
        this.D = model.stateDim();
        this.C = chunk;
        this.H = mlp.hiddenUnits();
        this.spf = model.stepsPerFrame();
        this.steps = (frames - 1) * spf;
        stageIn = new float[steps * 4 * D * C];
        hidden = new float[steps * 4 * H * C];
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
        gA = new float[mlp.maxWidth() * C];
        gB = new float[mlp.maxWidth() * C];
        gNnLanes = new float[mlp.parameterCount() * DenseKernels.L];
        gTheta = new double[model.thetaCount()];
        theta = new double[model.thetaCount()];
        hiddenStart = new int[mlp.layers()];
        for (int l = 1; l < mlp.layers(); l++) hiddenStart[l] = hiddenStart[l - 1] + mlp.out(l - 1) * C;
    }

    int chunk() {
        return C;
    }

    int frames() {
        return steps / spf + 1;
    }

    /**
     * Rolls out samples idx[off .. off+n) (n ≤ C; the rest of the chunk repeats the first sample
     * with zero weight) and returns Σ (z - obs)² over their predicted frames. With store set the
     * stage inputs and activations are kept for {@link #backward}; without useNet the corrector is
     * left out (the scientific model alone).
     */
    double forward(float[] params, int pOff, Sequences data, int[] idx, int off, int n,
                   boolean store, boolean useNet) {
        for (int i = 0; i < theta.length; i++) theta[i] = sci.theta().toPhysical(i, params[pOff + i]);
        int nn = pOff + model.nnOffset();
        for (int c = 0; c < C; c++) {
            int s = idx[off + (c < n ? c : 0)];
            for (int d = 0; d < D; d++) z[d * C + c] = data.at(s, 0, d);
        }
        float h = (float) model.h(), half = 0.5f * h, sixth = h / 6f;
        double sq = 0;
        for (int s = 0; s < steps; s++) {
            int slot = store ? s * 4 : 0;
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
                field(params, nn, stageIn, yOff, (slot + j) * H * C, useNet, k[j]);
            }
            float[] k1 = k[0], k2 = k[1], k3 = k[2], k4 = k[3];
            for (int i = 0; i < D * C; i++) z[i] += sixth * (k1[i] + 2f * k2[i] + 2f * k3[i] + k4[i]);
            if ((s + 1) % spf == 0) {
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

    /** k = f_sci(y) + f_nn(y) for the stage input at stageIn[yOff], activations to hidden[hOff]. */
    private void field(float[] p, int nn, float[] in, int yOff, int hOff, boolean useNet, float[] out) {
        sci.field(in, yOff, C, theta, sciOut, 0);
        if (!useNet) {
            System.arraycopy(sciOut, 0, out, 0, D * C);
            return;
        }
        float[] src = in;
        int srcOff = yOff;
        int last = mlp.layers() - 1;
        for (int l = 0; l <= last; l++) {
            float[] dst = l == last ? nnOut : hidden;
            int dstOff = l == last ? 0 : hOff;
            DenseKernels.forward(p, nn + mlp.weightOffset(l), nn + mlp.biasOffset(l), mlp.in(l), mlp.out(l),
                    src, srcOff, dst, dstOff, C);
            if (l < last) {
                act.applyInPlace(dst, dstOff, mlp.out(l) * C);
                src = dst;
                srcOff = dstOff;
                hOff += mlp.out(l) * C;
            }
        }
        for (int i = 0; i < D * C; i++) out[i] = sciOut[i] + nnOut[i];
    }

    /**
     * Reverse pass of the last stored {@link #forward}: accumulates d(weight · Σ r²) into
     * {@link #gNnLanes} and {@link #gTheta} (both cleared first). weight is 1 / (batch · frames · D).
     */
    void backward(float[] params, int pOff, float weight) {
        int nn = pOff + model.nnOffset();
        java.util.Arrays.fill(gNnLanes, 0f);
        java.util.Arrays.fill(gTheta, 0.0);
        java.util.Arrays.fill(gz, 0f);
        float h = (float) model.h(), half = 0.5f * h;
        float w6 = h / 6f, w3 = h / 3f, two = 2f * weight;
        for (int s = steps - 1; s >= 0; s--) {
            if ((s + 1) % spf == 0) {
                int rOff = ((s + 1) / spf - 1) * D * C;
                for (int i = 0; i < D * C; i++) gz[i] += two * resid[rOff + i];
            }
            for (int i = 0; i < D * C; i++) {
                gk[0][i] = w6 * gz[i];
                gk[1][i] = w3 * gz[i];
                gk[2][i] = w3 * gz[i];
                gk[3][i] = w6 * gz[i];
            }
            for (int j = 3; j >= 0; j--) {
                int slot = s * 4 + j;
                fieldVjp(params, nn, slot * D * C, slot * H * C, gk[j], gy);
                for (int i = 0; i < D * C; i++) gz[i] += gy[i];
                if (j > 0) {
                    float a = j == 3 ? h : half;
                    float[] g = gk[j - 1];
                    for (int i = 0; i < D * C; i++) g[i] += a * gy[i];
                }
            }
        }
    }

    /** gy = (∂F/∂y)ᵀ g at the stored stage; accumulates the parameter gradients. */
    private void fieldVjp(float[] p, int nn, int yOff, int hOff, float[] g, float[] out) {
        int last = mlp.layers() - 1;
        float[] gOut = g;
        int gOutOff = 0;
        float[] buf = gA;
        for (int l = last; l >= 0; l--) {
            float[] in = l == 0 ? stageIn : hidden;
            int inOff = l == 0 ? yOff : hOff + hiddenStart[l - 1];
            DenseKernels.accumulateWeights(gOut, gOutOff, in, inOff, mlp.in(l), mlp.out(l),
                    gNnLanes, mlp.weightOffset(l) * DenseKernels.L, gNnLanes, mlp.biasOffset(l) * DenseKernels.L, C);
            float[] dst = l == 0 ? out : buf;
            DenseKernels.backwardInput(p, nn + mlp.weightOffset(l), mlp.in(l), mlp.out(l), gOut, gOutOff, dst, 0, C);
            if (l > 0) {
                act.backwardInPlace(dst, 0, hidden, hOff + hiddenStart[l - 1], mlp.in(l) * C);
                gOut = dst;
                gOutOff = 0;
                buf = buf == gA ? gB : gA;
            }
        }
        sci.vjp(stageIn, yOff, C, theta, g, 0, out, 0, gTheta);
    }

    /**
     * Σ over samples idx[off .. off+n) and all their observed frames of
     * ‖f_nn‖ / (‖f_sci‖ + ‖f_nn‖) at the observed state: how much of the field the network carries.
     */
    double physicsShareSum(float[] params, int pOff, Sequences data, int[] idx, int off, int n) {
        for (int i = 0; i < theta.length; i++) theta[i] = sci.theta().toPhysical(i, params[pOff + i]);
        int nn = pOff + model.nnOffset();
        double sum = 0;
        for (int t = 0; t < data.frames(); t++) {
            for (int c = 0; c < C; c++) {
                int s = idx[off + (c < n ? c : 0)];
                for (int d = 0; d < D; d++) stageIn[d * C + c] = data.at(s, t, d);
            }
            field(params, nn, stageIn, 0, 0, true, k[0]);
            for (int c = 0; c < n; c++) {
                double ns = 0, nl = 0;
                for (int d = 0; d < D; d++) {
                    ns += (double) sciOut[d * C + c] * sciOut[d * C + c];
                    nl += (double) nnOut[d * C + c] * nnOut[d * C + c];
                }
                double a = Math.sqrt(ns), b = Math.sqrt(nl);
                sum += a + b > 0 ? b / (a + b) : 0;
            }
        }
        return sum;
    }
}
