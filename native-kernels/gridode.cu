// The hybrid ODE on a grid state (reaction-diffusion: C channels on an H x W grid, channel-major)
// with a convolutional corrector, as RK4 stages for K replicas and a minibatch of B samples
// (ConvOdeGradient.java): the scientific field f_sci = (θ_c Δ z_c) per channel c (five-point
// Laplacian, edge-replicate boundaries) and its vector-Jacobian product, and the per-stage RK4
// kernels around the convolutions (conv.cu). Every array is [B][K][D] floats, D = C*H*W values per
// sample and replica, at float offsets of one workspace ws; blockIdx.x = sample s, blockIdx.y =
// replica r, block = HS_BLOCK threads strided over the D values (so the squared error and θ's
// partial sums of a (sample, replica) are fixed-order tree sums within one block).
// θ's partials per (replica, component, sample) live at ws[gth + (r*HS_MAX_THETA + i)*B + s], the
// layout hs_lw_theta_sum (layerwise.cu) reduces.
#include "common.cuh"

#define HS_GR(off, d) ws[(size_t) (off) + ((size_t) blockIdx.x * gridDim.y + blockIdx.y) * D + (d)]

// The five-point Laplacian of plane u at (y, x) times inv = 1/dx²; a neighbour outside the grid
// takes the edge value (Neumann boundary). As a matrix it is symmetric (off the diagonal A[p][q] = 1
// exactly when p and q are grid neighbours; A[p][p] = -4 plus one per missing neighbour), so it is
// also its own adjoint: the vector-Jacobian product below applies this same stencil to g.
__device__ __forceinline__ float hs_laplace5(const float* u, int H, int W, int y, int x, float inv) {
    float c = u[y * W + x];
    float up = u[(y > 0 ? y - 1 : y) * W + x], dn = u[(y < H - 1 ? y + 1 : y) * W + x];
    float lf = u[y * W + (x > 0 ? x - 1 : x)], rt = u[y * W + (x < W - 1 ? x + 1 : x)];
    return (up + dn + lf + rt - 4.f * c) * inv;
}

// θ_c of replica r (its u at params[r*P + c]) for the C channels (C <= HS_MAX_THETA).
__device__ __forceinline__ void hs_gr_theta(int C, const double* thetaBox, int P, const float* params, float* th) {
    const float* u = params + (size_t) blockIdx.y * P;
    for (int c = 0; c < C; c++) th[c] = (float) hs_theta(thetaBox, c, (double) u[c]);
}

// f[s][r][c] = θ_c Δ z[s][r][c] (z at zOff, f at fOff, both [B][K][C][H][W] inside ws).
extern "C" __global__ void hs_diffusion_field(int C, int H, int W, float invDx2, const double* thetaBox, int P,
                                              const float* params, float* ws, long long zOff, long long fOff) {
    int D = C * H * W, HW = H * W;
    float th[HS_MAX_THETA];
    hs_gr_theta(C, thetaBox, P, params, th);
    const float* z = &HS_GR(zOff, 0);
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        int c = d / HW, cell = d - c * HW, y = cell / W, x = cell - y * W;
        HS_GR(fOff, d) = th[c] * hs_laplace5(z + (size_t) c * HW, H, W, y, x, invDx2);
    }
}

// The vector-Jacobian product of hs_diffusion_field at z with g: gz[c] += θ_c Δᵀ g_c (Δᵀ = Δ, see
// hs_laplace5), and θ's partial for (r, c, s) += Σ_cells g_c Δ z_c (a block tree sum in double,
// channel by channel), accumulating over the stages of a rollout. block = HS_BLOCK.
extern "C" __global__ void hs_diffusion_vjp(int C, int H, int W, float invDx2, const double* thetaBox, int P,
                                            const float* params, float* ws, long long zOff, long long gOff,
                                            long long gzOff, long long gthOff) {
    __shared__ double s[HS_BLOCK];
    int D = C * H * W, HW = H * W, B = gridDim.x, smp = blockIdx.x, r = blockIdx.y, tid = threadIdx.x;
    float th[HS_MAX_THETA];
    hs_gr_theta(C, thetaBox, P, params, th);
    const float* z = &HS_GR(zOff, 0);
    const float* g = &HS_GR(gOff, 0);
    for (int c = 0; c < C; c++) {
        double acc = 0.0;
        for (int cell = tid; cell < HW; cell += HS_BLOCK) {
            int y = cell / W, x = cell - y * W, d = c * HW + cell;
            HS_GR(gzOff, d) += th[c] * hs_laplace5(g + (size_t) c * HW, H, W, y, x, invDx2);
            acc += (double) g[d] * hs_laplace5(z + (size_t) c * HW, H, W, y, x, invDx2);
        }
        s[tid] = acc;
        __syncthreads();
        hs_block_sum(s);
        if (tid == 0) ws[(size_t) gthOff + ((size_t) r * HS_MAX_THETA + c) * B + smp] += (float) s[0];
        __syncthreads();  // s[0] is read before the next channel writes s
    }
}

