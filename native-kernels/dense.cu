// Dense-layer building blocks of the layer-wise gradient path (LayerwiseGradient.java): the MLP of
// every RK4 stage is evaluated for the whole batch and all K replicas as matrix products, one
// strided batch per replica (blockIdx.z = replica). All matrices are row-major; replica z's
// matrix starts at base + off + z * stride (in floats). Every sum runs in a fixed order (no
// atomics), so repeated runs agree bit for bit. KernelDenseOps launches these; CublasDenseOps
// uses cuBLAS for the products and these kernels for bias and activations.
#include "common.cuh"

#define HS_GT 16  // tile edge of hs_gemm: blocks of HS_GT x HS_GT threads, one output each

// C = alpha * op(A) * op(B) + beta * C with op(A) M x Kd, op(B) Kd x N, C M x N; op(X) = X or,
// when trans*, the transpose of the stored matrix. beta == 0 does not read C. The Kd sum runs in
// ascending order through shared-memory tiles (padding adds exact zeros).
// grid = (ceil(N / HS_GT), ceil(M / HS_GT), batch), block = (HS_GT, HS_GT).
extern "C" __global__ void hs_gemm(int transA, int transB, int M, int N, int Kd, float alpha,
                                   const float* A, long long offA, int lda, long long strideA,
                                   const float* Bm, long long offB, int ldb, long long strideB,
                                   float beta, float* C, long long offC, int ldc, long long strideC) {
    __shared__ float As[HS_GT][HS_GT + 1];
    __shared__ float Bs[HS_GT][HS_GT + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int m0 = blockIdx.y * HS_GT, n0 = blockIdx.x * HS_GT;
    size_t z = blockIdx.z;
    const float* a = A + offA + z * strideA;
    const float* b = Bm + offB + z * strideB;
    float acc = 0.f;
    for (int k0 = 0; k0 < Kd; k0 += HS_GT) {
        int am = m0 + ty, ak = k0 + tx;
        As[ty][tx] = (am < M && ak < Kd) ? (transA ? a[(size_t) ak * lda + am] : a[(size_t) am * lda + ak]) : 0.f;
        int bk = k0 + ty, bn = n0 + tx;
        Bs[ty][tx] = (bk < Kd && bn < N) ? (transB ? b[(size_t) bn * ldb + bk] : b[(size_t) bk * ldb + bn]) : 0.f;
        __syncthreads();
        for (int k = 0; k < HS_GT; k++) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    int m = m0 + ty, n = n0 + tx;
    if (m < M && n < N) {
        float* c = C + offC + z * strideC + (size_t) m * ldc + n;
        *c = beta == 0.f ? alpha * acc : alpha * acc + beta * *c;
    }
}

// Y[z][row][j] = bias[z][row] for rows x n (the bias half of Y = W X + b, before hs_gemm with beta 1).
// grid = (ceil(rows * n / 256), batch), block = 256.
extern "C" __global__ void hs_bias_set(int rows, int n, const float* bias, long long offBias, long long strideBias,
                                       float* Y, long long offY, long long strideY) {
    long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (long long) rows * n) return;
    size_t z = blockIdx.y;
    int row = (int) (t / n);
    Y[offY + z * strideY + t] = bias[offBias + z * strideBias + row];
}

// db[z][row] += Σ_j dY[z][row][j], j ascending, in double; one thread per (row, z).
// grid = (ceil(rows / 64), batch), block = 64.
extern "C" __global__ void hs_bias_grad(int rows, int n, const float* dY, long long offY, long long strideY,
                                        float* db, long long offB, long long strideB) {
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    size_t z = blockIdx.y;
    const float* y = dY + offY + z * strideY + (size_t) row * n;
    double s = 0.0;
    for (int j = 0; j < n; j++) s += (double) y[j];
    float* d = db + offB + z * strideB + row;
    *d = (float) ((double) *d + s);
}

// x[i] = act(x[i]) for n values at x + off (the hidden layer after its product and bias).
extern "C" __global__ void hs_act_forward(int act, long long n, float* x, long long off) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[off + i] = hs_act(act, x[off + i]);
}

// dx[i] *= act'(h[i]), written through the stored activation outputs h.
extern "C" __global__ void hs_act_backward(int act, long long n, float* dx, long long offDx, const float* h,
                                           long long offH) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dx[offDx + i] *= hs_act_grad(act, h[offH + i]);
}

// dst[z][i] = src[z][i] (accumulate == 0) or dst[z][i] += src[z][i], i < len, for K strided blocks:
// packs the replicas' weights (stride P in the parameters) into the dense filter cuDNN takes, and
// adds its packed weight gradient back into the replicas' gradients. grid = (ceil(len / 256), K).
extern "C" __global__ void hs_batch_copy(long long len, const float* src, long long offSrc, long long strideSrc,
                                         float* dst, long long offDst, long long strideDst, int accumulate) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= len) return;
    size_t z = blockIdx.y;
    float v = src[offSrc + z * strideSrc + i];
    float* d = dst + offDst + z * strideDst + i;
    *d = accumulate ? *d + v : v;
}
