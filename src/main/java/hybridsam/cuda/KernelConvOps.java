package hybridsam.cuda;

import hybridsam.cuda.DenseOps.Strided;

/**
 * {@link ConvOps} through the project's own kernels (native-kernels/conv.cu): a direct 3 × 3
 * convolution with one thread per output value (hs_conv3_forward), its adjoint into the padded
 * input's gradient (hs_conv3_backward_data) and the filter gradient as one block per (input
 * channel, output channel, replica) with a fixed-order tree sum (hs_conv3_backward_filter). Also
 * the edge-replicate padding and its adjoint that every backend's convolutions are fed by. Runs
 * wherever the project's kernels run, the emulated device included, so the convolutional path
 * is tested in CI.
 */
public final class KernelConvOps implements ConvOps {
    /** HS_CONV_BLOCK in conv.cu: threads per block of the forward and backward-data kernels. */
    static final int BLOCK = 128;
    /** Grid limit of the y and z dimensions (channels, samples × replicas). */
    static final int MAX_GRID_YZ = 65535;
    private final Device dev;

    public KernelConvOps(Device dev) {
        this.dev = dev;
    }

    @Override
    public String describe() {
        return "project kernels (hs_conv3)";
    }

    @Override
    public void forward(int K, int n, int in, int out, int H, int W, Strided w, Strided b, Strided xPadded, Strided y) {
        check(K, n, in, out, H, W);
        dev.launch("hs_conv3_forward", KernelDenseOps.ceil((long) H * W, BLOCK), out, n * K, BLOCK, 1, 1, 0, KernelArgs.of()
                .i(K).i(in).i(out).i(H).i(W).ptr(w.buf()).l(w.offset()).l(w.stride())
                .ptr(b.buf()).l(b.offset()).l(b.stride()).ptr(xPadded.buf()).l(xPadded.offset())
                .ptr(y.buf()).l(y.offset()));
    }

    @Override
    public void backwardData(int K, int n, int in, int out, int H, int W, Strided w, Strided dy, Strided dxPadded) {
        check(K, n, in, out, H, W);
        dev.launch("hs_conv3_backward_data", KernelDenseOps.ceil((long) (H + 2) * (W + 2), BLOCK), in, n * K, BLOCK, 1, 1, 0,
                KernelArgs.of().i(K).i(in).i(out).i(H).i(W).ptr(w.buf()).l(w.offset()).l(w.stride())
                        .ptr(dy.buf()).l(dy.offset()).ptr(dxPadded.buf()).l(dxPadded.offset()));
    }

    @Override
    public void backwardFilter(int K, int n, int in, int out, int H, int W, Strided dy, Strided xPadded, Strided dw, Strided db) {
        check(K, n, in, out, H, W);
        dev.launch("hs_conv3_backward_filter", in, out, K, StepKernels.BLOCK, 1, 1, 0, KernelArgs.of()
                .i(K).i(n).i(in).i(out).i(H).i(W).ptr(dy.buf()).l(dy.offset()).ptr(xPadded.buf()).l(xPadded.offset())
                .ptr(dw.buf()).l(dw.offset()).l(dw.stride()).ptr(db.buf()).l(db.offset()).l(db.stride()));
    }

    /** The grids put channels in y and samples × replicas in z; beyond their limit the launch would fail on a GPU only. */
    private static void check(int K, int n, int in, int out, int H, int W) {
        if (K < 1 || n < 1 || in < 1 || out < 1 || H < 1 || W < 1) {
            throw new IllegalArgumentException("convolution of size K=" + K + " n=" + n + " " + in + "->" + out + " " + H + "x" + W);
        }
        if ((long) n * K > MAX_GRID_YZ || in > MAX_GRID_YZ || out > MAX_GRID_YZ) {
            throw new IllegalArgumentException("the convolution kernels take at most " + MAX_GRID_YZ
                    + " samples x replicas and channels per layer (got " + n + " x " + K + ", " + in + "->" + out + ")");
        }
    }

    /** xp = x padded by one cell on every side, edge-replicate, for planes grids of H × W (planes = n·K·C). */
    public static void pad(Device dev, long planes, int H, int W, DeviceBuffer x, long xOff, DeviceBuffer xp, long xpOff) {
        dev.launch("hs_pad_replicate", KernelDenseOps.ceil(planes * (H + 2) * (W + 2), 256), 1, 1, 256, 1, 1, 0,
                KernelArgs.of().l(planes).i(H).i(W).ptr(x).l(xOff).ptr(xp).l(xpOff));
    }

    /** The adjoint of {@link #pad}: g = (or += with accumulate) the padded gradient gp folded back onto the grid. */
    public static void padAdjoint(Device dev, long planes, int H, int W, DeviceBuffer gp, long gpOff, DeviceBuffer g, long gOff,
                                  boolean accumulate) {
        dev.launch("hs_pad_replicate_adjoint", KernelDenseOps.ceil(planes * H * W, 256), 1, 1, 256, 1, 1, 0,
                KernelArgs.of().l(planes).i(H).i(W).ptr(gp).l(gpOff).ptr(g).l(gOff).i(accumulate ? 1 : 0));
    }
}
