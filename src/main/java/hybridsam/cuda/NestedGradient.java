package hybridsam.cuda;

import hybridsam.model.ImageSequences;
import hybridsam.model.MlpShape;
import hybridsam.model.NestedHybrid;
import hybridsam.model.OdeHybrid;
import hybridsam.model.Split;

import java.util.Optional;

/**
 * The gradient program of the nested hybrid ({@link NestedHybrid}, pendulum-images) for K
 * replicas and their minibatches of B image sequences together. hs_ni_gather lays out every
 * replica's encoder input (the first frames of its sequences); the encoder's dense layers run
 * through a {@link DenseOps} (the project's GEMM kernels, cuBLAS or cuDNN; replicas as the batch
 * of a strided-batched product) to z0; hs_ni_forward rolls the ODE hybrid out from z0 with the
 * fused per-thread RK4 of ode.cu (one thread per sample and replica, every stage kept) and writes
 * every frame's state where the decoder reads it ([D][T·B] per replica: all frames of all samples
 * are one batch of T·B columns); the decoder's dense layers give the logits, and hs_ni_residual
 * forms sigmoid, the pixel residual against the sequence's frames, dL/dlogit and the per-sample
 * squared errors. The reverse pass goes back through the decoder (its weight gradients straight
 * into grad) to the state adjoints of every frame, hs_ni_reverse runs the rollout's exact
 * reverse (per-sample gradient rows of θ and the corrector, and z0's adjoint), hs_ni_rowsum sums
 * the rows in sample order, hs_theta_chain carries θ's block onto u, and the encoder's backward
 * adds its weight gradients (its input's gradient is not needed). Every sum runs in an order
 * fixed by the sizes (no atomics), so a replica's gradient is the same on every run.
 *
 * <p>Workspace (floats, one buffer, arrays packed over the replicas, each start 16-byte aligned):
 * the encoder's layer inputs ([K][w][B], X first) and output z0, the decoder's layer inputs
 * ([K][w][T·B], the states Z first) and logits ([K][px][T·B]), two decoder backward buffers
 * (maxHidden rows of T·B), the state adjoints gZ ([K][D][T·B]), gz0 ([K][D][B]), two encoder
 * backward buffers, and the rollout's per-sample workspace (K·W·B, W = {@link #rolloutFloats}).
 */
public final class NestedGradient implements DeviceGradient {
    private final Device dev;
    private final NestedHybrid model;
    private final OdeHybrid ode;
    private final MlpShape enc, dec, net;
    private final DenseOps dense;
    private final int K, P, nTheta, G, D, px, E, modelId, actNet, actEnc, actDec;
    private final DeviceBuffer thetaBox, widths;
    private DeviceBuffer images;
    private int count = -1, frames = -1;
    /** The buffers of the gradient being enqueued. */
    private DeviceBuffer paramsBuf, wsBuf;

    public NestedGradient(DeviceScope scope, NestedHybrid model, int K, DenseOps dense) {
        supports(model).ifPresent(why -> {
            throw new IllegalArgumentException(why);
        });
        if (K < 1 || K > 65535) throw new IllegalArgumentException("replicas must lie in [1, 65535] (got " + K + ")");
        this.dev = scope.device();
        this.model = model;
        this.ode = model.ode();
        this.enc = model.encoder();
        this.dec = model.decoder();
        this.net = ode.mlp();
        this.dense = dense;
        this.K = K;
        this.P = model.parameterCount();
        this.nTheta = model.thetaCount();
        this.G = rows(model);
        this.D = model.stateDim();
        this.px = model.pixels();
        this.E = model.encoderFrames() * px;
        this.modelId = StepKernels.modelId(ode);
        this.actNet = KernelConstants.activation(net.activation());
        this.actEnc = KernelConstants.activation(enc.activation());
        this.actDec = KernelConstants.activation(dec.activation());
        double[] box = StepKernels.thetaBox(model.thetaSpec());
        thetaBox = scope.doubles(Math.max(1, box.length));
        dev.upload(thetaBox, box);
        widths = scope.ints(net.widths().length);
        dev.upload(widths, net.widths());
    }

