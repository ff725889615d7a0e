package hybridsam.cuda;

import hybridsam.model.OdeHybrid;

/**
 * The layer-wise gradient path: the same loss and exact gradient as hs_rollout (ode.cu), but the
 * corrector's MLP of every RK4 stage is evaluated for the whole batch and all K replicas as
 * dense layers through a {@link DenseOps} (the project's GEMM kernels, cuBLAS or cuDNN), with the
 * activations as their own kernels. Per stage, hs_lw_stage forms the stage input y and the
 * scientific field; the dense layers add the MLP's output (hs_lw_combine), which also does the
 * RK4 update and the residuals at observed frames. The reverse pass replays the steps backwards
 * from the stored stage inputs and activations: per stage, the MLP's backward (dW += dY Xᵀ
 * accumulating over all stages, db += Σ dY, dX = Wᵀ dY times the activation's derivative),
 * then the scientific field's vector-Jacobian product and the RK4 adjoint (hs_lw_stage_back).
 * Every sum runs in a fixed order, so a replica's gradient is the same on every run.
 *
 * <p>Workspace (floats, one buffer), with KDB = K·D·B and S = (frames − 1)·spf steps:
 * z, k[4], fn, gz, gk[4], gy (KDB each), the θ partials (K·{@value StepKernels#MAX_THETA}·B),
 * two backward buffers (K·maxHidden·B each), the residuals ((frames − 1)·KDB) and, per stage
 * slot (4S), the slot's layer inputs: y (KDB) then each hidden layer's activations (K·w·B).
 */
public final class LayerwiseGradient implements DeviceGradient {
    static final int BLOCK = 64;
    private final Device dev;
    private final OdeHybrid model;
    private final DenseOps dense;
    private final int K, P, nTheta, modelId, act, L;
    private final int[] widths;
    /** Float offset of layer l's W within a replica's parameters (b follows at + out·in). */
    private final int[] wOff;
    private final DeviceBuffer thetaBox;

    public LayerwiseGradient(DeviceScope scope, OdeHybrid model, int K, DenseOps dense) {
        this.dev = scope.device();
        this.model = model;
        this.dense = dense;
        this.K = K;
        this.P = model.parameterCount();
        this.nTheta = model.thetaCount();
        this.modelId = StepKernels.modelId(model);
        this.act = KernelConstants.activation(model.mlp().activation());
        this.widths = model.mlp().widths();
        this.L = widths.length - 1;
        if (widths[0] != StepKernels.STATE_DIM || widths[L] != StepKernels.STATE_DIM) {
            throw new IllegalArgumentException("the corrector must map the state to its derivative, not " + model.mlp().describe());
        }
        wOff = new int[L];
        int off = model.nnOffset();
        for (int l = 0; l < L; l++) {
            wOff[l] = off;
            off += widths[l + 1] * (widths[l] + 1);
        }
        double[] box = StepKernels.thetaBox(model.science().theta());
        thetaBox = scope.doubles(Math.max(1, box.length));
        dev.upload(thetaBox, box);
    }

    public DenseOps dense() {
        return dense;
    }

    /** The training split on the device, once uploaded. */
    private OdeData data;

    @Override
    public void upload(DeviceScope scope, hybridsam.model.Split train) {
        data = OdeData.upload(scope, train, model);
    }

    @Override
    public int count() {
        return OdeData.required(data).count();
    }

    @Override
    public long workspaceFloats(int B) {
        return workspaceFloats(model, K, B, OdeData.required(data).frames());
    }

    @Override
    public float lossWeight(int B) {
        return StepKernels.lossWeight(model, B, OdeData.required(data).frames());
    }

    @Override
    public void gradient(DeviceBuffer params, DeviceBuffer batch, int B, DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq,
                         DeviceBuffer grad) {
        OdeData d = OdeData.required(data);
        gradient(params, d.obs(), d.frames(), batch, B, ws, sq, grad);
    }

    @Override
    public String networkEngine() {
        return dense.describe();
    }

    @Override
    public boolean warmsUpOutsideCapture() {
        return !(dense instanceof KernelDenseOps);
    }

    /** The workspace's float offsets for batch size B. */
    record Layout(long kdb, long z, long k, long fn, long gz, long gk, long gy, long gth, long dA, long dB, long resid,
                  long slots, long slotSize, long[] inputOff, long total) {
        long slot(int st, int j) {
            return slots + (long) (st * 4 + j) * slotSize;
        }
    }

