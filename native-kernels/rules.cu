// The element-wise parts of the training rules (method.md §2) over K replicas' flat vectors,
// grid = (ceil(P / blockDim), K): l2 penalty, fsam's direction and average, perturb with the
// norm read from device memory, restore, and clip + Adam. Mirrors hybridsam.train.Rules and the
// step sequence of CpuTrainingEngine. `step` points at the device-side count of steps taken.
#include "common.cuh"

#define HS_ELEMENT                                              \
    int i = blockIdx.x * blockDim.x + threadIdx.x;              \
    int r = blockIdx.y;                                         \
    if (i >= P) return;                                         \
    const double* c = cfg + (size_t) r * HS_CFG_N;              \
    int method = (int) c[HS_CFG_METHOD];                        \
    size_t at = (size_t) r * P + i;

// l2: grad_φ += λ₂ φ.
extern "C" __global__ void hs_l2_add(int P, int nTheta, const double* cfg, const float* params, float* grad) {
    HS_ELEMENT
    if (method != HS_L2 || i < nTheta) return;
    grad[at] += (float) c[HS_CFG_L2] * params[at];
}

// fsam: d = g - σ m (into eps), then m = λ m + (1 - λ) g; on the first step m = d = g.
extern "C" __global__ void hs_fsam_direction(int P, const double* cfg, const int* step, const float* grad,
                                             float* avg, float* eps) {
    HS_ELEMENT
    if (method != HS_FSAM || i < (int) c[HS_CFG_PERTURB_OFF]) return;
    float g = grad[at];
    if (*step == 0) {
        eps[at] = g;
        avg[at] = g;
    } else {
        float sigma = (float) c[HS_CFG_SIGMA], lambda = (float) c[HS_CFG_LAMBDA];
        eps[at] = g - sigma * avg[at];
        avg[at] = lambda * avg[at] + (1.f - lambda) * g;
    }
}

// φ (and θ with perturb all) += ε, ε scaled by ρ / (norm[r] + e); the old value goes to saved.
extern "C" __global__ void hs_perturb(int P, const double* cfg, const double* norm, const float* grad,
                                      float* eps, float* params, float* saved) {
    HS_ELEMENT
    if (!hs_perturbs(method) || i < (int) c[HS_CFG_PERTURB_OFF]) return;
    float scale = (float) (c[HS_CFG_RHO] / (norm[r] + HS_GUARD));
    float p = params[at], e;
    if (method == HS_SAM) {
        e = scale * grad[at];
    } else if (method == HS_ASAM) {
        float t = fabsf(p) + (float) c[HS_CFG_ETA];
        e = scale * t * t * grad[at];
    } else {
        e = eps[at] * scale;
    }
    eps[at] = e;
    saved[at] = p;
    params[at] = p + e;
}

// Restores the perturbed block from saved and hands the perturbed gradient grad2 on from
// index gradFrom (0, or nTheta with --theta-grad clean).
extern "C" __global__ void hs_restore(int P, const double* cfg, const float* saved, const float* grad2,
                                      float* params, float* grad) {
    HS_ELEMENT
    if (!hs_perturbs(method)) return;
    if (i >= (int) c[HS_CFG_PERTURB_OFF]) params[at] = saved[at];
    if (i >= (int) c[HS_CFG_GRAD_FROM]) grad[at] = grad2[at];
}

// Clip to norm[r] ≤ clip (when clip > 0), then Adam with bias correction for step *step + 1;
// θ (i < nTheta) at lrTheta without decay, φ at lrNn with decoupled decay.
extern "C" __global__ void hs_adam(int P, int nTheta, const double* cfg, const double* gradNorm, const int* step,
                                   float* params, const float* grad, float* m, float* v) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y;
    if (i >= P) return;
    const double* c = cfg + (size_t) r * HS_CFG_N;
    size_t at = (size_t) r * P + i;
    float g = grad[at];
    double clip = c[HS_CFG_CLIP];
    if (clip > 0 && gradNorm[r] > clip) g *= (float) (clip / (gradNorm[r] + HS_GUARD));
    double t = (double) (*step + 1);
    float b1 = 0.9f, b2 = 0.999f;
    float c1 = (float) (1.0 - pow(0.9, t)), c2 = (float) (1.0 - pow(0.999, t));
    bool theta = i < nTheta;
    double lr = theta ? c[HS_CFG_LR_THETA] : c[HS_CFG_LR_NN];
    double decay = theta ? 0.0 : c[HS_CFG_DECAY];
    float p = params[at];
    if (decay != 0) p *= (float) (1.0 - lr * decay);
    float mi = b1 * m[at] + (1.f - b1) * g;
    float vi = b2 * v[at] + (1.f - b2) * g * g;
    m[at] = mi;
    v[at] = vi;
    float mHat = mi / c1, vHat = vi / c2;
    params[at] = p - (float) lr * mHat / (sqrtf(vHat) + 1e-8f);
}

// The device-side step count: advanced once at the end of every step.
extern "C" __global__ void hs_step_advance(int* step) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *step += 1;
}
