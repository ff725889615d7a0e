package hybridsam.cuda;

/**
 * {@link DenseOps} through cuDNN (JCudnn): a dense layer over n samples for K replicas is a 1 x 1
 * grouped convolution (groups = K) of the image 1 x (K·in) x 1 x n, with the filter (K·out) x in
 * x 1 x 1: cudnnConvolutionForward, BackwardData and BackwardFilter, on the device's stream.
 * The replicas' weights lie P floats apart in the parameters, so they are packed into a dense
 * filter first (hs_batch_copy), and the packed weight gradient is added back into the
 * replicas' gradients the same way; bias and activations stay the project's kernels. Handle,
 * descriptors, the deterministic algorithm choice, workspace and 16-byte-aligned staging are
 * {@link CudnnConvolution}'s (shared with {@link CudnnConvOps}).
 *
 * <p>The activations X, Y, dY, dX must be packed over the replicas (stride = rows · n), as the
 * layer-wise path lays them out. Scratch grows on demand and is never freed before
 * {@link #close}: a captured graph keeps the addresses it was captured with, and the engine runs
 * one gradient outside the capture first, so no scratch is allocated while capturing.
 * Unverified on a GPU: jcudnn 11.7.0's Java API over the 12.6.0 natives that link cuDNN 9
 * (libcudnn.so.9).
 */
public final class CudnnDenseOps implements DenseOps {
    private final JCudaDevice dev;
    private final CudnnConvolution cudnn;
    private DeviceBuffer filter, filterGrad;

    private CudnnDenseOps(JCudaDevice dev) {
        this.dev = dev;
        this.cudnn = new CudnnConvolution(dev, "dense layer");
    }

    /** A cuDNN handle on the device's stream; throws LinkageError when JCudnn does not load. */
    public static CudnnDenseOps create(JCudaDevice dev) {
        return new CudnnDenseOps(dev);
    }

    @Override
    public String describe() {
        return cudnn.version() + " (grouped 1x1 convolution)";
    }

    private static void packed(Strided s, long rowsTimesN, String what) {
        if (s.stride() != rowsTimesN) {
            throw new IllegalArgumentException("cuDNN dense layer: " + what + " must be packed over the replicas (stride "
                    + rowsTimesN + ", got " + s.stride() + ")");
        }
    }

    /** Descriptors for K replicas of a layer out x in over n samples: image 1 x (K·in) x 1 x n. */
    private void describe(int K, int out, int in, int n) {
        cudnn.shape(1, K * in, 1, n, K * out, 1, 1, K);
    }

    private void packFilter(int K, int out, int in, Strided w) {
        filter = cudnn.grow(filter, (long) K * out * in);
        KernelDenseOps.batchCopy(dev, K, (long) out * in, w, new Strided(filter, 0, (long) out * in), false);
    }

    @Override
    public void forward(int K, int out, int in, int n, Strided w, Strided b, Strided x, Strided y) {
        packed(x, (long) in * n, "X");
        packed(y, (long) out * n, "Y");
        describe(K, out, in, n);
        packFilter(K, out, in, w);
        Strided xa = cudnn.alignedInput(x, (long) K * in * n, 0);
        Strided ya = cudnn.alignedOutput(y, (long) K * out * n);
        KernelDenseOps.biasSet(dev, K, out, n, b, ya);
        cudnn.forward(xa, filter, ya, 1f);
        cudnn.copyBack(ya, y, (long) K * out * n);
    }

    @Override
    public void backwardData(int K, int out, int in, int n, Strided w, Strided dy, Strided dx) {
        packed(dy, (long) out * n, "dY");
        packed(dx, (long) in * n, "dX");
        describe(K, out, in, n);
        packFilter(K, out, in, w);
        Strided dya = cudnn.alignedInput(dy, (long) K * out * n, 0);
        Strided dxa = cudnn.alignedOutput(dx, (long) K * in * n);
        cudnn.backwardData(filter, dya, dxa);
        cudnn.copyBack(dxa, dx, (long) K * in * n);
    }

    @Override
    public void backwardWeights(int K, int out, int in, int n, Strided dy, Strided x, Strided dw, Strided db) {
        packed(dy, (long) out * n, "dY");
        packed(x, (long) in * n, "X");
        describe(K, out, in, n);
        filterGrad = cudnn.grow(filterGrad, (long) K * out * in);
        Strided dya = cudnn.alignedInput(dy, (long) K * out * n, 0);
        Strided xa = cudnn.alignedInput(x, (long) K * in * n, 2);
        cudnn.backwardFilter(xa, dya, filterGrad);
        KernelDenseOps.batchCopy(dev, K, (long) out * in, new Strided(filterGrad, 0, (long) out * in), dw, true);
        KernelDenseOps.biasGrad(dev, K, out, n, dy, db);
    }

    @Override
    public void close() {
        cudnn.close();
    }
}
