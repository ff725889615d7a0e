// Deterministic reductions: every sum runs in a fixed order fixed by the launch shape alone
// (per-thread strided partial sums, a fixed tree within a block, per-block partials summed in
// block order), never with floating-point atomics, so repeated runs agree bit for bit.
#include "common.cuh"

// out[row] = Σ_j in[row * n + j] in j order, one thread per row; grid = ceil(rows / blockDim).
// Sums the per-sample gradients of hs_rollout (rows = K * P, n = B) into one gradient per replica;
// a thread's reads are consecutive, so its cache lines are reused by its next iterations.
extern "C" __global__ void hs_rowsum(const float* in, int n, long long rows, float* out) {
    long long row = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    const float* x = in + (size_t) row * n;
    double acc = 0.0;
    for (int j = 0; j < n; j++) acc += (double) x[j];
    out[row] = (float) acc;
}

// out[r*P + i] = Σ_t in[(r*tiles + t)*P + i] in tile order; one thread per (r, i), grid =
// (ceil(P / blockDim), K). Sums the per-tile gradient partials of hs_rollout_fused; neighbouring
// threads read neighbouring addresses.
extern "C" __global__ void hs_tilesum(const float* in, int tiles, int P, float* out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y;
    if (i >= P) return;
    const float* x = in + (size_t) r * tiles * P + i;
    double acc = 0.0;
    for (int t = 0; t < tiles; t++) acc += (double) x[(size_t) t * P];
    out[(size_t) r * P + i] = (float) acc;
}

// What hs_norm_partial sums, per replica r over its segment of the P parameters.
enum {
    HS_NORM_GRAD = 0,    // ‖grad‖ over all P (clipping)
    HS_NORM_PERTURB = 1  // the rule's perturbation norm over [perturbOff, P): sam ‖g‖, asam ‖T g‖,
                         // fsam ‖d‖ (d in eps); replicas whose rule does not perturb give 0
};

// Pass one: partial[r * gridDim.x + blockIdx.x] = Σ x² over the block's strided share.
// grid = (nb, K), block = HS_BLOCK.
extern "C" __global__ void hs_norm_partial(int mode, int P, const double* cfg, const float* grad,
                                           const float* eps, const float* params, double* partial) {
    __shared__ double s[HS_BLOCK];
    int r = blockIdx.y;
    const double* c = cfg + (size_t) r * HS_CFG_N;
    int method = (int) c[HS_CFG_METHOD];
    int from = 0;
    bool active = true;
    if (mode == HS_NORM_PERTURB) {
        from = (int) c[HS_CFG_PERTURB_OFF];
        active = hs_perturbs(method);
    }
    float eta = (float) c[HS_CFG_ETA];
    size_t base = (size_t) r * P;
    double acc = 0.0;
    if (active) {
        for (int i = from + blockIdx.x * HS_BLOCK + threadIdx.x; i < P; i += gridDim.x * HS_BLOCK) {
            float v;
            if (mode == HS_NORM_GRAD || method == HS_SAM) v = grad[base + i];
            else if (method == HS_ASAM) v = (fabsf(params[base + i]) + eta) * grad[base + i];
            else v = eps[base + i];
            acc += (double) v * v;
        }
    }
    s[threadIdx.x] = acc;
    __syncthreads();
    hs_block_sum(s);
    if (threadIdx.x == 0) partial[(size_t) r * gridDim.x + blockIdx.x] = s[0];
}

// Pass two: norm[r] = sqrt(Σ_j partial[r * nb + j]) in block order; one thread per replica.
extern "C" __global__ void hs_norm_finish(int K, int nb, const double* partial, double* norm) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= K) return;
    double s = 0.0;
    for (int j = 0; j < nb; j++) s += partial[(size_t) r * nb + j];
    norm[r] = sqrt(s);
}
