// The per-stage kernels of the layer-wise gradient path (LayerwiseGradient.java): the hybrid ODE
// rollout with classic RK4 as in ode.cu, but the corrector's MLP runs outside these kernels, as
// dense layers over the whole batch (dense.cu, or cuBLAS). One thread per (sample b, replica r),
// grid = (ceil(B / blockDim), K), K = gridDim.y. Everything lives in one workspace ws, at float
// offsets computed on the host; per-replica state arrays are [K][HS_D][B]: (r*HS_D + d)*B + b.
// Stage inputs y are stored where the first dense layer reads them (the slot's input block);
// the reverse pass replays the stages backwards from them and from the stored activations.
#include "common.cuh"

#define HS_KDB(off, d) ws[(size_t) (off) + ((size_t) r * HS_D + (d)) * B + b]

__device__ __forceinline__ void hs_lw_theta(int nTheta, const double* thetaBox, const float* p, float* th) {
    for (int i = 0; i < nTheta; i++) th[i] = (float) hs_theta(thetaBox, i, (double) p[i]);
}

// Start of a gradient: z = first observed frame, adjoint and θ partials zeroed, sq zeroed.
extern "C" __global__ void hs_lw_begin(const float* obs, int frames, const int* batch, int B, float* ws,
                                       long long zOff, long long gzOff, long long gthOff, double* sq) {
    int b = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (b >= B) return;
    const float* o = obs + (size_t) batch[r * B + b] * frames * HS_D;
    for (int d = 0; d < HS_D; d++) {
        HS_KDB(zOff, d) = o[d];
        HS_KDB(gzOff, d) = 0.f;
    }
    for (int i = 0; i < HS_MAX_THETA; i++) ws[(size_t) gthOff + ((size_t) r * HS_MAX_THETA + i) * B + b] = 0.f;
    sq[(size_t) r * B + b] = 0.0;
}

// Stage j of an RK4 step: y = z (+ a k[j-1]) stored at yOff, k[j] = f_sci(y; θ) (the MLP adds later).
extern "C" __global__ void hs_lw_stage(int model, int j, float h, int nTheta, const double* thetaBox, int P,
                                       const float* params, int B, float* ws, long long zOff, long long kOff,
                                       long long yOff) {
    int b = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (b >= B) return;
    size_t kdb = (size_t) gridDim.y * HS_D * B;
    float th[HS_MAX_THETA], y[HS_D], fs[HS_D];
    hs_lw_theta(nTheta, thetaBox, params + (size_t) r * P, th);
    float a = j == 3 ? h : 0.5f * h;
    for (int d = 0; d < HS_D; d++) {
        y[d] = j == 0 ? HS_KDB(zOff, d) : HS_KDB(zOff, d) + a * HS_KDB(kOff + (j - 1) * kdb, d);
        HS_KDB(yOff, d) = y[d];
    }
    hs_sci_field(model, th, y, fs);
    for (int d = 0; d < HS_D; d++) HS_KDB(kOff + j * kdb, d) = fs[d];
}

// End of stage j: k[j] += f_nn (the last dense layer's output at fnOff); after stage 3 the RK4
// update of z and, at an observed frame, the residual z - obs (stored) and its square (into sq).
extern "C" __global__ void hs_lw_combine(int j, int st, int spf, float h, const float* obs, int frames,
                                         const int* batch, int B, float* ws, long long zOff, long long kOff,
                                         long long fnOff, long long residOff, double* sq) {
    int b = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (b >= B) return;
    size_t kdb = (size_t) gridDim.y * HS_D * B;
    for (int d = 0; d < HS_D; d++) HS_KDB(kOff + j * kdb, d) = HS_KDB(kOff + j * kdb, d) + HS_KDB(fnOff, d);
    if (j != 3) return;
    float sixth = h / 6.f;
    for (int d = 0; d < HS_D; d++) {
        HS_KDB(zOff, d) += sixth * (HS_KDB(kOff, d) + 2.f * HS_KDB(kOff + kdb, d) + 2.f * HS_KDB(kOff + 2 * kdb, d)
                                    + HS_KDB(kOff + 3 * kdb, d));
    }
    if ((st + 1) % spf == 0) {
        int f = (st + 1) / spf;
        const float* o = obs + (size_t) batch[r * B + b] * frames * HS_D;
        double s = sq[(size_t) r * B + b];
        for (int d = 0; d < HS_D; d++) {
            float res = HS_KDB(zOff, d) - o[f * HS_D + d];
            HS_KDB(residOff + (f - 1) * kdb, d) = res;
            s += (double) res * res;
        }
        sq[(size_t) r * B + b] = s;
    }
}

