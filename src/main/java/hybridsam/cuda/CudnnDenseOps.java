package hybridsam.cuda;

import jcuda.Pointer;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgo;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgo;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionFwdAlgo;
import jcuda.jcudnn.cudnnConvolutionMode;
import jcuda.jcudnn.cudnnDataType;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnHandle;
import jcuda.jcudnn.cudnnMathType;
import jcuda.jcudnn.cudnnStatus;
import jcuda.jcudnn.cudnnTensorDescriptor;
import jcuda.jcudnn.cudnnTensorFormat;
import jcuda.runtime.cudaStream_t;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link DenseOps} through cuDNN (JCudnn): a dense layer over n samples for K replicas is a 1 x 1
 * grouped convolution (groups = K) of the image 1 x (K·in) x 1 x n, with the filter (K·out) x in
 * x 1 x 1: cudnnConvolutionForward, BackwardData and BackwardFilter, on the device's stream.
 * The replicas' weights lie P floats apart in the parameters, so they are packed into a dense
 * filter first (hs_batch_copy), and the packed weight gradient is added back into the
 * replicas' gradients the same way; bias and activations stay the project's kernels. The
 * algorithms are fixed and deterministic (implicit GEMM forward, ALGO_1 backward), with FMA
 * math (no TF32), so that a replica's gradient does not change from run to run.
 *
 * <p>The activations X, Y, dY, dX must be packed over the replicas (stride = rows · n), as the
 * layer-wise path lays them out. Scratch (packed filters, cuDNN workspace) grows on demand and
 * is never freed before {@link #close}: a captured graph keeps the addresses it was captured
 * with, and the engine runs one gradient outside the capture first, so no scratch is allocated
 * while capturing. Unverified on a GPU: jcudnn 11.7.0's Java API over the 12.6.0 natives that
 * link cuDNN 9 (libcudnn.so.9).
 */
public final class CudnnDenseOps implements DenseOps {
    private final JCudaDevice dev;
    private final cudnnHandle handle = new cudnnHandle();
    private final cudnnTensorDescriptor xDesc = new cudnnTensorDescriptor(), yDesc = new cudnnTensorDescriptor();
    private final cudnnFilterDescriptor wDesc = new cudnnFilterDescriptor();
    private final cudnnConvolutionDescriptor conv = new cudnnConvolutionDescriptor();
    private final long version;
    private final List<DeviceBuffer> scratch = new ArrayList<>();
    private DeviceBuffer filter, filterGrad, workspace;
    private boolean closed;

    static final int FWD = cudnnConvolutionFwdAlgo.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    static final int BWD_DATA = cudnnConvolutionBwdDataAlgo.CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    static final int BWD_FILTER = cudnnConvolutionBwdFilterAlgo.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;

    private CudnnDenseOps(JCudaDevice dev) {
        this.dev = dev;
        JCudnn.setExceptionsEnabled(false);
        version = JCudnn.cudnnGetVersion();
        check(JCudnn.cudnnCreate(handle), "cudnnCreate");
        boolean ok = false;
        try {
            check(JCudnn.cudnnSetStream(handle, new cudaStream_t(dev.stream())), "cudnnSetStream");
            check(JCudnn.cudnnCreateTensorDescriptor(xDesc), "cudnnCreateTensorDescriptor");
            check(JCudnn.cudnnCreateTensorDescriptor(yDesc), "cudnnCreateTensorDescriptor");
            check(JCudnn.cudnnCreateFilterDescriptor(wDesc), "cudnnCreateFilterDescriptor");
            check(JCudnn.cudnnCreateConvolutionDescriptor(conv), "cudnnCreateConvolutionDescriptor");
            check(JCudnn.cudnnSetConvolution2dDescriptor(conv, 0, 0, 1, 1, 1, 1,
                    cudnnConvolutionMode.CUDNN_CROSS_CORRELATION, cudnnDataType.CUDNN_DATA_FLOAT), "cudnnSetConvolution2dDescriptor");
            check(JCudnn.cudnnSetConvolutionMathType(conv, cudnnMathType.CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");
            ok = true;
        } finally {
            if (!ok) destroy();
        }
    }

    /** A cuDNN handle on the device's stream; throws LinkageError when JCudnn does not load. */
    public static CudnnDenseOps create(JCudaDevice dev) {
        return new CudnnDenseOps(dev);
    }

    private static void check(int status, String call) {
        if (status != cudnnStatus.CUDNN_STATUS_SUCCESS) {
            throw new DeviceException(call + " failed: " + JCudnn.cudnnGetErrorString(status));
        }
    }

    @Override
    public String describe() {
        return "cuDNN " + version / 10000 + "." + (version / 100) % 100 + "." + version % 100 + " (grouped 1x1 convolution)";
    }

    private Pointer at(DeviceBuffer b, long offsetFloats) {
        return dev.pointer(b).withByteOffset(4 * offsetFloats);
    }

    private Pointer at(Strided s) {
        return at(s.buf(), s.offset());
    }

    private static void packed(Strided s, long rowsTimesN, String what) {
        if (s.stride() != rowsTimesN) {
            throw new IllegalArgumentException("cuDNN dense layer: " + what + " must be packed over the replicas (stride "
                    + rowsTimesN + ", got " + s.stride() + ")");
        }
    }

    /** A scratch buffer of at least floats, grown (never shrunk or freed before close). */
    private DeviceBuffer grow(DeviceBuffer b, long floats) {
        if (b != null && b.bytes() >= 4 * floats) return b;
        DeviceBuffer n = dev.alloc(4 * Math.max(floats, 1));
        scratch.add(n);
        return n;
    }

    /** Descriptors for K replicas of a layer out x in over n samples. */
    private void describe(int K, int out, int in, int n) {
        int f = cudnnTensorFormat.CUDNN_TENSOR_NCHW, t = cudnnDataType.CUDNN_DATA_FLOAT;
        check(JCudnn.cudnnSetTensor4dDescriptor(xDesc, f, t, 1, K * in, 1, n), "cudnnSetTensor4dDescriptor(x)");
        check(JCudnn.cudnnSetTensor4dDescriptor(yDesc, f, t, 1, K * out, 1, n), "cudnnSetTensor4dDescriptor(y)");
        check(JCudnn.cudnnSetFilter4dDescriptor(wDesc, t, f, K * out, in, 1, 1), "cudnnSetFilter4dDescriptor");
        check(JCudnn.cudnnSetConvolutionGroupCount(conv, K), "cudnnSetConvolutionGroupCount");
    }

    private void packFilter(int K, int out, int in, Strided w) {
        filter = grow(filter, (long) K * out * in);
        KernelDenseOps.batchCopy(dev, K, (long) out * in, w, new Strided(filter, 0, (long) out * in), false);
    }

    private long workspace(long bytes) {
        workspace = grow(workspace, (bytes + 3) / 4);
        return bytes;
    }

    private static Pointer one() {
        return Pointer.to(new float[]{1f});
    }

    private static Pointer zero() {
        return Pointer.to(new float[]{0f});
    }

    @Override
    public void forward(int K, int out, int in, int n, Strided w, Strided b, Strided x, Strided y) {
        packed(x, (long) in * n, "X");
        packed(y, (long) out * n, "Y");
        describe(K, out, in, n);
        packFilter(K, out, in, w);
        KernelDenseOps.biasSet(dev, K, out, n, b, y);
        long[] size = new long[1];
        check(JCudnn.cudnnGetConvolutionForwardWorkspaceSize(handle, xDesc, wDesc, conv, yDesc, FWD, size),
                "cudnnGetConvolutionForwardWorkspaceSize");
        long ws = workspace(size[0]);
        check(JCudnn.cudnnConvolutionForward(handle, one(), xDesc, at(x), wDesc, at(filter, 0), conv, FWD,
                at(workspace, 0), ws, one(), yDesc, at(y)), "cudnnConvolutionForward");
    }

    @Override
    public void backwardData(int K, int out, int in, int n, Strided w, Strided dy, Strided dx) {
        packed(dy, (long) out * n, "dY");
        packed(dx, (long) in * n, "dX");
        describe(K, out, in, n);
        packFilter(K, out, in, w);
        long[] size = new long[1];
        check(JCudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(handle, wDesc, yDesc, conv, xDesc, BWD_DATA, size),
                "cudnnGetConvolutionBackwardDataWorkspaceSize");
        long ws = workspace(size[0]);
        check(JCudnn.cudnnConvolutionBackwardData(handle, one(), wDesc, at(filter, 0), yDesc, at(dy), conv, BWD_DATA,
                at(workspace, 0), ws, zero(), xDesc, at(dx)), "cudnnConvolutionBackwardData");
    }

    @Override
    public void backwardWeights(int K, int out, int in, int n, Strided dy, Strided x, Strided dw, Strided db) {
        packed(dy, (long) out * n, "dY");
        packed(x, (long) in * n, "X");
        describe(K, out, in, n);
        filterGrad = grow(filterGrad, (long) K * out * in);
        long[] size = new long[1];
        check(JCudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, xDesc, yDesc, conv, wDesc, BWD_FILTER, size),
                "cudnnGetConvolutionBackwardFilterWorkspaceSize");
        long ws = workspace(size[0]);
        check(JCudnn.cudnnConvolutionBackwardFilter(handle, one(), xDesc, at(x), yDesc, at(dy), conv, BWD_FILTER,
                at(workspace, 0), ws, zero(), wDesc, at(filterGrad, 0)), "cudnnConvolutionBackwardFilter");
        KernelDenseOps.batchCopy(dev, K, (long) out * in, new Strided(filterGrad, 0, (long) out * in), dw, true);
        KernelDenseOps.biasGrad(dev, K, out, n, dy, db);
    }

    private void destroy() {
        JCudnn.cudnnDestroyConvolutionDescriptor(conv);
        JCudnn.cudnnDestroyFilterDescriptor(wDesc);
        JCudnn.cudnnDestroyTensorDescriptor(yDesc);
        JCudnn.cudnnDestroyTensorDescriptor(xDesc);
        JCudnn.cudnnDestroy(handle);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        dev.synchronize();
        for (DeviceBuffer b : scratch) b.close();
        scratch.clear();
        destroy();
    }
}
