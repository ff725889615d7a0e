// The hybrid ODE rollout dz/dt = f_sci(z; θ) + f_nn(z; φ) with classic RK4, its MSE against the
// observed frames, and the exact reverse pass through every RK4 stage: one thread per
// (sample, replica), grid = (ceil(B / blockDim), K). Mirrors hybridsam.cpu.OdeChunk.
//
// Parameters per replica (P values, replica r at params[r * P]): u (nTheta values) then the MLP,
// for each layer W [out][in] row-major then b. widths[0..nLayers] are the MLP widths.
//
// Per-sample workspace, W = hs_ws_stride(...) floats, stored interleaved ws[(r*W + x)*B + b]
// so that neighbouring threads touch neighbouring addresses:
//   [0, S*D)                 stage inputs y, slot = step*4 + stage
//   [S*D, S*(D+H))           hidden activations per slot (H = sum of hidden widths)
//   then (frames-1)*D        residuals z - obs at the observed frames
//   then 2*maxW              scratch for the backward pass through the MLP
// Per-sample gradients gs[(r*P + i)*B + b] (weighted by `weight`, θ part still w.r.t. physical θ)
// and squared errors sq[r*B + b] are reduced afterwards in a fixed order (reduce.cu, hs_loss).
#include "common.cuh"

#define WS(x) ws[((size_t) r * W + (size_t) (x)) * B + b]
#define GS(i) gs[((size_t) r * P + (size_t) (i)) * B + b]

// Forward through the MLP at one stage: input y (HS_D values), activations stored at hid, output o.
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
                for (int i = 0; i < nin; i++) a += row[i] * WS(hid + hoffPrev + i);
            }
            if (l < nLayers - 1) WS(hid + hoff + k) = hs_act(act, a);
            else o[k] = a;
        }
        off += nout * (nin + 1);
        if (l > 0) hoffPrev += nin;
        if (l < nLayers - 1) hoff += nout;
    }
}

// gy = (∂F/∂y)ᵀ g at a stored stage (F = f_sci + f_nn); adds the parameter gradients to gs and gth.
__device__ __forceinline__ void hs_field_vjp(const float* nn, int nLayers, const int* widths, int act, int model,
                                             const float* th, int nTheta, int P, float* ws, size_t W, float* gs,
                                             int r, int B, int b, int ySlot, int hid, int scratch, int maxW,
                                             const float* g, float* gy, float* gth) {
    // walk the layers backwards from the end of the weights and of the stored activations
    int off = 0, hstart = 0;
    for (int l = 0; l < nLayers; l++) off += widths[l + 1] * (widths[l] + 1);
    for (int l = 1; l < nLayers; l++) hstart += widths[l];
    int cur = scratch, nxt = scratch + maxW;
    float y[HS_D];
    for (int d = 0; d < HS_D; d++) {
        y[d] = WS(ySlot + d);
        gy[d] = 0.f;
    }
    for (int l = nLayers - 1; l >= 0; l--) {
        int nin = widths[l], nout = widths[l + 1];
        off -= nout * (nin + 1);
        if (l > 0) hstart -= nin;   // activations feeding layer l start at hid + hstart
        const float* Wl = nn + off;
        int gW = nTheta + off, gb = gW + nout * nin;
        for (int k = 0; k < nout; k++) {
            float go = l == nLayers - 1 ? g[k] : WS(cur + k);
            if (l == 0) {
                for (int i = 0; i < nin; i++) GS(gW + k * nin + i) += go * y[i];
            } else {
                for (int i = 0; i < nin; i++) GS(gW + k * nin + i) += go * WS(hid + hstart + i);
            }
            GS(gb + k) += go;
        }
        for (int i = 0; i < nin; i++) {
            float s = 0.f;
            for (int k = 0; k < nout; k++) {
                float go = l == nLayers - 1 ? g[k] : WS(cur + k);
                s += Wl[k * nin + i] * go;
            }
            if (l > 0) WS(nxt + i) = s * hs_act_grad(act, WS(hid + hstart + i));
            else gy[i] = s;
        }
        int t = cur; cur = nxt; nxt = t;
    }
    hs_sci_vjp(model, th, y, g, gy, gth);
}

