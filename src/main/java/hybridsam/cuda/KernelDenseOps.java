package hybridsam.cuda;

/**
 * {@link DenseOps} through the project's own kernels (native-kernels/dense.cu): a tiled GEMM
 * (hs_gemm, {@value #TILE} x {@value #TILE} output tiles, one strided batch per replica), the
 * bias broadcast (hs_bias_set) and the bias gradient (hs_bias_grad). Runs wherever the project's
 * kernels run, the emulated device included, so the layer-wise path is tested in CI.
 */
public final class KernelDenseOps extends GemmDenseOps {
    /** HS_GT in dense.cu. */
    public static final int TILE = 16;
    private final Device dev;

    public KernelDenseOps(Device dev) {
        super(dev);
        this.dev = dev;
    }

    @Override
    public String describe() {
        return "project kernels (hs_gemm)";
    }

    @Override
    public void gemm(int K, boolean transA, boolean transB, int M, int N, int kd, float alpha,
                     Strided a, int lda, Strided b, int ldb, float beta, Strided c, int ldc) {
        if (M < 1 || N < 1 || kd < 1 || K < 1) throw new IllegalArgumentException("gemm of size " + M + "x" + N + "x" + kd);
        dev.launch("hs_gemm", ceil(N, TILE), ceil(M, TILE), K, TILE, TILE, 1, 0, KernelArgs.of()
                .i(transA ? 1 : 0).i(transB ? 1 : 0).i(M).i(N).i(kd).f(alpha)
                .ptr(a.buf()).l(a.offset()).i(lda).l(a.stride())
                .ptr(b.buf()).l(b.offset()).i(ldb).l(b.stride())
                .f(beta).ptr(c.buf()).l(c.offset()).i(ldc).l(c.stride()));
    }

    /** Y[r][row][j] = bias[r][row] for rows x n. */
    static void biasSet(Device dev, int K, int rows, int n, Strided bias, Strided y) {
        dev.launch("hs_bias_set", ceil((long) rows * n, 256), K, 1, 256, 1, 1, 0, KernelArgs.of()
                .i(rows).i(n).ptr(bias.buf()).l(bias.offset()).l(bias.stride())
                .ptr(y.buf()).l(y.offset()).l(y.stride()));
    }

    /** db[r][row] += Σ_j dY[r][row][j]. */
    static void biasGrad(Device dev, int K, int rows, int n, Strided dy, Strided db) {
        dev.launch("hs_bias_grad", ceil(rows, 64), K, 1, 64, 1, 1, 0, KernelArgs.of()
                .i(rows).i(n).ptr(dy.buf()).l(dy.offset()).l(dy.stride())
                .ptr(db.buf()).l(db.offset()).l(db.stride()));
    }

    /** dst[r][i] = src[r][i] (or += with accumulate) for i < len, K strided blocks (hs_batch_copy). */
    static void batchCopy(Device dev, int K, long len, Strided src, Strided dst, boolean accumulate) {
        dev.launch("hs_batch_copy", ceil(len, 256), K, 1, 256, 1, 1, 0, KernelArgs.of()
                .l(len).ptr(src.buf()).l(src.offset()).l(src.stride())
                .ptr(dst.buf()).l(dst.offset()).l(dst.stride()).i(accumulate ? 1 : 0));
    }

    static int ceil(long n, int block) {
        long g = (n + block - 1) / block;
        if (g > Integer.MAX_VALUE) throw new IllegalArgumentException("grid too large: " + g + " blocks");
        return (int) Math.max(1, g);
    }
}
