package hybridsam.cuda;

import hybridsam.cuda.DenseOps.Strided;
import jcuda.Pointer;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgo;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgo;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionFwdAlgo;
import jcuda.jcudnn.cudnnConvolutionFwdAlgoPerf;
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
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * What the cuDNN-backed ops ({@link CudnnDenseOps}, {@link CudnnConvOps}) share: one cuDNN
 * handle bound to the device's stream, one set of descriptors for a grouped NCHW float
 * convolution (padding 0, stride 1, cross-correlation, FMA math so that no input is rounded to
 * TF32), the choice of a deterministic algorithm per pass and shape, the workspace, and
 * 16-byte-aligned staging of operands. Both ops express their layers as such a convolution with
 * the replicas as groups: a dense layer is a 1 x 1 one, a corrector layer a 3 x 3 one over an
 * input its caller has padded already.
 *
 * <p>Algorithms: implicit GEMM forward and ALGO_1 backward where cuDNN accepts them, else the
 * first deterministic one its _v7 query offers with status success (cuDNN 9 may refuse a fixed
 * legacy algorithm), so that a replica's gradient does not change from run to run. The choice
 * and its workspace size are fixed once per pass and shape. Scratch (the workspace, the callers'
 * packed filters, staging copies) grows on demand and is never freed before {@link #close}: a
 * captured graph keeps the addresses it was captured with, so a shape must first run outside a
 * capture (the engine runs one step uncaptured before capturing), and no allocation happens
 * while capturing. Every call only enqueues work on the device's stream.
 */
final class CudnnConvolution implements AutoCloseable {
    /** The preferred algorithms: deterministic, no workspace on most GPUs. */
    static final int FWD = cudnnConvolutionFwdAlgo.CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    static final int BWD_DATA = cudnnConvolutionBwdDataAlgo.CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    static final int BWD_FILTER = cudnnConvolutionBwdFilterAlgo.CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    /** cudnnStatus NOT_SUPPORTED in cuDNN 9 (3000) and in cuDNN 8 (9, JCudnn 11.7's constant). */
    static final int NOT_SUPPORTED_9 = 3000, NOT_SUPPORTED_8 = cudnnStatus.CUDNN_STATUS_NOT_SUPPORTED;
    /** cudnnDeterminism_t CUDNN_DETERMINISTIC. */
    static final int DETERMINISTIC = 1;

    /** The three convolutions of a layer. */
    enum Pass { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    private final JCudaDevice dev;
    /** The layer kind in words, for error messages ("dense layer", "3x3 convolution"). */
    private final String what;
    private final cudnnHandle handle = new cudnnHandle();
    private final cudnnTensorDescriptor xDesc = new cudnnTensorDescriptor(), yDesc = new cudnnTensorDescriptor();
    private final cudnnFilterDescriptor wDesc = new cudnnFilterDescriptor();
    private final cudnnConvolutionDescriptor conv = new cudnnConvolutionDescriptor();
    private final long version;
    private final List<DeviceBuffer> scratch = new ArrayList<>();
    private DeviceBuffer workspace;
    /** The current descriptors' dimensions, as the key of the algorithm choice. */
    private String shape = "";
    private boolean closed;

    /** An algorithm chosen for a pass and shape, with the workspace it needs. */
    private record Choice(int algo, long workspaceBytes) {
    }

    /** One convolution call with a given algorithm and workspace size; returns the cudnnStatus. */
    @FunctionalInterface
    private interface Call {
        int call(int algo, Pointer workspace, long workspaceBytes);
    }

    /** The algorithm in use per pass and shape, and the algorithms cuDNN refused. */
    private final Map<String, Choice> chosen = new HashMap<>();
    private final Set<String> refused = new HashSet<>();

    /** A cuDNN handle on the device's stream; throws LinkageError when JCudnn does not load. */
    CudnnConvolution(JCudaDevice dev, String what) {
        this.dev = dev;
        this.what = what;
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

    static void check(int status, String call) {
        if (status != cudnnStatus.CUDNN_STATUS_SUCCESS) {
            throw new DeviceException(call + " failed: " + JCudnn.cudnnGetErrorString(status));
        }
    }

    /** "cuDNN 9.3.0". */
    String version() {
        return "cuDNN " + version / 10000 + "." + (version / 100) % 100 + "." + version % 100;
    }

    JCudaDevice device() {
        return dev;
    }

    /**
     * Sets the descriptors: input [n][c][h][w], filter [k][c / groups][r][s], output
     * [n][k][h - r + 1][w - s + 1] (no padding, stride 1), c and k split into groups.
     */
    void shape(int n, int c, int h, int w, int k, int r, int s, int groups) {
        int f = cudnnTensorFormat.CUDNN_TENSOR_NCHW, t = cudnnDataType.CUDNN_DATA_FLOAT;
        check(JCudnn.cudnnSetTensor4dDescriptor(xDesc, f, t, n, c, h, w), "cudnnSetTensor4dDescriptor(x)");
        check(JCudnn.cudnnSetTensor4dDescriptor(yDesc, f, t, n, k, h - r + 1, w - s + 1), "cudnnSetTensor4dDescriptor(y)");
        check(JCudnn.cudnnSetFilter4dDescriptor(wDesc, t, f, k, c / groups, r, s), "cudnnSetFilter4dDescriptor");
        check(JCudnn.cudnnSetConvolutionGroupCount(conv, groups), "cudnnSetConvolutionGroupCount");
        shape = "x " + n + "x" + c + "x" + h + "x" + w + ", filter " + k + "x" + c / groups + "x" + r + "x" + s + ", groups " + groups;
    }

    Pointer at(DeviceBuffer b, long offsetFloats) {
        return dev.pointer(b).withByteOffset(4 * offsetFloats);
    }

    Pointer at(Strided s) {
        return at(s.buf(), s.offset());
    }

    /**
     * A scratch buffer of at least floats, grown (never shrunk or freed before close). Growing
     * inside a capture is refused here, naming the shape, before the driver refuses the
     * allocation and invalidates the capture with a message that does not say why it happened.
     */
    DeviceBuffer grow(DeviceBuffer b, long floats) {
        if (b != null && b.bytes() >= 4 * floats) return b;
        if (dev.capturing()) {
            throw new IllegalStateException("cuDNN " + what + " (" + shape + ") first used inside a graph capture: its scratch"
                    + " must be allocated before, so run the step once outside the capture first");
        }
        DeviceBuffer n = dev.alloc(4 * Math.max(floats, 1));
        scratch.add(n);
        return n;
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
    Strided alignedInput(Strided s, long floats, int slot) {
        if (aligned(s)) return s;
        Strided staged = staged(s, floats, slot);
        KernelDenseOps.batchCopy(dev, 1, floats, s, staged, false);
        return staged;
    }

    /** Where a pass writes its output: the operand itself, or aligned scratch that {@link #copyBack} returns. */
    Strided alignedOutput(Strided s, long floats) {
        return aligned(s) ? s : staged(s, floats, 1);
    }

    void copyBack(Strided written, Strided s, long floats) {
        if (written != s) KernelDenseOps.batchCopy(dev, 1, floats, written, s, false);
    }

    private Strided staged(Strided s, long floats, int slot) {
        staging[slot] = grow(staging[slot], floats);
        return new Strided(staging[slot], 0, s.stride());
    }

    /** y = conv(x, filter) + beta · y at the current shape; operands aligned. */
    void forward(Strided x, DeviceBuffer filter, Strided y, float beta) {
        run(Pass.FORWARD, (algo, ws, wsBytes) -> JCudnn.cudnnConvolutionForward(handle, one(), xDesc, at(x), wDesc,
                at(filter, 0), conv, algo, ws, wsBytes, Pointer.to(new float[]{beta}), yDesc, at(y)), "cudnnConvolutionForward");
    }

    /** dx = the adjoint of the convolution applied to dy (overwrites); operands aligned. */
    void backwardData(DeviceBuffer filter, Strided dy, Strided dx) {
        run(Pass.BACKWARD_DATA, (algo, ws, wsBytes) -> JCudnn.cudnnConvolutionBackwardData(handle, one(), wDesc,
                at(filter, 0), yDesc, at(dy), conv, algo, ws, wsBytes, zero(), xDesc, at(dx)), "cudnnConvolutionBackwardData");
    }

    /** filterGrad = Σ_samples dy ⋆ x (overwrites); operands aligned. */
    void backwardFilter(Strided x, Strided dy, DeviceBuffer filterGrad) {
        run(Pass.BACKWARD_FILTER, (algo, ws, wsBytes) -> JCudnn.cudnnConvolutionBackwardFilter(handle, one(), xDesc,
                at(x), yDesc, at(dy), conv, algo, ws, wsBytes, zero(), wDesc, at(filterGrad, 0)), "cudnnConvolutionBackwardFilter");
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
     * it, else the first deterministic one that the _v7 query offers with status success.
     * Chosen once per pass and shape.
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
            int algo = deterministicFallback(pass, preferred, status);
            check((int) workspaceSize(pass, algo, size), "the workspace size of " + pass + " algorithm " + algo);
            c = new Choice(algo, size[0]);
        }
        chosen.put(key, c);
        return c;
    }

    /** One algorithm the _v7 query offers: its number, status and determinism (the three perf types share them). */
    private record Offer(int algo, int status, int determinism) {
    }

    private static <T> List<Offer> offers(T[] perf, int count, Function<T, Offer> read) {
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
                Arrays.setAll(perf, i -> new cudnnConvolutionFwdAlgoPerf());
                check(JCudnn.cudnnGetConvolutionForwardAlgorithm_v7(handle, xDesc, wDesc, conv, yDesc, max[0], count, perf),
                        "cudnnGetConvolutionForwardAlgorithm_v7");
                return offers(perf, count[0], p -> new Offer(p.algo, p.status, p.determinism));
            }
            case BACKWARD_DATA -> {
                check(JCudnn.cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, max), "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
                cudnnConvolutionBwdDataAlgoPerf[] perf = new cudnnConvolutionBwdDataAlgoPerf[max[0]];
                Arrays.setAll(perf, i -> new cudnnConvolutionBwdDataAlgoPerf());
                check(JCudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, wDesc, yDesc, conv, xDesc, max[0], count, perf),
                        "cudnnGetConvolutionBackwardDataAlgorithm_v7");
                return offers(perf, count[0], p -> new Offer(p.algo, p.status, p.determinism));
            }
            default -> {
                check(JCudnn.cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, max), "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
                cudnnConvolutionBwdFilterAlgoPerf[] perf = new cudnnConvolutionBwdFilterAlgoPerf[max[0]];
                Arrays.setAll(perf, i -> new cudnnConvolutionBwdFilterAlgoPerf());
                check(JCudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, xDesc, yDesc, conv, wDesc, max[0], count, perf),
                        "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
                return offers(perf, count[0], p -> new Offer(p.algo, p.status, p.determinism));
            }
        }
    }

    private int deterministicFallback(Pass pass, int preferred, int status) {
        List<Offer> offered = query(pass);
        for (Offer o : offered) {
            if (o.status() == cudnnStatus.CUDNN_STATUS_SUCCESS && o.determinism() == DETERMINISTIC && !refused.contains(pass + " " + o.algo())) {
                return o.algo();
            }
        }
        throw new DeviceException(version() + " has no deterministic algorithm for the " + pass.name().toLowerCase(Locale.ROOT)
                + " pass of a " + what + " (" + shape + "): algorithm " + preferred + " answered " + JCudnn.cudnnGetErrorString(status)
                + " and the _v7 query offered " + offered.size() + " others, none deterministic and supported");
    }

    /** Runs a pass with the chosen algorithm; an algorithm refused at the call is dropped and the next one chosen. */
    private void run(Pass pass, Call call, String name) {
        String key = pass + " " + shape;
        for (int attempt = 0; ; attempt++) {
            Choice c = algorithm(pass, key);
            workspace = grow(workspace, (c.workspaceBytes() + 3) / 4);
            int status = call.call(c.algo(), at(workspace, 0), c.workspaceBytes());
            if (status == cudnnStatus.CUDNN_STATUS_SUCCESS) return;
            if (!notSupported(status) || attempt >= 8) check(status, name + " (algorithm " + c.algo() + ")");
            refused.add(pass + " " + c.algo());
            chosen.remove(key);
        }
    }

    private void destroy() {
        JCudnn.cudnnDestroyConvolutionDescriptor(conv);
        JCudnn.cudnnDestroyFilterDescriptor(wDesc);
        JCudnn.cudnnDestroyTensorDescriptor(yDesc);
        JCudnn.cudnnDestroyTensorDescriptor(xDesc);
        JCudnn.cudnnDestroy(handle);
    }

    /** Waits for the stream, frees all scratch (callers' buffers from {@link #grow} included) and the handle. */
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
