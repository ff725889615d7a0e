package hybridsam.cuda;

import hybridsam.cuda.DenseOps.Strided;
import hybridsam.model.ConvShape;
import hybridsam.model.Split;

/**
 * The gradient program of the light-tunnel hybrid ({@link LightHybrid}) for K replicas and their
 * minibatches of B images together: hs_lt_render draws every replica's F2 image (θ = S through
 * its box transform) and lays out the network's input [F2 image, inputs as channels]; the
 * convolutional network runs through a {@link ConvOps} (pad → convolution → activation); and
 * hs_lt_residual adds the F2 image to the network's output and forms the pixel loss's squared
 * errors and gradient. The reverse pass goes back through the layers (the filter gradients
 * straight into grad) to the input's gradient, and hs_lt_vjp folds the image's gradient (the
 * direct path plus the one through the network's input) into S's partials per sample, which
 * hs_lt_theta_sum adds in sample order and hs_theta_chain carries onto u. Every sum runs in an
 * order fixed by the sizes (no atomics), so a replica's gradient is the same on every run.
 *
 * <p>Workspace (floats, one buffer; arrays [B][K][C][H][W]): the layer inputs (x0 with 3 +
 * INPUTS channels, then each hidden layer's activations), the network's output fn and the loss
 * gradient g (3 channels each), x0's gradient, two padded scratch grids (maxChannels each), two
 * backward buffers (maxHidden each), and θ's partials (K·9·B).
 */
public final class LightTunnelGradient implements DeviceGradient {
    private final Device dev;
    private final LightHybrid model;
    private final ConvOps conv;
    private final ConvShape net;
    private final int K, P, H, W, L, act, nTheta;
    private final DeviceBuffer thetaBox, mask, constants;
    private DeviceBuffer inputs, images;
    private int count = -1;
    /** The buffers of the gradient being enqueued. */
    private DeviceBuffer paramsBuf, wsBuf;

    public LightTunnelGradient(DeviceScope scope, LightHybrid model, int K, ConvOps conv) {
        if (K < 1 || K > 65535) throw new IllegalArgumentException("replicas must lie in [1, 65535] (got " + K + ")");
        this.dev = scope.device();
        this.model = model;
        this.conv = conv;
        this.net = model.net();
        this.K = K;
        this.P = model.parameterCount();
        this.H = model.height();
        this.W = model.width();
        this.L = net.layers();
        this.act = KernelConstants.activation(net.activation());
        this.nTheta = model.thetaCount();
        double[] box = StepKernels.thetaBox(model.theta());
        thetaBox = scope.doubles(box.length);
        dev.upload(thetaBox, box);
        mask = scope.floats(model.mask().length);
        dev.upload(mask, model.mask());
        double[] c = model.constants();
        constants = scope.doubles(c.length);
        dev.upload(constants, c);
    }

    public LightHybrid model() {
        return model;
    }

    public ConvOps conv() {
        return conv;
    }

    @Override
    public void upload(DeviceScope scope, Split train) {
        LightHybrid.Samples s = model.samples().apply(train);
        int HW = H * W;
        if (s.inputs().length != (long) s.count() * LightHybrid.INPUTS || s.images().length != (long) s.count() * 3 * HW) {
            throw new IllegalArgumentException("light-tunnel data: expected " + s.count() + " x " + LightHybrid.INPUTS
                    + " inputs and " + s.count() + " x 3 x " + H + " x " + W + " images");
        }
        inputs = scope.floats(Math.max(1, s.inputs().length));
        dev.upload(inputs, s.inputs());
        images = scope.floats(Math.max(1, s.images().length));
        dev.upload(images, s.images());
        count = s.count();
    }

    @Override
    public int count() {
        if (count < 0) throw new IllegalStateException("the gradient program has no training split: upload one first");
        return count;
    }

    /** The loss weight 1 / (B · 3 · H · W): the pixel MSE. */
    public static float lossWeight(LightHybrid model, int B) {
        return (float) (1.0 / ((double) B * 3 * model.height() * model.width()));
    }

    @Override
    public float lossWeight(int B) {
        return lossWeight(model, B);
    }

    @Override
    public String networkEngine() {
        return conv.describe();
    }

    @Override
    public boolean warmsUpOutsideCapture() {
        return !(conv instanceof KernelConvOps);
    }

    /** The workspace's float offsets for batch size B. */
    record Layout(long fn, long g, long dx0, long xpA, long xpB, long dA, long dB, long gth, long[] inputOff, long total) {
    }

    static Layout layout(LightHybrid model, int K, int B) {
        ConvShape net = model.net();
        int L = net.layers(), HW = net.cells();
        long bk = (long) B * K;
        int maxHidden = 1;
        for (int l = 1; l < L; l++) maxHidden = Math.max(maxHidden, net.in(l));
        long padded = bk * net.maxChannels() * (net.height() + 2) * (net.width() + 2);
        long at = 0;
        long[] inputOff = new long[L];
        for (int l = 0; l < L; l++) {
            inputOff[l] = at;
            at = LayerwiseGradient.aligned(at + bk * net.in(l) * HW);
        }
        long fn = at; at = LayerwiseGradient.aligned(at + bk * 3 * HW);
        long g = at; at = LayerwiseGradient.aligned(at + bk * 3 * HW);
        long dx0 = at; at = LayerwiseGradient.aligned(at + bk * net.in(0) * HW);
        long xpA = at; at = LayerwiseGradient.aligned(at + padded);
        long xpB = at; at = LayerwiseGradient.aligned(at + padded);
        long dA = at; at = LayerwiseGradient.aligned(at + bk * maxHidden * HW);
        long dB = at; at = LayerwiseGradient.aligned(at + bk * maxHidden * HW);
        long gth = at; at = LayerwiseGradient.aligned(at + (long) K * model.thetaCount() * B);
        return new Layout(fn, g, dx0, xpA, xpB, dA, dB, gth, inputOff, at);
    }

