// Shared definitions of the hybridsam kernels. Every kernel is extern "C" (unmangled, so the
// driver API and the emulator look it up by name) and carries a leading replica index r.
// The same sources compile as host C++ with HYBRIDSAM_EMULATION (see emu/cuda_emu.h).
#pragma once
#ifdef HYBRIDSAM_EMULATION
#include "emu/cuda_emu.h"
#endif

// Full unrolling of small fixed-trip loops on the GPU (register arrays then stay in registers).
#ifdef HYBRIDSAM_EMULATION
#define HS_UNROLL
#else
#define HS_UNROLL _Pragma("unroll")
#endif

#define HS_GUARD 1e-12
#define HS_BLOCK 256       // block size of the reduction kernels (their shared arrays)
#define HS_MAX_THETA 4     // θ components a scientific model may have
#define HS_D 2             // state dimension of the ODE tasks (pendulum, duffing)
#define HS_LT_INPUTS 5     // light-tunnel inputs per sample: R, G, B, pol_1, pol_2 (lighttunnel.cu)

// The enums below are the one source of the ids Java passes (build.sh lists them in
// kernels.constants; hybridsam.cuda.KernelConstants maps the Java enums onto them by name).
// Scientific model ids (StepKernels.modelId).
enum { HS_PENDULUM = 0, HS_DUFFING = 1 };
// Activation ids: HS_ + hybridsam.model.Activation's name.
enum { HS_RELU = 0, HS_TANH = 1, HS_ELU = 2, HS_SOFTPLUS = 3, HS_LEAKY_RELU = 4 };
#define HS_LEAKY_SLOPE 0.01f  // Activation.LEAKY_SLOPE
// Rule ids: HS_ + hybridsam.train.Method's name.
enum { HS_ERM = 0, HS_L2 = 1, HS_SAM = 2, HS_ASAM = 3, HS_FSAM = 4 };
// Per-replica rule configuration: double cfg[r * HS_CFG_N + field] (StepKernels.ruleTable).
enum {
    HS_CFG_METHOD = 0, HS_CFG_PERTURB_OFF, HS_CFG_GRAD_FROM, HS_CFG_RHO, HS_CFG_SIGMA, HS_CFG_LAMBDA,
    HS_CFG_ETA, HS_CFG_L2, HS_CFG_CLIP, HS_CFG_LR_THETA, HS_CFG_LR_NN, HS_CFG_DECAY, HS_CFG_N
};

// The wind-tunnel task's constants as wind.cu reads them: double wc[HS_WT_N] (WindTunnelGradient).
enum { HS_WT_OMEGA_MAX = 0, HS_WT_S_MAX, HS_WT_HATCH_MAX, HS_WT_LOAD_MIN, HS_WT_C_RANGE, HS_WT_FAN_SCALE, HS_WT_P_SCALE, HS_WT_N };

__device__ __forceinline__ bool hs_perturbs(int m) {
    return m == HS_SAM || m == HS_ASAM || m == HS_FSAM;
}

__device__ __forceinline__ float hs_act(int a, float x) {
    switch (a) {
        case HS_RELU: return x > 0.f ? x : 0.f;
        case HS_TANH: return tanhf(x);
        case HS_ELU: return x > 0.f ? x : expm1f(x);
        case HS_LEAKY_RELU: return x > 0.f ? x : HS_LEAKY_SLOPE * x;
        default: return x > 0.f ? x + log1pf(expf(-x)) : log1pf(expf(x));
    }
}

// dh/da written through the activation's output h (what the forward pass stores).
__device__ __forceinline__ float hs_act_grad(int a, float h) {
    switch (a) {
        case HS_RELU: return h > 0.f ? 1.f : 0.f;
        case HS_TANH: return 1.f - h * h;
        case HS_ELU: return h > 0.f ? 1.f : h + 1.f;
        case HS_LEAKY_RELU: return h > 0.f ? 1.f : HS_LEAKY_SLOPE;
        default: return -expm1f(-h);
    }
}

__device__ __forceinline__ double hs_sigmoid(double u) {
    return 1.0 / (1.0 + exp(-u));
}

// θ_i from u_i; box = {lo, hi, log?} per component (ThetaSpec).
__device__ __forceinline__ double hs_theta(const double* box, int i, double u) {
    double lo = box[3 * i], hi = box[3 * i + 1], s = hs_sigmoid(u);
    if (box[3 * i + 2] != 0.0) return exp(log(lo) + (log(hi) - log(lo)) * s);
    return lo + (hi - lo) * s;
}

// dθ_i/du_i.
__device__ __forceinline__ double hs_theta_du(const double* box, int i, double u) {
    double lo = box[3 * i], hi = box[3 * i + 1], s = hs_sigmoid(u), ds = s * (1.0 - s);
    if (box[3 * i + 2] != 0.0) return hs_theta(box, i, u) * (log(hi) - log(lo)) * ds;
    return (hi - lo) * ds;
}

// f_sci(z; θ).
__device__ __forceinline__ void hs_sci_field(int model, const float* th, const float* z, float* f) {
    if (model == HS_PENDULUM) {
        f[0] = z[1];
        f[1] = -th[0] * sinf(z[0]);
    } else {
        float x = z[0];
        f[0] = z[1];
        f[1] = -th[0] * x - th[1] * x * x * x;
    }
}

// gz += (∂f/∂z)ᵀ g, gth += (∂f/∂θ)ᵀ g.
__device__ __forceinline__ void hs_sci_vjp(int model, const float* th, const float* z, const float* g,
                                           float* gz, float* gth) {
    if (model == HS_PENDULUM) {
        float q = z[0];
        gz[0] += -th[0] * cosf(q) * g[1];
        gz[1] += g[0];
        gth[0] -= g[1] * sinf(q);
    } else {
        float x = z[0];
        gz[0] += (-th[0] - 3.f * th[1] * x * x) * g[1];
        gz[1] += g[0];
        gth[0] -= g[1] * x;
        gth[1] -= g[1] * x * x * x;
    }
}

// Fixed-order tree sum of a block's HS_BLOCK values in shared memory; the result is in s[0].
__device__ __forceinline__ void hs_block_sum(double* s) {
    for (int w = HS_BLOCK / 2; w > 0; w >>= 1) {
        if ((int) threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
        __syncthreads();
    }
}
