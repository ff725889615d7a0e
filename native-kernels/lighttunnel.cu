// The light-tunnel hybrid (tasks.md, light-tunnel) for K replicas and a minibatch of B samples
// (LightTunnelGradient.java): the chamber model F2 (a hexagon of one colour on black) with θ = the
// 3 x 3 sensor matrix S, the network's input channels, the pixel loss and the vector-Jacobian
// product of F2 in S. The convolutional network between them runs through conv.cu (or cuDNN).
//
// F2 of sample s, replica r: c_ch = e_ch · Σ_j S[ch][j] · rgb_j · m, with e_ch = exposure · w_ch / 255
// (the host's constants, lt[0..2]), m = cos²(pol_1 − pol_2) (degrees) and S[ch][j] = θ_(3ch+j) through
// θ's box transform; the image is mask · clip(c, 0, 1) per channel. The hexagon's mask [H][W]
// comes from the host (the task's own geometry, computed once: it does not depend on θ).
// Inputs per sample: inputs[n*5 + (R, G, B, pol_1, pol_2)]; the network reads channel 3 + i =
// lt[3 + i] · input_i + lt[8 + i] broadcast over the image.
//
// Arrays are [B][K][C][H][W] floats at float offsets of one workspace ws (conv.cu's layout);
// blockIdx.x = sample s, blockIdx.y = replica r, block = HS_BLOCK threads strided over the cells,
// so the sums of a (sample, replica) are fixed-order tree sums within one block. θ's partials
// per (replica, component, sample) live at ws[gth + (r*nTheta + i)*B + s] (hs_lt_theta_sum).
#include "common.cuh"

#define HS_LT_PI 3.14159265358979323846

// The unclipped colour of sample n for replica r: c[ch] = e_ch · Σ_j S[ch][j] rgb_j · m, in double.
__device__ __forceinline__ void hs_lt_colour(const double* thetaBox, int P, const float* params, const float* in,
                                             const double* lt, double* c) {
    const float* u = params + (size_t) blockIdx.y * P;
    double d = ((double) in[3] - (double) in[4]) * (HS_LT_PI / 180.0), cm = cos(d), m = cm * cm;
    for (int ch = 0; ch < 3; ch++) {
        double acc = 0.0;
        for (int j = 0; j < 3; j++) acc += hs_theta(thetaBox, 3 * ch + j, (double) u[3 * ch + j]) * (double) in[j];
        c[ch] = lt[ch] * acc * m;
    }
}

// The network's input x0 ([B][K][3 + HS_LT_INPUTS][H][W] at x0Off): the F2 image, then the inputs
// as constant channels.
extern "C" __global__ void hs_lt_render(int H, int W, const double* thetaBox, int P, const float* params, const float* inputs,
                                        const float* mask, const double* lt, const int* batch, float* ws, long long x0Off) {
    int B = gridDim.x, smp = blockIdx.x, r = blockIdx.y, HW = H * W, C = 3 + HS_LT_INPUTS;
    const float* in = inputs + (size_t) batch[r * B + smp] * HS_LT_INPUTS;
    double c[3];
    hs_lt_colour(thetaBox, P, params, in, lt, c);
    float v[3 + HS_LT_INPUTS];
    for (int ch = 0; ch < 3; ch++) v[ch] = (float) (c[ch] < 0.0 ? 0.0 : (c[ch] > 1.0 ? 1.0 : c[ch]));
    for (int i = 0; i < HS_LT_INPUTS; i++) v[3 + i] = (float) (lt[3 + i] * (double) in[i] + lt[8 + i]);
    float* x = ws + (size_t) x0Off + ((size_t) smp * gridDim.y + r) * C * HW;
    for (int cell = threadIdx.x; cell < HW; cell += blockDim.x) {
        float mk = mask[cell];
        for (int ch = 0; ch < 3; ch++) x[ch * HW + cell] = mk * v[ch];
        for (int i = 0; i < HS_LT_INPUTS; i++) x[(3 + i) * HW + cell] = v[3 + i];
    }
}