    /** Floats of workspace for K replicas and batch size B. */
    public static long workspaceFloats(LightHybrid model, int K, int B) {
        return layout(model, K, B).total();
    }

    @Override
    public long workspaceFloats(int B) {
        return workspaceFloats(model, K, B);
    }

    @Override
    public void gradient(DeviceBuffer params, DeviceBuffer batch, int B, DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq,
                         DeviceBuffer grad) {
        if (count < 0) throw new IllegalStateException("the gradient program has no training split: upload one first");
        gradient(params, inputs, images, batch, B, ws, sq, grad);
    }

    /**
     * Loss partials and gradient of every replica's minibatch (batch[r·B + b] indexes inputs
     * [n][INPUTS] and images [n][3][H][W]): ws holds {@link #workspaceFloats} floats, sq K·B
     * doubles (the squared errors per sample), grad K·P floats (overwritten; θ's block w.r.t. u).
     */
    public void gradient(DeviceBuffer params, DeviceBuffer inputs, DeviceBuffer images, DeviceBuffer batch, int B,
                         DeviceBuffer ws, DeviceBuffer sq, DeviceBuffer grad) {
        Layout lay = layout(model, K, B);
        if (ws.bytes() < 4 * lay.total()) throw new IllegalArgumentException("light-tunnel workspace too small");
        if ((long) B * K > KernelConvOps.MAX_GRID_YZ) {
            throw new IllegalArgumentException("batch x replicas " + B + " x " + K + " exceeds " + KernelConvOps.MAX_GRID_YZ);
        }
        paramsBuf = params;
        wsBuf = ws;
        int HW = H * W;
        float two = 2f * lossWeight(B);
        dev.launch("hs_lw_zero", KernelDenseOps.ceil((long) K * P, 256), 1, 1, 256, 1, 1, 0,
                KernelArgs.of().l((long) K * P).ptr(grad));
        dev.launch("hs_lt_render", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(H).i(W).ptr(thetaBox).i(P)
                .ptr(params).ptr(inputs).ptr(mask).ptr(constants).ptr(batch).ptr(ws).l(lay.inputOff()[0]));
        for (int l = 0; l < L; l++) {
            int in = net.in(l), out = net.out(l);
            KernelConvOps.pad(dev, (long) B * K * in, H, W, ws, lay.inputOff()[l], ws, lay.xpA());
            long y = l < L - 1 ? lay.inputOff()[l + 1] : lay.fn();
            conv.forward(K, B, in, out, H, W, weights(l), bias(l), at(lay.xpA()), at(y));
            if (l < L - 1) {
                long n = (long) B * K * out * HW;
                dev.launch("hs_act_forward", KernelDenseOps.ceil(n, 256), 1, 1, 256, 1, 1, 0,
                        KernelArgs.of().i(act).l(n).ptr(ws).l(y));
            }
        }
        dev.launch("hs_lt_residual", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(H).i(W).ptr(images).ptr(batch)
                .ptr(ws).l(lay.inputOff()[0]).l(lay.fn()).l(lay.g()).f(two).ptr(sq));
        long dOut = lay.g(), cur = lay.dA(), nxt = lay.dB();
        for (int l = L - 1; l >= 0; l--) {
            int in = net.in(l), out = net.out(l);
            long x = lay.inputOff()[l];
            KernelConvOps.pad(dev, (long) B * K * in, H, W, ws, x, ws, lay.xpA());
            conv.backwardFilter(K, B, in, out, H, W, at(dOut), at(lay.xpA()), gradWeights(grad, l), gradBias(grad, l));
            conv.backwardData(K, B, in, out, H, W, weights(l), at(dOut), at(lay.xpB()));
            long dx = l > 0 ? cur : lay.dx0();
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
        dev.launch("hs_lt_vjp", B, K, 1, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of().i(H).i(W).ptr(thetaBox).i(P)
                .ptr(params).ptr(inputs).ptr(mask).ptr(constants).ptr(batch).ptr(ws).l(lay.g()).l(lay.dx0()).l(lay.gth()));
        dev.launch("hs_lt_theta_sum", KernelDenseOps.ceil(nTheta, 32), K, 1, 32, 1, 1, 0, KernelArgs.of().i(nTheta).i(P).i(B)
                .ptr(ws).l(lay.gth()).ptr(grad));
        dev.launch("hs_theta_chain", KernelDenseOps.ceil((long) K * nTheta, 32), 1, 1, 32, 1, 1, 0, KernelArgs.of()
                .i(K).i(nTheta).ptr(thetaBox).i(P).ptr(params).ptr(grad));
    }

    private Strided at(long off) {
        return new Strided(wsBuf, off, 0);
    }

    private Strided weights(int l) {
        return new Strided(paramsBuf, nTheta + net.weightOffset(l), P);
    }

    private Strided bias(int l) {
        return new Strided(paramsBuf, nTheta + net.biasOffset(l), P);
    }

    private Strided gradWeights(DeviceBuffer grad, int l) {
        return new Strided(grad, nTheta + net.weightOffset(l), P);
    }

    private Strided gradBias(DeviceBuffer grad, int l) {
        return new Strided(grad, nTheta + net.biasOffset(l), P);
    }
}