    static Layout layout(OdeHybrid model, int K, int B, int frames) {
        int[] w = model.mlp().widths();
        int L = w.length - 1, D = StepKernels.STATE_DIM;
        long kdb = (long) K * D * B;
        int maxHidden = 1;
        for (int l = 1; l < L; l++) maxHidden = Math.max(maxHidden, w[l]);
        long at = 0;
        long z = at; at = aligned(at + kdb);
        long k = at; at = aligned(at + 4 * kdb);
        long fn = at; at = aligned(at + kdb);
        long gz = at; at = aligned(at + kdb);
        long gk = at; at = aligned(at + 4 * kdb);
        long gy = at; at = aligned(at + kdb);
        long gth = at; at = aligned(at + (long) K * StepKernels.MAX_THETA * B);
        long dA = at; at = aligned(at + (long) K * maxHidden * B);
        long dB = at; at = aligned(at + (long) K * maxHidden * B);
        long resid = at; at = aligned(at + (long) (frames - 1) * kdb);
        long[] inputOff = new long[L];
        long slotSize = 0;
        for (int l = 0; l < L; l++) {
            inputOff[l] = slotSize;
            slotSize = aligned(slotSize + (long) K * w[l] * B);
        }
        long steps = (long) (frames - 1) * model.stepsPerFrame();
        long slots = at;
        at += 4 * steps * slotSize;
        return new Layout(kdb, z, k, fn, gz, gk, gy, gth, dA, dB, resid, slots, slotSize, inputOff, at);
    }

    /**
     * Rounds a float offset up to a multiple of 4 floats: every array of the workspace (the dense
     * layers' X, Y, dY, dX in particular) then starts 16-byte aligned, as cuDNN requires of its
     * tensors; the offsets change nothing else.
     */
    static long aligned(long floats) {
        return (floats + 3) / 4 * 4;
    }

    /** Floats of workspace for K replicas and batch size B. */
    public static long workspaceFloats(OdeHybrid model, int K, int B, int frames) {
        return layout(model, K, B, frames).total();
    }

    private int grid(int B) {
        return (B + BLOCK - 1) / BLOCK;
    }