    /** Whether this program runs the model: empty, or the reason it cannot. */
    public static Optional<String> supports(NestedHybrid model) {
        Optional<String> ode = StepKernels.supports(model.ode());
        if (ode.isPresent()) return Optional.of("the nested hybrid's ODE: " + ode.get());
        if (model.correctorOffset() != model.thetaCount()) return Optional.of("the nested program needs the corrector right after theta");
        return Optional.empty();
    }

    /** Gradient rows per replica the rollout kernels write: θ then the corrector. */
    static int rows(NestedHybrid model) {
        return model.thetaCount() + model.ode().corrector().parameterCount();
    }

    public NestedHybrid model() {
        return model;
    }

    public DenseOps dense() {
        return dense;
    }

    @Override
    public void upload(DeviceScope scope, Split train) {
        if (!(train instanceof ImageSequences s)) {
            throw new IllegalArgumentException("the nested hybrid trains on ImageSequences, not " + train.getClass().getSimpleName());
        }
        if (s.height() != model.height() || s.width() != model.width()) {
            throw new IllegalArgumentException("the data's images are " + s.height() + "x" + s.width() + ", the model's "
                    + model.height() + "x" + model.width());
        }
        if (s.frames() < model.encoderFrames()) {
            throw new IllegalArgumentException("the encoder reads " + model.encoderFrames() + " frames, the sequences have " + s.frames());
        }
        images = scope.floats(s.images().length);
        dev.upload(images, s.images());
        count = s.count();
        frames = s.frames();
    }

    private void required() {
        if (count < 0) throw new IllegalStateException("the gradient program has no training split: upload one first");
    }

    @Override
    public int count() {
        required();
        return count;
    }

    /** The loss weight 1 / (B · T · H · W): the pixel MSE over all frames. */
    public static float lossWeight(NestedHybrid model, int B, int frames) {
        return (float) (1.0 / ((double) B * frames * model.pixels()));
    }

    @Override
    public float lossWeight(int B) {
        required();
        return lossWeight(model, B, frames);
    }

    @Override
    public String networkEngine() {
        return dense.describe();
    }

    @Override
    public boolean warmsUpOutsideCapture() {
        return !(dense instanceof KernelDenseOps);
    }

    /** Floats of the rollout's workspace per sample (hs_ni_rollout_floats in nested.cu). */
    static long rolloutFloats(NestedHybrid model, int frames) {
        MlpShape net = model.ode().mlp();
        long steps = (long) (frames - 1) * model.ode().stepsPerFrame();
        return steps * 4 * (StepKernels.STATE_DIM + net.hiddenUnits()) + 2L * net.maxWidth();
    }

    /** The workspace's float offsets for batch size B. */
    record Layout(long[] encIn, long z0, long[] decIn, long logits, long dA, long dB, long gZ, long gz0, long eA, long eB,
                  long roll, long total) {
    }

    static Layout layout(NestedHybrid model, int K, int B, int frames) {
        MlpShape enc = model.encoder(), dec = model.decoder();
        long kb = (long) K * B, ktb = kb * frames;
        int D = model.stateDim();
        long at = 0;
        long[] encIn = new long[enc.layers()];
        for (int l = 0; l < enc.layers(); l++) {
            encIn[l] = at;
            at = LayerwiseGradient.aligned(at + kb * enc.in(l));
        }
        long z0 = at; at = LayerwiseGradient.aligned(at + kb * D);
        long[] decIn = new long[dec.layers()];
        for (int l = 0; l < dec.layers(); l++) {
            decIn[l] = at;
            at = LayerwiseGradient.aligned(at + ktb * dec.in(l));
        }
        long logits = at; at = LayerwiseGradient.aligned(at + ktb * model.pixels());
        long decHidden = 1, encHidden = 1;
        for (int l = 1; l < dec.layers(); l++) decHidden = Math.max(decHidden, dec.in(l));
        for (int l = 1; l < enc.layers(); l++) encHidden = Math.max(encHidden, enc.in(l));
        long dA = at; at = LayerwiseGradient.aligned(at + ktb * decHidden);
        long dB = at; at = LayerwiseGradient.aligned(at + ktb * decHidden);
        long gZ = at; at = LayerwiseGradient.aligned(at + ktb * D);
        long gz0 = at; at = LayerwiseGradient.aligned(at + kb * D);
        long eA = at; at = LayerwiseGradient.aligned(at + kb * encHidden);
        long eB = at; at = LayerwiseGradient.aligned(at + kb * encHidden);
        long roll = at; at = LayerwiseGradient.aligned(at + kb * rolloutFloats(model, frames));
        return new Layout(encIn, z0, decIn, logits, dA, dB, gZ, gz0, eA, eB, roll, at);
    }

