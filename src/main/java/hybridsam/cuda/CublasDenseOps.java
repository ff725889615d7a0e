package hybridsam.cuda;

import jcuda.Pointer;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasPointerMode;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

/**
 * {@link DenseOps} through cuBLAS (JCublas2): each product is one cublasSgemmStridedBatched over
 * the K replicas, on the device's own stream (cublasSetStream, so the calls are ordered with the
 * project's kernels and captured into the step's graph), with alpha and beta on the host
 * (CUBLAS_POINTER_MODE_HOST). A graph that records cuBLAS calls must own their workspace, and
 * cublasSetStream resets it to the library's pool, so a fixed workspace ({@value #WORKSPACE_BYTES}
 * bytes, the size cuBLAS recommends for Hopper) is set after the stream; the math mode is set
 * explicitly to CUBLAS_DEFAULT_MATH, which keeps single-precision products in float (no TF32).
 * Bias broadcast and bias gradient stay the project's kernels
 * (hs_bias_set, hs_bias_grad: fixed-order sums). Made only where the JCublas native library
 * loads, which needs CUDA 12's libcublas.so.12 (see {@link NnEngines}).
 *
 * <p>The matrices are row-major; cuBLAS is column-major. A row-major M x N matrix with leading
 * dimension ld is, read column-major, its N x M transpose; so C = op(A) op(B) (row-major) is
 * computed as Cᵀ = op(B)ᵀ op(A)ᵀ (column-major): the operands swapped, m = N, n = M, the same
 * transpose flags.
 */
public final class CublasDenseOps extends GemmDenseOps {
    private final JCudaDevice dev;
    private final cublasHandle handle = new cublasHandle();
    private final String version;
    private final DeviceBuffer workspace;
    private boolean closed;
    /** The workspace cuBLAS gets for the calls recorded into graphs (32 MiB: its recommendation for sm_90). */
    static final long WORKSPACE_BYTES = 32L << 20;

    private CublasDenseOps(JCudaDevice dev) {
        super(dev);
        this.dev = dev;
        JCublas2.setExceptionsEnabled(false);
        check(JCublas2.cublasCreate(handle), "cublasCreate");
        DeviceBuffer ws = null;
        try {
            ws = dev.alloc(WORKSPACE_BYTES);
            check(JCublas2.cublasSetStream(handle, new cudaStream_t(dev.stream())), "cublasSetStream");
            // after the stream: cublasSetStream resets the workspace
            check(JCublas2.cublasSetWorkspace(handle, dev.pointer(ws), WORKSPACE_BYTES), "cublasSetWorkspace");
            check(JCublas2.cublasSetMathMode(handle, cublasMath.CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
            check(JCublas2.cublasSetPointerMode(handle, cublasPointerMode.CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
            int[] v = new int[1];
            check(JCublas2.cublasGetVersion(handle, v), "cublasGetVersion");
            version = v[0] / 10000 + "." + (v[0] / 100) % 100 + "." + v[0] % 100;
        } catch (RuntimeException e) {
            JCublas2.cublasDestroy(handle);
            if (ws != null) ws.close();
            throw e;
        }
        workspace = ws;
    }

    /** A cuBLAS handle on the device's stream; throws LinkageError when JCublas does not load. */
    public static CublasDenseOps create(JCudaDevice dev) {
        return new CublasDenseOps(dev);
    }

    private static void check(int status, String call) {
        if (status != cublasStatus.CUBLAS_STATUS_SUCCESS) {
            throw new DeviceException(call + " failed: " + cublasStatus.stringFor(status));
        }
    }

    @Override
    public String describe() {
        return "cuBLAS " + version + " (cublasSgemmStridedBatched)";
    }

    private Pointer at(Strided s) {
        return dev.pointer(s.buf()).withByteOffset(4 * s.offset());
    }

    /** As one cuBLAS call (cuBLAS is column-major: it computes the transpose, operands swapped). */
    @Override
    void gemm(int K, boolean transA, boolean transB, int M, int N, int kd, float alpha,
              Strided a, int lda, Strided b, int ldb, float beta, Strided c, int ldc) {
        int opA = transA ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
        int opB = transB ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
        check(JCublas2.cublasSgemmStridedBatched(handle, opB, opA, N, M, kd, Pointer.to(new float[]{alpha}),
                at(b), ldb, b.stride(), at(a), lda, a.stride(), Pointer.to(new float[]{beta}),
                at(c), ldc, c.stride(), K), "cublasSgemmStridedBatched");
    }


    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            dev.synchronize();
        } finally {
            JCublas2.cublasDestroy(handle);
            workspace.close();
        }
    }
}
