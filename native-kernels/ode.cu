// The hybrid ODE rollout dz/dt = f_sci(z; θ) + f_nn(z; φ) with classic RK4, its MSE against the
// observed frames, and the exact reverse pass through every RK4 stage: one thread per
// (sample, replica), grid = (ceil(B / blockDim), K). Mirrors hybridsam.cpu.OdeChunk.
//
// Parameters per replica (P values, replica r at params[r * P]): u (nTheta values) then the MLP,
// for each layer W [out][in] row-major then b. widths[0..nLayers] are the MLP widths.
//
// Per-sample workspace as common.cuh's rollout functions lay it out (W floats per sample,
// interleaved ws[(r*W + x)*B + b]), with S = steps*4 stage slots:
//   [0, S*D)                 stage inputs y, slot = step*4 + stage
//   [S*D, S*(D+H))           hidden activations per slot (H = sum of hidden widths)
//   then (frames-1)*D        residuals z - obs at the observed frames
//   then 2*maxW              scratch for the backward pass through the MLP
// Per-sample gradients gs[(r*P + i)*B + b] (weighted by `weight`, θ part still w.r.t. physical θ)
// and squared errors sq[r*B + b] are reduced afterwards in a fixed order (reduce.cu, hs_loss).
#include "common.cuh"

#define WS(x) ws[((size_t) r * W + (size_t) (x)) * B + b]
#define GS(i) gs[((size_t) r * P + (size_t) (i)) * B + b]

extern "C" __global__ void hs_rollout(int model, int act, int nLayers, const int* widths, int nTheta,
                                      const double* thetaBox, int P, const float* params,
                                      const float* obs, int frames, const int* batch, int B,
                                      float h, int spf, float weight, float* ws, float* gs, double* sq) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y;
    if (b >= B) return;
    const int D = HS_D;
    int H, maxW;
    hs_mlp_sizes(nLayers, widths, &H, &maxW);
    int steps = (frames - 1) * spf;
    size_t W = (size_t) steps * 4 * (D + H) + (size_t) (frames - 1) * D + 2 * (size_t) maxW;
    int hidBase = steps * 4 * D, residBase = steps * 4 * (D + H), scratch = residBase + (frames - 1) * D;
    const float* p = params + (size_t) r * P;
    const float* nn = p + nTheta;
    float th[HS_MAX_THETA];
    for (int i = 0; i < nTheta; i++) th[i] = (float) hs_theta(thetaBox, i, (double) p[i]);
    int s = batch[r * B + b];
    const float* o = obs + (size_t) s * frames * D;

    float z[HS_D];
    for (int d = 0; d < D; d++) z[d] = o[d];
    double sse = 0.0;
    for (int st = 0; st < steps; st++) {
        hs_rk4_step(model, act, nLayers, widths, nn, th, h, st, H, hidBase, ws, W, r, B, b, z);
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
    float two = 2.f * weight;
    float gz[HS_D];
    for (int d = 0; d < D; d++) gz[d] = 0.f;
    for (int st = steps - 1; st >= 0; st--) {
        if ((st + 1) % spf == 0) {
            int f = (st + 1) / spf;
            for (int d = 0; d < D; d++) gz[d] += two * WS(residBase + (f - 1) * D + d);
        }
        hs_rk4_step_back(model, act, nLayers, widths, nn, th, nTheta, h, st, H, hidBase, scratch, maxW, ws, W, gs, P,
                         r, B, b, gz, gth);
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