    /** Floats of workspace for K replicas, batch size B and sequences of the given frames. */
    public static long workspaceFloats(NestedHybrid model, int K, int B, int frames) {
        return layout(model, K, B, frames).total();
    }

    @Override
    public long workspaceFloats(int B) {
        required();
        return workspaceFloats(model, K, B, frames);
    }

    /** Floats of per-sample gradient rows: K · (θ + corrector) · B. */
    public static long gradientRowsFloats(NestedHybrid model, int K, int B) {
        return (long) K * rows(model) * B;
    }

    @Override
    public long gradientRowsFloats(int B) {
        return gradientRowsFloats(model, K, B);
    }

    @Override
    public void gradient(DeviceBuffer params, DeviceBuffer batch, int B, DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq,
                         DeviceBuffer grad) {
        required();
        gradient(params, images, frames, batch, B, ws, gs, sq, grad);
    }

    /**
     * Loss partials and gradient of every replica's minibatch (batch[r·B + b] indexes the
     * sequences of images, [n][T][H][W]): ws holds {@link #workspaceFloats} floats, gs
     * {@link #gradientRowsFloats}, sq K·B doubles (the squared errors per sample), grad K·P floats
     * (overwritten; θ's block w.r.t. u).
     */
    public void gradient(DeviceBuffer params, DeviceBuffer images, int frames, DeviceBuffer batch, int B, DeviceBuffer ws,
                         DeviceBuffer gs, DeviceBuffer sq, DeviceBuffer grad) {
        Layout lay = layout(model, K, B, frames);
        if (ws.bytes() < 4 * lay.total()) throw new IllegalArgumentException("nested workspace too small");
        if (gs.bytes() < 4 * gradientRowsFloats(model, K, B)) throw new IllegalArgumentException("nested gradient rows too small");
        if (frames < model.encoderFrames()) throw new IllegalArgumentException("sequences shorter than the encoder's frames");
        paramsBuf = params;
        wsBuf = ws;
        int T = frames, spf = ode.stepsPerFrame(), TB = T * B, g = KernelDenseOps.ceil(B, StepKernels.ROLLOUT_BLOCK);
        float h = (float) ode.h(), two = 2f * lossWeight(model, B, frames);
        dev.launch("hs_lw_zero", KernelDenseOps.ceil((long) K * P, 256), 1, 1, 256, 1, 1, 0,
                KernelArgs.of().l((long) K * P).ptr(grad));
        dev.launch("hs_ni_gather", KernelDenseOps.ceil((long) E * B, 256), K, 1, 256, 1, 1, 0, KernelArgs.of().i(E)
                .l((long) T * px).ptr(images).ptr(batch).i(B).ptr(ws).l(lay.encIn()[0]));
        // encoder: X -> z0
        forward(enc, model.encoderOffset(), actEnc, B, lay.encIn(), lay.z0());
        // the rollout: z0 -> Z (the decoder's input)
        dev.launch("hs_ni_forward", g, K, 1, StepKernels.ROLLOUT_BLOCK, 1, 1, 0, KernelArgs.of().i(modelId).i(actNet)
                .i(net.layers()).ptr(widths).i(nTheta).ptr(thetaBox).i(P).ptr(params).i(T).i(B).f(h).i(spf).ptr(ws)
                .l(lay.roll()).l(lay.z0()).l(lay.decIn()[0]));
        // decoder: Z -> logits
        forward(dec, model.decoderOffset(), actDec, TB, lay.decIn(), lay.logits());
        dev.launch("hs_ni_residual", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(px).i(T).ptr(images).ptr(batch)
                .ptr(ws).l(lay.logits()).f(two).ptr(sq));
        // reverse: decoder (weights into grad) -> the state adjoints gZ
        backward(dec, model.decoderOffset(), actDec, TB, lay.decIn(), lay.logits(), lay.dA(), lay.dB(), lay.gZ(), grad);
        dev.launch("hs_ni_reverse", g, K, 1, StepKernels.ROLLOUT_BLOCK, 1, 1, 0, KernelArgs.of().i(modelId).i(actNet)
                .i(net.layers()).ptr(widths).i(nTheta).ptr(thetaBox).i(P).ptr(params).i(G).i(T).i(B).f(h).i(spf).ptr(ws)
                .l(lay.roll()).l(lay.gZ()).l(lay.gz0()).ptr(gs));
        dev.launch("hs_ni_rowsum", KernelDenseOps.ceil(G, 64), K, 1, 64, 1, 1, 0, KernelArgs.of().i(G).i(P).i(B).ptr(gs).ptr(grad));
        if (nTheta > 0) {
            dev.launch("hs_theta_chain", KernelDenseOps.ceil((long) K * nTheta, 32), 1, 1, 32, 1, 1, 0, KernelArgs.of()
                    .i(K).i(nTheta).ptr(thetaBox).i(P).ptr(params).ptr(grad));
        }
        // encoder's weights (its input's gradient is not needed)
        backward(enc, model.encoderOffset(), actEnc, B, lay.encIn(), lay.gz0(), lay.eA(), lay.eB(), -1, grad);
    }

