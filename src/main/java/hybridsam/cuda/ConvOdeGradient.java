package hybridsam.cuda;

import hybridsam.cuda.DenseOps.Strided;
import hybridsam.model.ConvShape;
import hybridsam.model.OdeHybrid;
import hybridsam.tasks.ReactionDiffusionModel;

import java.util.Optional;

/**
 * The gradient program of a hybrid ODE on a grid with a convolutional corrector ({@link GridHybrid}:
 * reaction-diffusion's diffusion field plus a 3 × 3 conv net), the sibling of
 * {@link LayerwiseGradient} for MLP correctors: the same loss, the same exact reverse pass through
 * every RK4 stage and the same outputs (squared errors per sample for hs_loss, the gradient of
 * every replica with θ's block with respect to u), so the engine's rule kernels run on it
 * unchanged. All K replicas and the B samples of their minibatches run together: arrays are
 * [B][K][C][H][W], the convolutions grouped by replica through a {@link ConvOps}.
 *
 * <p>Per RK4 stage: hs_gr_stage forms the stage input y (kept in the stage's slot),
 * hs_diffusion_field writes k = (θ_c Δ y_c), the layers run as pad → convolution → activation
 * (each hidden layer's output kept in the slot), and hs_gr_combine adds the net's output to k,
 * and after the fourth stage updates z and the squared error at observed frames. The reverse pass
 * replays the steps backwards from the slots: per layer, the input is padded again (cheaper than
 * keeping the padded copies), the filter gradient accumulates over all stages, the data gradient
 * folds back through the padding's adjoint and the activation; then the diffusion field's
 * vector-Jacobian product (θ's partials per sample) and the RK4 adjoint (hs_gr_stage_back).
 * Every sum runs in an order fixed by the sizes, so a replica's gradient is the same on every run.
 *
 * <p>Workspace (floats, one buffer), with KDB = B·K·D and S = (frames − 1)·spf steps: z, k[4], fn,
 * gz, gk[4], gy (KDB each), θ's partials (K·{@value StepKernels#MAX_THETA}·B), two padded scratch
 * grids (B·K·maxChannels·(H+2)(W+2) each), two backward buffers (B·K·maxHidden·H·W each), the
 * residuals ((frames − 1)·KDB) and, per stage slot (4S), the layer inputs: y (KDB), then each hidden
 * layer's activations (B·K·channels·H·W).
 */
public final class ConvOdeGradient implements DeviceGradient {
    private final Device dev;
    private final GridHybrid model;
    private final ConvOps conv;
    private final ConvShape net;
    private final int K, P, C, H, W, D, L, act;
    private final DeviceBuffer thetaBox;
    /** The buffers of the gradient being enqueued. */
    private DeviceBuffer paramsBuf, wsBuf;

    public ConvOdeGradient(DeviceScope scope, GridHybrid model, int K, ConvOps conv) {
        if (K < 1 || K > 65535) throw new IllegalArgumentException("replicas must lie in [1, 65535] (got " + K + ")");
        this.dev = scope.device();
        this.model = model;
        this.conv = conv;
        this.net = model.net();
        this.K = K;
        this.P = model.parameterCount();
        this.C = model.channels();
        this.H = model.height();
        this.W = model.width();
        this.D = model.stateDim();
        this.L = net.layers();
        this.act = KernelConstants.activation(net.activation());
        double[] box = StepKernels.thetaBox(model.theta());
        thetaBox = scope.doubles(box.length);
        dev.upload(thetaBox, box);
    }

    /**
     * Whether this program implements the model: empty when it does, else the reason. It takes a
     * convolutional corrector on the grid of a diffusion model (reaction-diffusion's scientific
     * model, whose field and vector-Jacobian product gridode.cu implements) with one θ per channel.
     */
    public static Optional<String> supports(OdeHybrid model) {
        if (!(model.corrector() instanceof ConvShape net)) {
            return Optional.of("the convolutional gradient program runs 3x3 convolutional correctors, not "
                    + model.corrector().describe());
        }
        if (!(model.science() instanceof ReactionDiffusionModel rd)) {
            return Optional.of("the CUDA backend implements the diffusion field of reaction-diffusion for convolutional correctors, not "
                    + model.science().getClass().getSimpleName());
        }
        if (net.height() != rd.height() || net.width() != rd.width()) {
            return Optional.of("the corrector's grid " + net.height() + "x" + net.width() + " differs from the model's "
                    + rd.height() + "x" + rd.width());
        }
        int C = model.thetaCount();
        if (C > StepKernels.MAX_THETA || net.in(0) != C || net.out(net.layers() - 1) != C) {
            return Optional.of("the diffusion kernels take one theta per channel (at most " + StepKernels.MAX_THETA
                    + "), not " + C + " theta values for " + net.describe());
        }
        return Optional.empty();
    }

