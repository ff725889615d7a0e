package hybridsam.cuda;

/**
 * Dense layers from a strided-batched row-major GEMM plus the project's bias kernels: what the
 * GEMM-based engines (the project's hs_gemm, cuBLAS) share; they differ only in {@link #gemm}.
 */
abstract class GemmDenseOps implements DenseOps {
    private final Device dev;

    GemmDenseOps(Device dev) {
        this.dev = dev;
    }

    /**
     * C = alpha op(A) op(B) + beta C for K strided row-major matrices: op(A) is M x kd, op(B)
     * kd x N, C M x N; beta 0 does not read C.
     */
    abstract void gemm(int K, boolean transA, boolean transB, int M, int N, int kd, float alpha,
                       Strided a, int lda, Strided b, int ldb, float beta, Strided c, int ldc);

    @Override
    public void forward(int K, int out, int in, int n, Strided w, Strided b, Strided x, Strided y) {
        KernelDenseOps.biasSet(dev, K, out, n, b, y);
        gemm(K, false, false, out, n, in, 1f, w, in, x, n, 1f, y, n);
    }

    @Override
    public void backwardData(int K, int out, int in, int n, Strided w, Strided dy, Strided dx) {
        gemm(K, true, false, in, n, out, 1f, w, in, dy, n, 0f, dx, n);
    }

    @Override
    public void backwardWeights(int K, int out, int in, int n, Strided dy, Strided x, Strided dw, Strided db) {
        gemm(K, false, true, out, in, n, 1f, dy, n, x, n, 1f, dw, in);
        KernelDenseOps.biasGrad(dev, K, out, n, dy, db);
    }
}