extern "C" __global__ void hs_rollout(int model, int act, int nLayers, const int* widths, int nTheta,
                                      const double* thetaBox, int P, const float* params,
                                      const float* obs, int frames, const int* batch, int B,
                                      float h, int spf, float weight, float* ws, float* gs, double* sq) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y;
    if (b >= B) return;
    const int D = HS_D;
    int H = 0, maxW = 0;
    for (int l = 0; l <= nLayers; l++) {
        if (l > 0 && l < nLayers) H += widths[l];
        if (widths[l] > maxW) maxW = widths[l];
    }
    int steps = (frames - 1) * spf;
    size_t W = (size_t) steps * 4 * (D + H) + (size_t) (frames - 1) * D + 2 * (size_t) maxW;
    int hidBase = steps * 4 * D, residBase = steps * 4 * (D + H), scratch = residBase + (frames - 1) * D;
    const float* p = params + (size_t) r * P;
    const float* nn = p + nTheta;
    float th[HS_MAX_THETA];
    for (int i = 0; i < nTheta; i++) th[i] = (float) hs_theta(thetaBox, i, (double) p[i]);
    int s = batch[r * B + b];
    const float* o = obs + (size_t) s * frames * D;

    float z[HS_D], k[4][HS_D], y[HS_D], fs[HS_D], fn[HS_D];
    for (int d = 0; d < D; d++) z[d] = o[d];
    float half = 0.5f * h, sixth = h / 6.f;
    double sse = 0.0;
    for (int st = 0; st < steps; st++) {
        for (int j = 0; j < 4; j++) {
            float a = j == 3 ? h : half;
            for (int d = 0; d < D; d++) {
                y[d] = j == 0 ? z[d] : z[d] + a * k[j - 1][d];
                WS((st * 4 + j) * D + d) = y[d];
            }
            hs_sci_field(model, th, y, fs);
            hs_mlp_forward(nn, nLayers, widths, act, y, ws, W, r, B, b, hidBase + (st * 4 + j) * H, fn);
            for (int d = 0; d < D; d++) k[j][d] = fs[d] + fn[d];
        }
        for (int d = 0; d < D; d++) z[d] += sixth * (k[0][d] + 2.f * k[1][d] + 2.f * k[2][d] + k[3][d]);
        if ((st + 1) % spf == 0) {
            int f = (st + 1) / spf;
            for (int d = 0; d < D; d++) {
                float res = z[d] - o[f * D + d];
                WS(residBase + (f - 1) * D + d) = res;
                sse += (double) res * res;
            }
        }
    }
    sq[r * B + b] = sse;

    for (int i = 0; i < P; i++) GS(i) = 0.f;
    float gth[HS_MAX_THETA];
    for (int i = 0; i < nTheta; i++) gth[i] = 0.f;
    float w6 = h / 6.f, w3 = h / 3.f, two = 2.f * weight;
    float gz[HS_D], gk[4][HS_D], gy[HS_D];
    for (int d = 0; d < D; d++) gz[d] = 0.f;
    for (int st = steps - 1; st >= 0; st--) {
        if ((st + 1) % spf == 0) {
            int f = (st + 1) / spf;
            for (int d = 0; d < D; d++) gz[d] += two * WS(residBase + (f - 1) * D + d);
        }
        for (int d = 0; d < D; d++) {
            gk[0][d] = w6 * gz[d];
            gk[1][d] = w3 * gz[d];
            gk[2][d] = w3 * gz[d];
            gk[3][d] = w6 * gz[d];
        }
        for (int j = 3; j >= 0; j--) {
            int slot = st * 4 + j;
            hs_field_vjp(nn, nLayers, widths, act, model, th, nTheta, P, ws, W, gs, r, B, b,
                         slot * D, hidBase + slot * H, scratch, maxW, gk[j], gy, gth);
            for (int d = 0; d < D; d++) gz[d] += gy[d];
            if (j > 0) {
                float a = j == 3 ? h : half;
                for (int d = 0; d < D; d++) gk[j - 1][d] += a * gy[d];
            }
        }
    }
    for (int i = 0; i < nTheta; i++) GS(i) = gth[i];
}

// grad[r*P + i] *= dθ_i/du_i for the θ block: the chain rule through the box transform.
extern "C" __global__ void hs_theta_chain(int K, int nTheta, const double* thetaBox, int P,
                                          const float* params, float* grad) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= K * nTheta) return;
    int r = t / nTheta, i = t % nTheta;
    size_t at = (size_t) r * P + i;
    grad[at] = (float) ((double) grad[at] * hs_theta_du(thetaBox, i, (double) params[at]));
}

// loss[r] = weight * Σ_b sq[r*B + b], summed in sample order.
extern "C" __global__ void hs_loss(int K, int B, float weight, const double* sq, double* loss) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= K) return;
    double s = 0.0;
    for (int b = 0; b < B; b++) s += sq[(size_t) r * B + b];
    loss[r] = s * (double) weight;
}

// The loss tally that CudaTrainingEngine.drainLosses reads, advanced once per step right after
// hs_loss: when *on is set, per replica r, sum[r] += loss[r] * B, and bad[r] = the step's 1-based
// number in the tally (*steps + 1) if loss[r] is not finite and bad[r] is still 0; then *steps += 1.
// One block (grid 1): every thread reads *steps before thread 0 advances it, which only a barrier
// within one block can order; replicas are strided over the block.
extern "C" __global__ void hs_loss_tally(int K, int B, const int* on, const double* loss, double* sum,
                                         int* bad, int* steps) {
    if (blockIdx.x != 0 || *on == 0) return;  // uniform over the block: no thread skips the barrier alone
    int n = *steps + 1;
    for (int r = threadIdx.x; r < K; r += blockDim.x) {
        double l = loss[r];
        sum[r] += l * (double) B;
        if (bad[r] == 0 && !isfinite(l)) bad[r] = n;
    }
    __syncthreads();
    if (threadIdx.x == 0) *steps = n;
}