    /** What this program runs of a model it {@link #supports}. */
    public static GridHybrid grid(OdeHybrid model) {
        supports(model).ifPresent(why -> {
            throw new IllegalArgumentException(why);
        });
        ReactionDiffusionModel rd = (ReactionDiffusionModel) model.science();
        return new GridHybrid(rd.theta(), (ConvShape) model.corrector(), rd.dx(), model.h(), model.stepsPerFrame());
    }

    public ConvOps conv() {
        return conv;
    }

    public GridHybrid model() {
        return model;
    }

    /** The training split on the device, once uploaded, and the ODE hybrid it checks the split against. */
    private OdeData data;
    private OdeHybrid source;

    /** As {@link #ConvOdeGradient(DeviceScope, GridHybrid, int, ConvOps)} for the ODE hybrid it was made from (whose split it uploads). */
    ConvOdeGradient(DeviceScope scope, OdeHybrid model, int K, ConvOps conv) {
        this(scope, grid(model), K, conv);
        this.source = model;
    }

    @Override
    public void upload(DeviceScope scope, hybridsam.model.Split train) {
        if (source == null) throw new IllegalStateException("made from a GridHybrid alone: pass observations to gradient(...) directly");
        data = OdeData.upload(scope, train, source);
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
        return lossWeight(model, B, OdeData.required(data).frames());
    }

    @Override
    public void gradient(DeviceBuffer params, DeviceBuffer batch, int B, DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq,
                         DeviceBuffer grad) {
        OdeData d = OdeData.required(data);
        gradient(params, d.obs(), d.frames(), batch, B, ws, sq, grad);
    }

    @Override
    public String networkEngine() {
        return conv.describe();
    }

    @Override
    public boolean warmsUpOutsideCapture() {
        return !(conv instanceof KernelConvOps);
    }

    /** The loss weight 1 / (B · (frames − 1) · D), rounded as the CPU backend rounds it. */
    public static float lossWeight(GridHybrid model, int B, int frames) {
        return (float) (1.0 / ((double) B * (frames - 1) * model.stateDim()));
    }

    /** The workspace's float offsets for batch size B. */
    record Layout(long kdb, long z, long k, long fn, long gz, long gk, long gy, long gth, long xpA, long xpB, long dA, long dB,
                  long resid, long slots, long slotSize, long[] inputOff, long total) {
        long slot(int st, int j) {
            return slots + (long) (st * 4 + j) * slotSize;
        }
    }

    static Layout layout(GridHybrid model, int K, int B, int frames) {
        ConvShape net = model.net();
        int L = net.layers(), HW = net.cells();
        long bk = (long) B * K, kdb = bk * model.stateDim();
        int maxHidden = 1;
        for (int l = 1; l < L; l++) maxHidden = Math.max(maxHidden, net.in(l));
        long padded = bk * net.maxChannels() * (net.height() + 2) * (net.width() + 2);
        long at = 0;
        long z = at; at = LayerwiseGradient.aligned(at + kdb);
        long k = at; at = LayerwiseGradient.aligned(at + 4 * kdb);
        long fn = at; at = LayerwiseGradient.aligned(at + kdb);
        long gz = at; at = LayerwiseGradient.aligned(at + kdb);
        long gk = at; at = LayerwiseGradient.aligned(at + 4 * kdb);
        long gy = at; at = LayerwiseGradient.aligned(at + kdb);
        long gth = at; at = LayerwiseGradient.aligned(at + (long) K * StepKernels.MAX_THETA * B);
        long xpA = at; at = LayerwiseGradient.aligned(at + padded);
        long xpB = at; at = LayerwiseGradient.aligned(at + padded);
        long dA = at; at = LayerwiseGradient.aligned(at + bk * maxHidden * HW);
        long dB = at; at = LayerwiseGradient.aligned(at + bk * maxHidden * HW);
        long resid = at; at = LayerwiseGradient.aligned(at + (long) (frames - 1) * kdb);
        long[] inputOff = new long[L];
        long slotSize = 0;
        for (int l = 0; l < L; l++) {
            inputOff[l] = slotSize;
            slotSize = LayerwiseGradient.aligned(slotSize + bk * net.in(l) * HW);
        }
        long steps = (long) (frames - 1) * model.stepsPerFrame();
        long slots = at;
        at += 4 * steps * slotSize;
        return new Layout(kdb, z, k, fn, gz, gk, gy, gth, xpA, xpB, dA, dB, resid, slots, slotSize, inputOff, at);
    }