// The prediction F2 image + network output (fn, [B][K][3][H][W]) against the target image of
// sample batch[r*B + s] (targets [n][3][H][W]): g = two · (prediction − target) at gOff (the loss
// gradient, two = 2 · loss weight) and sq[r*B + s] = Σ (prediction − target)² (a block tree sum in
// double). block = HS_BLOCK.
extern "C" __global__ void hs_lt_residual(int H, int W, const float* targets, const int* batch, float* ws, long long x0Off,
                                          long long fnOff, long long gOff, float two, double* sq) {
    __shared__ double s[HS_BLOCK];
    int B = gridDim.x, smp = blockIdx.x, r = blockIdx.y, tid = threadIdx.x, HW = H * W, C = 3 + HS_LT_INPUTS;
    size_t z = (size_t) smp * gridDim.y + r;
    const float* img = ws + (size_t) x0Off + z * C * HW;
    const float* fn = ws + (size_t) fnOff + z * 3 * HW;
    float* g = ws + (size_t) gOff + z * 3 * HW;
    const float* t = targets + (size_t) batch[r * B + smp] * 3 * HW;
    double acc = 0.0;
    for (int d = tid; d < 3 * HW; d += HS_BLOCK) {
        float res = (img[d] + fn[d]) - t[d];
        g[d] = two * res;
        acc += (double) res * res;
    }
    s[tid] = acc;
    __syncthreads();
    hs_block_sum(s);
    if (tid == 0) sq[(size_t) r * B + smp] = s[0];
}

// The vector-Jacobian product of F2 in θ: the image's gradient is g (the direct path of the
// output-additive hybrid) plus dx0's first three channels (through the network's input); per
// channel, G_ch = Σ_cells mask · (g + dx0) (a block tree sum in double), and where 0 < c_ch < 1
// (the clip passes the gradient) θ's partial for S[ch][j] is G_ch · e_ch · rgb_j · m, else 0.
// block = HS_BLOCK.
extern "C" __global__ void hs_lt_vjp(int H, int W, const double* thetaBox, int P, const float* params, const float* inputs,
                                     const float* mask, const double* lt, const int* batch, float* ws, long long gOff,
                                     long long dx0Off, long long gthOff) {
    __shared__ double s[HS_BLOCK];
    int B = gridDim.x, smp = blockIdx.x, r = blockIdx.y, tid = threadIdx.x, HW = H * W, C = 3 + HS_LT_INPUTS;
    size_t z = (size_t) smp * gridDim.y + r;
    const float* g = ws + (size_t) gOff + z * 3 * HW;
    const float* dx = ws + (size_t) dx0Off + z * C * HW;
    const float* in = inputs + (size_t) batch[r * B + smp] * HS_LT_INPUTS;
    double c[3];
    hs_lt_colour(thetaBox, P, params, in, lt, c);
    double cm = cos(((double) in[3] - (double) in[4]) * (HS_LT_PI / 180.0)), m = cm * cm;
    for (int ch = 0; ch < 3; ch++) {
        double acc = 0.0;
        for (int cell = tid; cell < HW; cell += HS_BLOCK) {
            acc += (double) mask[cell] * ((double) g[ch * HW + cell] + (double) dx[ch * HW + cell]);
        }
        s[tid] = acc;
        __syncthreads();
        hs_block_sum(s);
        if (tid < 3) {
            bool passes = c[ch] > 0.0 && c[ch] < 1.0;
            double v = passes ? s[0] * lt[ch] * (double) in[tid] * m : 0.0;
            ws[(size_t) gthOff + ((size_t) r * 9 + 3 * ch + tid) * B + smp] = (float) v;
        }
        __syncthreads();  // s[0] is read before the next channel writes s
    }
}

// grad[r*P + i] = Σ_b partial[(r*nTheta + i)*B + b] (θ's physical gradient, summed in sample
// order in double), before hs_theta_chain; one thread per (i, r), grid = (ceil(nTheta / 32), K),
// block = 32.
extern "C" __global__ void hs_lt_theta_sum(int nTheta, int P, int B, const float* ws, long long gthOff, float* grad) {
    int i = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (i >= nTheta) return;
    const float* x = ws + (size_t) gthOff + ((size_t) r * nTheta + i) * B;
    double s = 0.0;
    for (int b = 0; b < B; b++) s += (double) x[b];
    grad[(size_t) r * P + i] = (float) s;
}
