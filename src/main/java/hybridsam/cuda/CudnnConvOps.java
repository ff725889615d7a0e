package hybridsam.cuda;

import hybridsam.cuda.DenseOps.Strided;
import hybridsam.model.ConvShape;

/**
 * {@link ConvOps} through cuDNN (JCudnn): a 3 × 3 layer for K replicas over n samples is one
 * grouped convolution (groups = K) of the already padded input n × (K·in) × (H+2) × (W+2) with
 * the filter (K·out) × in × 3 × 3, no padding of cuDNN's (it pads with zeros only; the project's
 * kernel pads edge-replicate), stride 1, cross-correlation (tap (ky, kx) reads padded input
 * (y + ky, x + kx), which is what {@link ConvShape}'s layout means). Forward, backward data and
 * backward filter are one cuDNN call each; handle, descriptors, the deterministic algorithm
 * choice, FMA math, workspace and aligned staging are {@link CudnnConvolution}'s.
 *
 * <p>The replicas' weights lie strided in the parameters, cuDNN wants one dense filter: they are
 * gathered into a packed filter before each call (hs_batch_copy, one launch), and the weight
 * gradient is computed into a packed buffer (beta 0) and added into the strided dW the same way,
 * so that backwardFilter accumulates as the interface asks. Bias: forward packs the K bias
 * vectors and broadcasts them into y (hs_bias_set, per sample) before the convolution adds
 * into it (beta 1); db is Σ over cells per sample (hs_bias_grad into zeroed scratch), then Σ
 * over samples (hs_tilesum), then added into the strided db: fixed-order sums in double, no
 * atomics, so the gradient is the same bits from run to run (cuDNN's documentation gives no
 * summation order for cudnnConvolutionBackwardBias, so it is not used).
 *
 * <p>Lifetime: scratch (packed filter, filter gradient, bias scratch, workspace, staging) grows
 * at the first call of a shape and is kept until {@link #close}, since a captured graph keeps
 * the addresses it was captured with; run each shape once outside a capture before capturing
 * it (an allocation inside a capture is refused by the driver). close() waits for the stream and
 * frees all of it with the cuDNN handle; the device itself stays open.
 */
public final class CudnnConvOps implements ConvOps {
    /** gridDim.y limit: launches batched over samples go in chunks of at most this many. */
    private static final int MAX_GRID_Y = 65535;
    private static final int TAPS = ConvShape.KERNEL * ConvShape.KERNEL;
    private final JCudaDevice dev;
    private final CudnnConvolution cudnn;
    private DeviceBuffer filter, filterGrad, bias, biasPartial, biasSum;

    /** A cuDNN handle on the device's stream; throws LinkageError when JCudnn does not load. */
    public CudnnConvOps(JCudaDevice dev) {
        this.dev = dev;
        this.cudnn = new CudnnConvolution(dev, "3x3 convolution");
    }

    @Override
    public String describe() {
        return cudnn.version() + " (grouped 3x3 convolution)";
    }

    /** Descriptors for K replicas of a layer in → out over n samples on an H × W grid. */
    private void describe(int K, int n, int in, int out, int H, int W) {
        if (K < 1 || n < 1 || in < 1 || out < 1 || H < 1 || W < 1) {
            throw new IllegalArgumentException("3x3 convolution of K=" + K + " n=" + n + " in=" + in + " out=" + out + " on " + H + "x" + W);
        }
        cudnn.shape(n, K * in, H + 2, W + 2, K * out, ConvShape.KERNEL, ConvShape.KERNEL, K);
    }

    /** The K replicas' [out][in][3][3] weights gathered into one dense [K·out][in][3][3] filter. */
    private void packFilter(int K, int in, int out, Strided w) {
        long len = (long) out * in * TAPS;
        filter = cudnn.grow(filter, K * len);
        KernelDenseOps.batchCopy(dev, K, len, w, new Strided(filter, 0, len), false);
    }

    private static long padded(int K, int n, int ch, int H, int W) {
        return (long) n * K * ch * (H + 2) * (W + 2);
    }