    /** Floats of workspace for K replicas and batch size B. */
    public static long workspaceFloats(GridHybrid model, int K, int B, int frames) {
        return layout(model, K, B, frames).total();
    }

    /**
     * Loss partials and gradient of every replica's minibatch (batch[r·B + b]): ws holds
     * {@link #workspaceFloats} floats, sq K·B doubles (the squared errors per sample, summed by
     * hs_loss with {@link #lossWeight}), grad K·P floats (overwritten; θ's block w.r.t. u).
     */
    public void gradient(DeviceBuffer params, DeviceBuffer obs, int frames, DeviceBuffer batch, int B,
                         DeviceBuffer ws, DeviceBuffer sq, DeviceBuffer grad) {
        Layout lay = layout(model, K, B, frames);
        if (ws.bytes() < 4 * lay.total()) throw new IllegalArgumentException("convolutional workspace too small");
        if ((long) B * K > KernelConvOps.MAX_GRID_YZ) {
            throw new IllegalArgumentException("batch x replicas " + B + " x " + K + " exceeds " + KernelConvOps.MAX_GRID_YZ);
        }
        paramsBuf = params;
        wsBuf = ws;
        int spf = model.stepsPerFrame(), steps = (frames - 1) * spf, HW = H * W, nTheta = C;
        float h = (float) model.h(), two = 2f * lossWeight(model, B, frames);
        long kdb = lay.kdb();
        dev.launch("hs_lw_zero", KernelDenseOps.ceil((long) K * P, 256), 1, 1, 256, 1, 1, 0,
                KernelArgs.of().l((long) K * P).ptr(grad));
        dev.launch("hs_gr_begin", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().ptr(obs).i(frames).i(D).ptr(batch)
                .ptr(ws).l(lay.z()).l(lay.gz()).l(lay.gth()).ptr(sq));
        for (int st = 0; st < steps; st++) {
            for (int j = 0; j < 4; j++) {
                long slot = lay.slot(st, j), y = slot + lay.inputOff()[0];
                dev.launch("hs_gr_stage", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(j).f(h).i(D).ptr(ws)
                        .l(lay.z()).l(lay.k()).l(y));
                diffusionField(dev, model, B, K, thetaBox, params, ws, y, lay.k() + j * kdb);
                for (int l = 0; l < L; l++) {
                    int in = net.in(l), out = net.out(l);
                    KernelConvOps.pad(dev, (long) B * K * in, H, W, ws, slot + lay.inputOff()[l], ws, lay.xpA());
                    long yl = l < L - 1 ? slot + lay.inputOff()[l + 1] : lay.fn();
                    conv.forward(K, B, in, out, H, W, weights(l), bias(l), at(lay.xpA()), at(yl));
                    if (l < L - 1) {
                        long n = (long) B * K * out * HW;
                        dev.launch("hs_act_forward", KernelDenseOps.ceil(n, 256), 1, 1, 256, 1, 1, 0,
                                KernelArgs.of().i(act).l(n).ptr(ws).l(yl));
                    }
                }
                dev.launch("hs_gr_combine", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(j).i(st).i(spf).f(h)
                        .ptr(obs).i(frames).i(D).ptr(batch).ptr(ws).l(lay.z()).l(lay.k()).l(lay.fn()).l(lay.resid()).ptr(sq));
            }
        }
        for (int st = steps - 1; st >= 0; st--) {
            dev.launch("hs_gr_adjoint", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(st).i(spf).f(h).f(two).i(D)
                    .ptr(ws).l(lay.gz()).l(lay.gk()).l(lay.resid()));
            for (int j = 3; j >= 0; j--) {
                long slot = lay.slot(st, j), gkj = lay.gk() + j * kdb;
                long dOut = gkj, cur = lay.dA(), nxt = lay.dB();
                for (int l = L - 1; l >= 0; l--) {
                    int in = net.in(l), out = net.out(l);
                    long x = slot + lay.inputOff()[l];
                    KernelConvOps.pad(dev, (long) B * K * in, H, W, ws, x, ws, lay.xpA());
                    conv.backwardFilter(K, B, in, out, H, W, at(dOut), at(lay.xpA()), gradWeights(grad, l), gradBias(grad, l));
                    conv.backwardData(K, B, in, out, H, W, weights(l), at(dOut), at(lay.xpB()));
                    long dx = l > 0 ? cur : lay.gy();
                    KernelConvOps.padAdjoint(dev, (long) B * K * in, H, W, ws, lay.xpB(), ws, dx, false);
                    if (l > 0) {
                        long n = (long) B * K * in * HW;
                        dev.launch("hs_act_backward", KernelDenseOps.ceil(n, 256), 1, 1, 256, 1, 1, 0,
                                KernelArgs.of().i(act).l(n).ptr(ws).l(dx).ptr(ws).l(x));
                        dOut = dx;
                        cur = nxt;
                        nxt = dx;
                    }
                }
                diffusionVjp(dev, model, B, K, thetaBox, params, ws, slot + lay.inputOff()[0], gkj, lay.gy(), lay.gth());
                dev.launch("hs_gr_stage_back", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(j).f(h).i(D).ptr(ws)
                        .l(lay.gk()).l(lay.gy()).l(lay.gz()));
            }
        }
        dev.launch("hs_lw_theta_sum", 1, K, 1, 32, 1, 1, 0, KernelArgs.of().i(nTheta).i(P).i(B).ptr(ws).l(lay.gth()).ptr(grad));
        dev.launch("hs_theta_chain", KernelDenseOps.ceil((long) K * nTheta, 32), 1, 1, 32, 1, 1, 0, KernelArgs.of()
                .i(K).i(nTheta).ptr(thetaBox).i(P).ptr(params).ptr(grad));
    }