// Reverse pass, start of step st: gz += 2 w (z - obs) at an observed frame, then the stage
// adjoints gk[j] = (h/6, h/3, h/3, h/6) gz.
extern "C" __global__ void hs_lw_adjoint(int st, int spf, float h, float two, int B, float* ws, long long gzOff,
                                         long long gkOff, long long residOff) {
    int b = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (b >= B) return;
    size_t kdb = (size_t) gridDim.y * HS_D * B;
    if ((st + 1) % spf == 0) {
        int f = (st + 1) / spf;
        for (int d = 0; d < HS_D; d++) HS_KDB(gzOff, d) += two * HS_KDB(residOff + (f - 1) * kdb, d);
    }
    float w6 = h / 6.f, w3 = h / 3.f;
    for (int d = 0; d < HS_D; d++) {
        float g = HS_KDB(gzOff, d);
        HS_KDB(gkOff, d) = w6 * g;
        HS_KDB(gkOff + kdb, d) = w3 * g;
        HS_KDB(gkOff + 2 * kdb, d) = w3 * g;
        HS_KDB(gkOff + 3 * kdb, d) = w6 * g;
    }
}

// Reverse pass through stage j after the MLP's backward left (∂f_nn/∂y)ᵀ gk[j] at gyOff: adds the
// scientific field's vector-Jacobian product (and its θ part to the per-sample θ partials), then
// gz += gy and, for j > 0, gk[j-1] += a gy.
extern "C" __global__ void hs_lw_stage_back(int model, int j, float h, int nTheta, const double* thetaBox, int P,
                                            const float* params, int B, float* ws, long long yOff, long long gkOff,
                                            long long gyOff, long long gzOff, long long gthOff) {
    int b = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (b >= B) return;
    size_t kdb = (size_t) gridDim.y * HS_D * B;
    float th[HS_MAX_THETA], y[HS_D], g[HS_D], gy[HS_D], gth[HS_MAX_THETA];
    hs_lw_theta(nTheta, thetaBox, params + (size_t) r * P, th);
    for (int i = 0; i < nTheta; i++) gth[i] = ws[(size_t) gthOff + ((size_t) r * HS_MAX_THETA + i) * B + b];
    for (int d = 0; d < HS_D; d++) {
        y[d] = HS_KDB(yOff, d);
        g[d] = HS_KDB(gkOff + j * kdb, d);
        gy[d] = HS_KDB(gyOff, d);
    }
    hs_sci_vjp(model, th, y, g, gy, gth);
    for (int i = 0; i < nTheta; i++) ws[(size_t) gthOff + ((size_t) r * HS_MAX_THETA + i) * B + b] = gth[i];
    float a = j == 3 ? h : 0.5f * h;
    for (int d = 0; d < HS_D; d++) {
        HS_KDB(gzOff, d) += gy[d];
        if (j > 0) HS_KDB(gkOff + (j - 1) * kdb, d) += a * gy[d];
    }
}

// grad[r*P + i] = Σ_b θ partials (b ascending, in double), the θ block of the gradient before
// hs_theta_chain; one thread per (i, r), grid = (1, K), block = 32 (nTheta <= HS_MAX_THETA).
extern "C" __global__ void hs_lw_theta_sum(int nTheta, int P, int B, const float* ws, long long gthOff, float* grad) {
    int i = threadIdx.x, r = blockIdx.y;
    if (i >= nTheta) return;
    const float* x = ws + (size_t) gthOff + ((size_t) r * HS_MAX_THETA + i) * B;
    double s = 0.0;
    for (int b = 0; b < B; b++) s += (double) x[b];
    grad[(size_t) r * P + i] = (float) s;
}

// x[0..n) = 0 (the gradient before the dense layers accumulate into it; a kernel, not a memset,
// so that it is part of a captured step).
extern "C" __global__ void hs_lw_zero(long long n, float* x) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = 0.f;
}