// Start of a gradient: z = the first observed frame of sample batch[r*B + s] (obs is
// [sequence][frame][D]), the state adjoint and θ's partials zeroed, sq[r*B + s] = 0.
extern "C" __global__ void hs_gr_begin(const float* obs, int frames, int D, const int* batch, float* ws, long long zOff,
                                       long long gzOff, long long gthOff, double* sq) {
    int B = gridDim.x, smp = blockIdx.x, r = blockIdx.y;
    const float* o = obs + (size_t) batch[r * B + smp] * frames * D;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        HS_GR(zOff, d) = o[d];
        HS_GR(gzOff, d) = 0.f;
    }
    if (threadIdx.x < HS_MAX_THETA) ws[(size_t) gthOff + ((size_t) r * HS_MAX_THETA + threadIdx.x) * B + smp] = 0.f;
    if (threadIdx.x == 0) sq[(size_t) r * B + smp] = 0.0;
}

// Stage j of an RK4 step: y = z (+ a k[j-1], a = h/2, h/2, h), stored at yOff (the stage's slot,
// where the corrector reads it and the reverse pass finds it). k[j] lies kdb = B*K*D floats after k[j-1].
extern "C" __global__ void hs_gr_stage(int j, float h, int D, float* ws, long long zOff, long long kOff, long long yOff) {
    size_t kdb = (size_t) gridDim.x * gridDim.y * D;
    float a = j == 3 ? h : 0.5f * h;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        HS_GR(yOff, d) = j == 0 ? HS_GR(zOff, d) : HS_GR(zOff, d) + a * HS_GR(kOff + (j - 1) * kdb, d);
    }
}

// End of stage j: k[j] += f_nn (the corrector's output at fnOff); after stage 3 the RK4 update of z
// and, at an observed frame f, the residual z - obs stored at residOff + (f-1)*kdb and its squared
// sum added to sq[r*B + s] (a block tree sum in double). block = HS_BLOCK.
extern "C" __global__ void hs_gr_combine(int j, int st, int spf, float h, const float* obs, int frames, int D,
                                         const int* batch, float* ws, long long zOff, long long kOff, long long fnOff,
                                         long long residOff, double* sq) {
    __shared__ double s[HS_BLOCK];
    int B = gridDim.x, smp = blockIdx.x, r = blockIdx.y, tid = threadIdx.x;
    size_t kdb = (size_t) B * gridDim.y * D;
    for (int d = tid; d < D; d += HS_BLOCK) HS_GR(kOff + j * kdb, d) += HS_GR(fnOff, d);
    if (j != 3) return;  // uniform over the grid: no thread skips a barrier alone
    float sixth = h / 6.f;
    for (int d = tid; d < D; d += HS_BLOCK) {
        HS_GR(zOff, d) += sixth * (HS_GR(kOff, d) + 2.f * HS_GR(kOff + kdb, d) + 2.f * HS_GR(kOff + 2 * kdb, d)
                                   + HS_GR(kOff + 3 * kdb, d));
    }
    if ((st + 1) % spf != 0) return;
    int f = (st + 1) / spf;
    const float* o = obs + ((size_t) batch[r * B + smp] * frames + f) * D;
    double acc = 0.0;
    for (int d = tid; d < D; d += HS_BLOCK) {
        float res = HS_GR(zOff, d) - o[d];
        HS_GR(residOff + (f - 1) * kdb, d) = res;
        acc += (double) res * res;
    }
    s[tid] = acc;
    __syncthreads();
    hs_block_sum(s);
    if (tid == 0) sq[(size_t) r * B + smp] += s[0];
}

// Reverse pass, start of step st: gz += two (z - obs) at an observed frame (two = 2 * loss weight),
// then the stage adjoints gk[j] = (h/6, h/3, h/3, h/6) gz.
extern "C" __global__ void hs_gr_adjoint(int st, int spf, float h, float two, int D, float* ws, long long gzOff,
                                         long long gkOff, long long residOff) {
    size_t kdb = (size_t) gridDim.x * gridDim.y * D;
    bool observed = (st + 1) % spf == 0;
    int f = (st + 1) / spf;
    float w6 = h / 6.f, w3 = h / 3.f;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        if (observed) HS_GR(gzOff, d) += two * HS_GR(residOff + (f - 1) * kdb, d);
        float g = HS_GR(gzOff, d);
        HS_GR(gkOff, d) = w6 * g;
        HS_GR(gkOff + kdb, d) = w3 * g;
        HS_GR(gkOff + 2 * kdb, d) = w3 * g;
        HS_GR(gkOff + 3 * kdb, d) = w6 * g;
    }
}

// Reverse pass through stage j once gy holds (∂F/∂y)ᵀ gk[j] (the corrector's backward, then
// hs_diffusion_vjp): gz += gy and, for j > 0, gk[j-1] += a gy.
extern "C" __global__ void hs_gr_stage_back(int j, float h, int D, float* ws, long long gkOff, long long gyOff,
                                            long long gzOff) {
    size_t kdb = (size_t) gridDim.x * gridDim.y * D;
    float a = j == 3 ? h : 0.5f * h;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float gy = HS_GR(gyOff, d);
        HS_GR(gzOff, d) += gy;
        if (j > 0) HS_GR(gkOff + (j - 1) * kdb, d) += a * gy;
    }
}