    /** k = (θ_c Δ z_c) for the [B][K][D] arrays z at zOff and k at kOff inside ws (hs_diffusion_field). */
    static void diffusionField(Device dev, GridHybrid m, int B, int K, DeviceBuffer thetaBox, DeviceBuffer params,
                               DeviceBuffer ws, long zOff, long kOff) {
        dev.launch("hs_diffusion_field", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(m.channels()).i(m.height())
                .i(m.width()).f(m.invDx2()).ptr(thetaBox).i(m.parameterCount()).ptr(params).ptr(ws).l(zOff).l(kOff));
    }

    /** gz += (∂k/∂z)ᵀ g and θ's partials (at gthOff, [K][MAX_THETA][B]) += Σ g Δz, inside ws (hs_diffusion_vjp). */
    static void diffusionVjp(Device dev, GridHybrid m, int B, int K, DeviceBuffer thetaBox, DeviceBuffer params,
                             DeviceBuffer ws, long zOff, long gOff, long gzOff, long gthOff) {
        dev.launch("hs_diffusion_vjp", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(m.channels()).i(m.height())
                .i(m.width()).f(m.invDx2()).ptr(thetaBox).i(m.parameterCount()).ptr(params).ptr(ws).l(zOff).l(gOff)
                .l(gzOff).l(gthOff));
    }

    /** Device buffer for θ's box (lo, hi, log?) per component, as the kernels read it. */
    DeviceBuffer thetaBox() {
        return thetaBox;
    }

    private Strided at(long off) {
        return new Strided(wsBuf, off, 0);
    }

    private Strided weights(int l) {
        return new Strided(paramsBuf, model.thetaCount() + net.weightOffset(l), P);
    }

    private Strided bias(int l) {
        return new Strided(paramsBuf, model.thetaCount() + net.biasOffset(l), P);
    }

    private Strided gradWeights(DeviceBuffer grad, int l) {
        return new Strided(grad, model.thetaCount() + net.weightOffset(l), P);
    }

    private Strided gradBias(DeviceBuffer grad, int l) {
        return new Strided(grad, model.thetaCount() + net.biasOffset(l), P);
    }
}
