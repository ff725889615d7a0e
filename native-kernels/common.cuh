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

// ---- The per-thread RK4 rollout of an ODE hybrid with an MLP corrector (ode.cu's hs_rollout,
// nested.cu's hs_ni_forward / hs_ni_reverse): one thread per (sample b, replica r), every stage
// input and hidden activation kept in a per-sample workspace for the exact reverse pass.
// Workspace, W floats per sample, interleaved ws[(r*W + x)*B + b] so that neighbouring threads
// touch neighbouring addresses: [0, S*4*D) the stage inputs (slot = step*4 + stage), then
// S*4*Hs hidden activations (Hs = the sum of the hidden widths), then what the caller adds
// (hs_rollout: its residuals), and 2*maxW of scratch for the reverse pass through the MLP.
// Per-sample gradient rows gs[(r*G + i)*B + b], G rows per replica: θ's physical gradient
// (rows [0, nTheta)) then the MLP's (rows nTheta + its parameter offsets).
// The MLP: for each layer W [out][in] row-major then b; widths[0..nLayers].
#define HS_WS(x) ws[((size_t) r * W + (size_t) (x)) * B + b]
#define HS_GS(i) gs[((size_t) r * G + (size_t) (i)) * B + b]

// The MLP's hidden units (sum of hidden widths) and its widest layer.
__device__ __forceinline__ void hs_mlp_sizes(int nLayers, const int* widths, int* hidden, int* maxW) {
    int H = 0, m = 0;
    for (int l = 0; l <= nLayers; l++) {
        if (l > 0 && l < nLayers) H += widths[l];
        if (widths[l] > m) m = widths[l];
    }
    *hidden = H;
    *maxW = m;
}

// Forward through an MLP: input y (widths[0] values), hidden activations stored at hid (workspace
// stride W), output o (widths[nLayers] values). The rollout kernels and the wind tunnel's share it.
__device__ __forceinline__ void hs_mlp_forward(const float* nn, int nLayers, const int* widths, int act,
                                               const float* y, float* ws, size_t W, int r, int B, int b,
                                               int hid, float* o) {
    int off = 0, hoffPrev = 0, hoff = 0;
    for (int l = 0; l < nLayers; l++) {
        int nin = widths[l], nout = widths[l + 1];
        const float* Wl = nn + off;
        const float* bl = Wl + nout * nin;
        for (int k = 0; k < nout; k++) {
            float a = bl[k];
            const float* row = Wl + k * nin;
            if (l == 0) {
                for (int i = 0; i < nin; i++) a += row[i] * y[i];
            } else {
                for (int i = 0; i < nin; i++) a += row[i] * HS_WS(hid + hoffPrev + i);
            }
            if (l < nLayers - 1) HS_WS(hid + hoff + k) = hs_act(act, a);
            else o[k] = a;
        }
        off += nout * (nin + 1);
        if (l > 0) hoffPrev += nin;
        if (l < nLayers - 1) hoff += nout;
    }
}