    /** An MLP's forward over n columns: layer inputs at in[l] ([K][w][n]), the output at out. */
    private void forward(MlpShape s, int off, int act, int n, long[] in, long out) {
        int L = s.layers();
        for (int l = 0; l < L; l++) {
            int i = s.in(l), o = s.out(l);
            long y = l < L - 1 ? in[l + 1] : out;
            dense.forward(K, o, i, n, new DenseOps.Strided(paramsBuf, off + s.weightOffset(l), P),
                    new DenseOps.Strided(paramsBuf, off + s.biasOffset(l), P), at(in[l], (long) i * n), at(y, (long) o * n));
            if (l < L - 1) activation("hs_act_forward", act, (long) K * o * n, y, -1);
        }
    }

    /**
     * An MLP's backward over n columns from dL/doutput at dOut: weight and bias gradients added to
     * grad, the input's gradient to dx (none when dx < 0); a, b: two buffers of the widest hidden layer.
     */
    private void backward(MlpShape s, int off, int act, int n, long[] in, long dOut, long a, long b, long dx, DeviceBuffer grad) {
        long cur = a, nxt = b, dy = dOut;
        for (int l = s.layers() - 1; l >= 0; l--) {
            int i = s.in(l), o = s.out(l);
            DenseOps.Strided dY = at(dy, (long) o * n);
            dense.backwardWeights(K, o, i, n, dY, at(in[l], (long) i * n), new DenseOps.Strided(grad, off + s.weightOffset(l), P),
                    new DenseOps.Strided(grad, off + s.biasOffset(l), P));
            if (l > 0) {
                dense.backwardData(K, o, i, n, new DenseOps.Strided(paramsBuf, off + s.weightOffset(l), P), dY, at(cur, (long) i * n));
                activation("hs_act_backward", act, (long) K * i * n, cur, in[l]);
                dy = cur;
                long t = cur;
                cur = nxt;
                nxt = t;
            } else if (dx >= 0) {
                dense.backwardData(K, o, i, n, new DenseOps.Strided(paramsBuf, off + s.weightOffset(l), P), dY, at(dx, (long) i * n));
            }
        }
    }

    private DenseOps.Strided at(long off, long stride) {
        return new DenseOps.Strided(wsBuf, off, stride);
    }

    /** hs_act_forward on n values at off, or hs_act_backward (dx at off, stored outputs at hOff). */
    private void activation(String kernel, int act, long n, long off, long hOff) {
        KernelArgs a = KernelArgs.of().i(act).l(n).ptr(wsBuf).l(off);
        if (hOff >= 0) a.ptr(wsBuf).l(hOff);
        dev.launch(kernel, KernelDenseOps.ceil(n, 256), 1, 1, 256, 1, 1, 0, a);
    }
}