    /**
     * Loss partials and gradient of every replica's minibatch: ws holds {@link #workspaceFloats}
     * floats, sq K·B doubles (the squared errors per sample, summed by hs_loss), grad K·P floats
     * (overwritten; the θ block is w.r.t. u after hs_theta_chain).
     */
    public void gradient(DeviceBuffer params, DeviceBuffer obs, int frames, DeviceBuffer batch, int B,
                         DeviceBuffer ws, DeviceBuffer sq, DeviceBuffer grad) {
        Layout lay = layout(model, K, B, frames);
        if (ws.bytes() < 4 * lay.total()) throw new IllegalArgumentException("layer-wise workspace too small");
        paramsBuf = params;
        wsBuf = ws;
        int spf = model.stepsPerFrame(), steps = (frames - 1) * spf, g = grid(B);
        float h = (float) model.h(), two = 2f * StepKernels.lossWeight(model, B, frames);
        int D = StepKernels.STATE_DIM;
        dev.launch("hs_lw_zero", KernelDenseOps.ceil((long) K * P, 256), 1, 1, 256, 1, 1, 0,
                KernelArgs.of().l((long) K * P).ptr(grad));
        dev.launch("hs_lw_begin", g, K, 1, BLOCK, 1, 1, 0, KernelArgs.of().ptr(obs).i(frames).ptr(batch).i(B)
                .ptr(ws).l(lay.z()).l(lay.gz()).l(lay.gth()).ptr(sq));
        // forward, storing every stage's layer inputs
        for (int st = 0; st < steps; st++) {
            for (int j = 0; j < 4; j++) {
                long slot = lay.slot(st, j);
                dev.launch("hs_lw_stage", g, K, 1, BLOCK, 1, 1, 0, KernelArgs.of().i(modelId).i(j).f(h).i(nTheta)
                        .ptr(thetaBox).i(P).ptr(params).i(B).ptr(ws).l(lay.z()).l(lay.k()).l(slot));
                for (int l = 0; l < L; l++) {
                    int in = widths[l], out = widths[l + 1];
                    DenseOps.Strided x = new DenseOps.Strided(ws, slot + lay.inputOff()[l], (long) in * B);
                    DenseOps.Strided y = l < L - 1
                            ? new DenseOps.Strided(ws, slot + lay.inputOff()[l + 1], (long) out * B)
                            : new DenseOps.Strided(ws, lay.fn(), (long) D * B);
                    dense.forward(K, out, in, B, weights(l), bias(l), x, y);
                    if (l < L - 1) activation("hs_act_forward", (long) K * out * B, y.offset(), -1);
                }
                dev.launch("hs_lw_combine", g, K, 1, BLOCK, 1, 1, 0, KernelArgs.of().i(j).i(st).i(spf).f(h).ptr(obs)
                        .i(frames).ptr(batch).i(B).ptr(ws).l(lay.z()).l(lay.k()).l(lay.fn()).l(lay.resid()).ptr(sq));
            }
        }
        // reverse pass
        for (int st = steps - 1; st >= 0; st--) {
            dev.launch("hs_lw_adjoint", g, K, 1, BLOCK, 1, 1, 0, KernelArgs.of().i(st).i(spf).f(h).f(two).i(B)
                    .ptr(ws).l(lay.gz()).l(lay.gk()).l(lay.resid()));
            for (int j = 3; j >= 0; j--) {
                long slot = lay.slot(st, j);
                DenseOps.Strided dOut = new DenseOps.Strided(ws, lay.gk() + j * lay.kdb(), (long) D * B);
                long cur = lay.dA(), nxt = lay.dB();
                for (int l = L - 1; l >= 0; l--) {
                    int in = widths[l], out = widths[l + 1];
                    DenseOps.Strided x = new DenseOps.Strided(ws, slot + lay.inputOff()[l], (long) in * B);
                    dense.backwardWeights(K, out, in, B, dOut, x, gradWeights(grad, l), gradBias(grad, l));
                    if (l > 0) {
                        DenseOps.Strided dx = new DenseOps.Strided(ws, cur, (long) in * B);
                        dense.backwardData(K, out, in, B, weights(l), dOut, dx);
                        activation("hs_act_backward", (long) K * in * B, cur, x.offset());
                        dOut = dx;
                        long t = cur;
                        cur = nxt;
                        nxt = t;
                    } else {
                        dense.backwardData(K, out, in, B, weights(l), dOut, new DenseOps.Strided(ws, lay.gy(), (long) D * B));
                    }
                }
                dev.launch("hs_lw_stage_back", g, K, 1, BLOCK, 1, 1, 0, KernelArgs.of().i(modelId).i(j).f(h).i(nTheta)
                        .ptr(thetaBox).i(P).ptr(params).i(B).ptr(ws).l(slot).l(lay.gk()).l(lay.gy()).l(lay.gz()).l(lay.gth()));
            }
        }
        if (nTheta > 0) {
            dev.launch("hs_lw_theta_sum", 1, K, 1, 32, 1, 1, 0, KernelArgs.of().i(nTheta).i(P).i(B).ptr(ws).l(lay.gth()).ptr(grad));
            dev.launch("hs_theta_chain", KernelDenseOps.ceil((long) K * nTheta, 32), 1, 1, 32, 1, 1, 0, KernelArgs.of()
                    .i(K).i(nTheta).ptr(thetaBox).i(P).ptr(params).ptr(grad));
        }
    }

    /** The buffers of the gradient being enqueued. */
    private DeviceBuffer paramsBuf, wsBuf;

    private DenseOps.Strided weights(int l) {
        return new DenseOps.Strided(paramsBuf, wOff[l], P);
    }

    private DenseOps.Strided bias(int l) {
        return new DenseOps.Strided(paramsBuf, wOff[l] + (long) widths[l + 1] * widths[l], P);
    }

    private DenseOps.Strided gradWeights(DeviceBuffer grad, int l) {
        return new DenseOps.Strided(grad, wOff[l], P);
    }

    private DenseOps.Strided gradBias(DeviceBuffer grad, int l) {
        return new DenseOps.Strided(grad, wOff[l] + (long) widths[l + 1] * widths[l], P);
    }

    /** hs_act_forward on n values at off, or hs_act_backward (dx at off, stored outputs at hOff). */
    private void activation(String kernel, long n, long off, long hOff) {
        KernelArgs a = KernelArgs.of().i(act).l(n).ptr(wsBuf).l(off);
        if (hOff >= 0) a.ptr(wsBuf).l(hOff);
        dev.launch(kernel, KernelDenseOps.ceil(n, 256), 1, 1, 256, 1, 1, 0, a);
    }
}