// gy = (∂F/∂y)ᵀ g at a stored stage (F = f_sci + f_nn); adds the parameter gradients to gs and gth.
__device__ __forceinline__ void hs_field_vjp(const float* nn, int nLayers, const int* widths, int act, int model,
                                             const float* th, int nTheta, int G, float* ws, size_t W, float* gs,
                                             int r, int B, int b, int ySlot, int hid, int scratch, int maxW,
                                             const float* g, float* gy, float* gth) {
    // walk the layers backwards from the end of the weights and of the stored activations
    int off = 0, hstart = 0;
    for (int l = 0; l < nLayers; l++) off += widths[l + 1] * (widths[l] + 1);
    for (int l = 1; l < nLayers; l++) hstart += widths[l];
    int cur = scratch, nxt = scratch + maxW;
    float y[HS_D];
    for (int d = 0; d < HS_D; d++) {
        y[d] = HS_WS(ySlot + d);
        gy[d] = 0.f;
    }
    for (int l = nLayers - 1; l >= 0; l--) {
        int nin = widths[l], nout = widths[l + 1];
        off -= nout * (nin + 1);
        if (l > 0) hstart -= nin;   // activations feeding layer l start at hid + hstart
        const float* Wl = nn + off;
        int gW = nTheta + off, gb = gW + nout * nin;
        for (int k = 0; k < nout; k++) {
            float go = l == nLayers - 1 ? g[k] : HS_WS(cur + k);
            if (l == 0) {
                for (int i = 0; i < nin; i++) HS_GS(gW + k * nin + i) += go * y[i];
            } else {
                for (int i = 0; i < nin; i++) HS_GS(gW + k * nin + i) += go * HS_WS(hid + hstart + i);
            }
            HS_GS(gb + k) += go;
        }
        for (int i = 0; i < nin; i++) {
            float s = 0.f;
            for (int k = 0; k < nout; k++) {
                float go = l == nLayers - 1 ? g[k] : HS_WS(cur + k);
                s += Wl[k * nin + i] * go;
            }
            if (l > 0) HS_WS(nxt + i) = s * hs_act_grad(act, HS_WS(hid + hstart + i));
            else gy[i] = s;
        }
        int t = cur; cur = nxt; nxt = t;
    }
    hs_sci_vjp(model, th, y, g, gy, gth);
}

// One RK4 step st from z (updated in place): stage inputs stored at slots st*4 + j, the MLP's
// activations at hidBase + slot*Hs.
__device__ __forceinline__ void hs_rk4_step(int model, int act, int nLayers, const int* widths, const float* nn,
                                            const float* th, float h, int st, int Hs, int hidBase, float* ws, size_t W,
                                            int r, int B, int b, float* z) {
    const int D = HS_D;
    float k[4][HS_D], y[HS_D], fs[HS_D], fn[HS_D];
    float half = 0.5f * h, sixth = h / 6.f;
    for (int j = 0; j < 4; j++) {
        float a = j == 3 ? h : half;
        for (int d = 0; d < D; d++) {
            y[d] = j == 0 ? z[d] : z[d] + a * k[j - 1][d];
            HS_WS((st * 4 + j) * D + d) = y[d];
        }
        hs_sci_field(model, th, y, fs);
        hs_mlp_forward(nn, nLayers, widths, act, y, ws, W, r, B, b, hidBase + (st * 4 + j) * Hs, fn);
        for (int d = 0; d < D; d++) k[j][d] = fs[d] + fn[d];
    }
    for (int d = 0; d < D; d++) z[d] += sixth * (k[0][d] + 2.f * k[1][d] + 2.f * k[2][d] + k[3][d]);
}

// The reverse of RK4 step st: gz (the adjoint of the state after the step) becomes the adjoint
// of the state before it; the parameter gradients go to gs (rows of G) and gth.
__device__ __forceinline__ void hs_rk4_step_back(int model, int act, int nLayers, const int* widths, const float* nn,
                                                 const float* th, int nTheta, float h, int st, int Hs, int hidBase,
                                                 int scratch, int maxW, float* ws, size_t W, float* gs, int G, int r,
                                                 int B, int b, float* gz, float* gth) {
    const int D = HS_D;
    float w6 = h / 6.f, w3 = h / 3.f, half = 0.5f * h;
    float gk[4][HS_D], gy[HS_D];
    for (int d = 0; d < D; d++) {
        gk[0][d] = w6 * gz[d];
        gk[1][d] = w3 * gz[d];
        gk[2][d] = w3 * gz[d];
        gk[3][d] = w6 * gz[d];
    }
    for (int j = 3; j >= 0; j--) {
        int slot = st * 4 + j;
        hs_field_vjp(nn, nLayers, widths, act, model, th, nTheta, G, ws, W, gs, r, B, b,
                     slot * D, hidBase + slot * Hs, scratch, maxW, gk[j], gy, gth);
        for (int d = 0; d < D; d++) gz[d] += gy[d];
        if (j > 0) {
            float a = j == 3 ? h : half;
            for (int d = 0; d < D; d++) gk[j - 1][d] += a * gy[d];
        }
    }
}