    private static long plain(int K, int n, int ch, int H, int W) {
        return (long) n * K * ch * H * W;
    }

    @Override
    public void forward(int K, int n, int in, int out, int H, int W, Strided w, Strided b, Strided xPadded, Strided y) {
        describe(K, n, in, out, H, W);
        packFilter(K, in, out, w);
        bias = cudnn.grow(bias, (long) K * out);
        KernelDenseOps.batchCopy(dev, K, out, b, new Strided(bias, 0, out), false);
        Strided xa = cudnn.alignedInput(xPadded, padded(K, n, in, H, W), 0);
        Strided ya = cudnn.alignedOutput(y, plain(K, n, out, H, W));
        // y[s] is [K·out][H·W] per sample: one broadcast of the packed bias per sample (bias stride 0)
        long perSample = (long) K * out * H * W;
        for (int s0 = 0; s0 < n; s0 += MAX_GRID_Y) {
            int count = Math.min(MAX_GRID_Y, n - s0);
            KernelDenseOps.biasSet(dev, count, K * out, H * W, new Strided(bias, 0, 0),
                    new Strided(ya.buf(), ya.offset() + s0 * perSample, perSample));
        }
        cudnn.forward(xa, filter, ya, 1f);
        cudnn.copyBack(ya, y, plain(K, n, out, H, W));
    }

    @Override
    public void backwardData(int K, int n, int in, int out, int H, int W, Strided w, Strided dy, Strided dxPadded) {
        describe(K, n, in, out, H, W);
        packFilter(K, in, out, w);
        Strided dya = cudnn.alignedInput(dy, plain(K, n, out, H, W), 0);
        Strided dxa = cudnn.alignedOutput(dxPadded, padded(K, n, in, H, W));
        cudnn.backwardData(filter, dya, dxa);
        cudnn.copyBack(dxa, dxPadded, padded(K, n, in, H, W));
    }

    @Override
    public void backwardFilter(int K, int n, int in, int out, int H, int W, Strided dy, Strided xPadded, Strided dw, Strided db) {
        describe(K, n, in, out, H, W);
        long len = (long) out * in * TAPS;
        filterGrad = cudnn.grow(filterGrad, K * len);
        Strided dya = cudnn.alignedInput(dy, plain(K, n, out, H, W), 0);
        Strided xa = cudnn.alignedInput(xPadded, padded(K, n, in, H, W), 2);
        cudnn.backwardFilter(xa, dya, filterGrad);
        KernelDenseOps.batchCopy(dev, K, len, new Strided(filterGrad, 0, len), dw, true);
        biasGradient(K, n, out, H * W, dy, db);
    }

    /**
     * db[r][o] += Σ_s Σ_cells dy[s][r][o][cell]: per sample over cells into biasPartial [n][K·out]
     * (hs_bias_grad adds, so the scratch is zeroed first), then over samples in sample order
     * (hs_tilesum), then added into the strided db.
     */
    private void biasGradient(int K, int n, int out, int cells, Strided dy, Strided db) {
        int rows = K * out;
        biasPartial = cudnn.grow(biasPartial, (long) n * rows);
        biasSum = cudnn.grow(biasSum, rows);
        dev.zero(biasPartial);
        long perSample = (long) rows * cells;
        for (int s0 = 0; s0 < n; s0 += MAX_GRID_Y) {
            int count = Math.min(MAX_GRID_Y, n - s0);
            KernelDenseOps.biasGrad(dev, count, rows, cells, new Strided(dy.buf(), dy.offset() + s0 * perSample, perSample),
                    new Strided(biasPartial, (long) s0 * rows, rows));
        }
        dev.launch("hs_tilesum", KernelDenseOps.ceil(rows, 256), 1, 1, 256, 1, 1, 0, KernelArgs.of()
                .ptr(biasPartial).i(n).i(rows).ptr(biasSum));
        KernelDenseOps.batchCopy(dev, K, out, new Strided(biasSum, 0, out), db, true);
    }

    @Override
    public void close() {
        cudnn.close();
    }
}
