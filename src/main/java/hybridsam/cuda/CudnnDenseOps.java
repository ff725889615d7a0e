package hybridsam.cuda;

import jcuda.Pointer;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgo;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionFwdAlgoPerf;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@link DenseOps} through cuDNN (JCudnn): a dense layer over n samples for K replicas is a 1 x 1
 * grouped convolution (groups = K) of the image 1 x (K·in) x 1 x n, with the filter (K·out) x in
 * x 1 x 1: cudnnConvolutionForward, BackwardData and BackwardFilter, on the device's stream.
 * The replicas' weights lie P floats apart in the parameters, so they are packed into a dense
 * filter first (hs_batch_copy), and the packed weight gradient is added back into the
 * replicas' gradients the same way; bias and activations stay the project's kernels. The
 * algorithms are deterministic: implicit GEMM forward and ALGO_1 backward where cuDNN accepts
 * them, else the first deterministic one its _v7 query offers (cuDNN 9 may refuse a fixed
 * legacy algorithm); math is FMA (no TF32), so that a replica's gradient does not change from run
 * to run. Tensors start 16-byte aligned, as cuDNN requires: an operand that does not is staged
 * through an aligned scratch copy.
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

    /** The preferred algorithms: deterministic, no workspace on most GPUs. */
    static final int FWD = cudnnConvolutionFwdAlgo.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    static final int BWD_DATA = cudnnConvolutionBwdDataAlgo.CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    static final int BWD_FILTER = cudnnConvolutionBwdFilterAlgo.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    /** cudnnStatus NOT_SUPPORTED in cuDNN 9 (3000) and in cuDNN 8 (9, JCudnn 11.7's constant). */
    static final int NOT_SUPPORTED_9 = 3000, NOT_SUPPORTED_8 = cudnnStatus.CUDNN_STATUS_NOT_SUPPORTED;
    /** cudnnDeterminism_t CUDNN_DETERMINISTIC. */
    static final int DETERMINISTIC = 1;

    /** The three convolutions of a dense layer. */
    enum Pass { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    /** An algorithm chosen for a pass and layer shape, with the workspace it needs. */
    private record Choice(int algo, long workspaceBytes) {
    }

    /** One convolution call with a given algorithm and workspace size; returns the cudnnStatus. */
    @FunctionalInterface
    private interface Convolution {
        int call(int algo, long workspaceBytes);
    }

    /** The algorithm in use per pass and layer shape, and the algorithms cuDNN refused. */
    private final Map<String, Choice> chosen = new HashMap<>();
    private final Set<String> refused = new HashSet<>();

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

    private static Pointer one() {
        return Pointer.to(new float[]{1f});
    }

    private static Pointer zero() {
        return Pointer.to(new float[]{0f});
    }

    /** Whether a strided operand starts 16-byte aligned (cuDNN's requirement; buffers themselves are 256-aligned). */
    private static boolean aligned(Strided s) {
        return s.offset() % 4 == 0;
    }

    /** Aligned scratch for operands that are not: slots 0 and 2 for inputs, 1 for the output. */
    private final DeviceBuffer[] staging = new DeviceBuffer[3];

    /** An operand of floats values at a 16-byte aligned address: itself, or a copy in scratch slot `slot`. */
    private Strided alignedInput(Strided s, long floats, int slot) {
        if (aligned(s)) return s;
        Strided staged = staged(s, floats, slot);
        KernelDenseOps.batchCopy(dev, 1, floats, s, staged, false);
        return staged;
    }

    /** Where a pass writes its output: the operand itself, or aligned scratch that {@link #copyBack} returns. */
    private Strided alignedOutput(Strided s, long floats) {
        return aligned(s) ? s : staged(s, floats, 1);
    }

    private void copyBack(Strided written, Strided s, long floats) {
        if (written != s) KernelDenseOps.batchCopy(dev, 1, floats, written, s, false);
    }

    private Strided staged(Strided s, long floats, int slot) {
        staging[slot] = grow(staging[slot], floats);
        return new Strided(staging[slot], 0, s.stride());
    }

    private static boolean notSupported(int status) {
        return status == NOT_SUPPORTED_9 || status == NOT_SUPPORTED_8;
    }

    private long workspaceSize(Pass pass, int algo, long[] size) {
        return switch (pass) {
            case FORWARD -> JCudnn.cudnnGetConvolutionForwardWorkspaceSize(handle, xDesc, wDesc, conv, yDesc, algo, size);
            case BACKWARD_DATA -> JCudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(handle, wDesc, yDesc, conv, xDesc, algo, size);
            case BACKWARD_FILTER -> JCudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, xDesc, yDesc, conv, wDesc, algo, size);
        };
    }

    /**
     * The algorithm for a pass at the current descriptors: the preferred one where cuDNN accepts
     * it, else (cuDNN 9 may refuse a fixed legacy algorithm) the first deterministic one that the
     * _v7 query offers with status success, so that a replica's gradient stays the same from run
     * to run. Chosen once per pass and shape.
     */
    private Choice algorithm(Pass pass, String key) {
        Choice known = chosen.get(key);
        if (known != null) return known;
        int preferred = pass == Pass.FORWARD ? FWD : pass == Pass.BACKWARD_DATA ? BWD_DATA : BWD_FILTER;
        long[] size = new long[1];
        int status = (int) workspaceSize(pass, preferred, size);
        Choice c;
        if (status == cudnnStatus.CUDNN_STATUS_SUCCESS && !refused.contains(pass + " " + preferred)) {
            c = new Choice(preferred, size[0]);
        } else {
            int algo = deterministicFallback(pass, key, preferred, status);
            check((int) workspaceSize(pass, algo, size), "the workspace size of " + pass + " algorithm " + algo);
            c = new Choice(algo, size[0]);
        }
        chosen.put(key, c);
        return c;
    }

    /** One algorithm the _v7 query offers: its number, status and determinism (the three perf types share them). */
    private record Offer(int algo, int status, int determinism) {
    }

    private static <T> List<Offer> offers(T[] perf, int count, java.util.function.Function<T, Offer> read) {
        List<Offer> out = new ArrayList<>();
        for (int i = 0; i < count; i++) out.add(read.apply(perf[i]));
        return out;
    }

    /** What the _v7 query of a pass offers, best first. */
    private List<Offer> query(Pass pass) {
        int[] max = new int[1], count = new int[1];
        switch (pass) {
            case FORWARD -> {
                check(JCudnn.cudnnGetConvolutionForwardAlgorithmMaxCount(handle, max), "cudnnGetConvolutionForwardAlgorithmMaxCount");
                cudnnConvolutionFwdAlgoPerf[] perf = new cudnnConvolutionFwdAlgoPerf[max[0]];
                java.util.Arrays.setAll(perf, i -> new cudnnConvolutionFwdAlgoPerf());
                check(JCudnn.cudnnGetConvolutionForwardAlgorithm_v7(handle, xDesc, wDesc, conv, yDesc, max[0], count, perf),
                        "cudnnGetConvolutionForwardAlgorithm_v7");
                return offers(perf, count[0], p -> new Offer(p.algo, p.status, p.determinism));
            }
            case BACKWARD_DATA -> {
                check(JCudnn.cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, max), "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
                cudnnConvolutionBwdDataAlgoPerf[] perf = new cudnnConvolutionBwdDataAlgoPerf[max[0]];
                java.util.Arrays.setAll(perf, i -> new cudnnConvolutionBwdDataAlgoPerf());
                check(JCudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, wDesc, yDesc, conv, xDesc, max[0], count, perf),
                        "cudnnGetConvolutionBackwardDataAlgorithm_v7");
                return offers(perf, count[0], p -> new Offer(p.algo, p.status, p.determinism));
            }
            default -> {
                check(JCudnn.cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, max), "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
                cudnnConvolutionBwdFilterAlgoPerf[] perf = new cudnnConvolutionBwdFilterAlgoPerf[max[0]];
                java.util.Arrays.setAll(perf, i -> new cudnnConvolutionBwdFilterAlgoPerf());
                check(JCudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, xDesc, yDesc, conv, wDesc, max[0], count, perf),
                        "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
                return offers(perf, count[0], p -> new Offer(p.algo, p.status, p.determinism));
            }
        }
    }

    private int deterministicFallback(Pass pass, String key, int preferred, int status) {
        List<Offer> offered = query(pass);
        for (Offer o : offered) {
            if (o.status() == cudnnStatus.CUDNN_STATUS_SUCCESS && o.determinism() == DETERMINISTIC && !refused.contains(pass + " " + o.algo())) {
                return o.algo();
            }
        }
        throw new DeviceException("cuDNN " + describe() + " has no deterministic algorithm for the " + pass.name().toLowerCase(java.util.Locale.ROOT)
                + " pass of a dense layer (" + key + "): algorithm " + preferred + " answered " + JCudnn.cudnnGetErrorString(status)
                + " and the _v7 query offered " + offered.size() + " others, none deterministic and supported");
    }

    /** Runs a pass with the chosen algorithm; an algorithm refused at the call is dropped and the next one chosen. */
    private void run(Pass pass, int K, int out, int in, int n, Convolution call, String name) {
        String key = pass + " " + K + " " + out + " " + in + " " + n;
        for (int attempt = 0; ; attempt++) {
            Choice c = algorithm(pass, key);
            workspace = grow(workspace, (c.workspaceBytes() + 3) / 4);
            int status = call.call(c.algo(), c.workspaceBytes());
            if (status == cudnnStatus.CUDNN_STATUS_SUCCESS) return;
            if (!notSupported(status) || attempt >= 8) check(status, name + " (algorithm " + c.algo() + ")");
            refused.add(pass + " " + c.algo());
            chosen.remove(key);
        }
    }

    @Override
    public void forward(int K, int out, int in, int n, Strided w, Strided b, Strided x, Strided y) {
        packed(x, (long) in * n, "X");
        packed(y, (long) out * n, "Y");
        describe(K, out, in, n);
        packFilter(K, out, in, w);
        Strided xa = alignedInput(x, (long) K * in * n, 0);
        Strided ya = alignedOutput(y, (long) K * out * n);
        KernelDenseOps.biasSet(dev, K, out, n, b, ya);
        run(Pass.FORWARD, K, out, in, n, (algo, ws) -> JCudnn.cudnnConvolutionForward(handle, one(), xDesc, at(xa), wDesc,
                at(filter, 0), conv, algo, at(workspace, 0), ws, one(), yDesc, at(ya)), "cudnnConvolutionForward");
        copyBack(ya, y, (long) K * out * n);
    }

    @Override
    public void backwardData(int K, int out, int in, int n, Strided w, Strided dy, Strided dx) {
        packed(dy, (long) out * n, "dY");
        packed(dx, (long) in * n, "dX");
        describe(K, out, in, n);
        packFilter(K, out, in, w);
        Strided dya = alignedInput(dy, (long) K * out * n, 0);
        Strided dxa = alignedOutput(dx, (long) K * in * n);
        run(Pass.BACKWARD_DATA, K, out, in, n, (algo, ws) -> JCudnn.cudnnConvolutionBackwardData(handle, one(), wDesc,
                at(filter, 0), yDesc, at(dya), conv, algo, at(workspace, 0), ws, zero(), xDesc, at(dxa)), "cudnnConvolutionBackwardData");
        copyBack(dxa, dx, (long) K * in * n);
    }

    @Override
    public void backwardWeights(int K, int out, int in, int n, Strided dy, Strided x, Strided dw, Strided db) {
        packed(dy, (long) out * n, "dY");
        packed(x, (long) in * n, "X");
        describe(K, out, in, n);
        filterGrad = grow(filterGrad, (long) K * out * in);
        Strided dya = alignedInput(dy, (long) K * out * n, 0);
        Strided xa = alignedInput(x, (long) K * in * n, 2);
        run(Pass.BACKWARD_FILTER, K, out, in, n, (algo, ws) -> JCudnn.cudnnConvolutionBackwardFilter(handle, one(), xDesc,
                at(xa), yDesc, at(dya), conv, algo, at(workspace, 0), ws, zero(), wDesc, at(filterGrad, 0)),
                "cudnnConvolutionBackwardFilter");
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
