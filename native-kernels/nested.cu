// The nested hybrid (tasks.md, pendulum-images; NestedGradient.java) for K replicas and their
// minibatches of B image sequences: y = dec(ODE(enc(first frames); θ, φ)). The encoder and the
// decoder run as dense layers (dense.cu or cuBLAS) between these kernels, replicas as the batch
// of a strided-batched GEMM; the ODE between them is the fused per-thread RK4 rollout of
// common.cuh (the same functions as ode.cu's hs_rollout), one thread per (sample b, replica r).
//
// Everything lives in one workspace ws, at float offsets computed on the host:
//   X    [K][E][B]      the encoder's input: the first E = encoderFrames·H·W values of sequence
//                       batch[r*B + b] (its first frames, frame-major as stored)
//   z0   [K][D][B]      the encoder's output, the initial state
//   Z    [K][D][T·B]    the states at frames 0..T-1 (column t·B + b), the decoder's input
//   A    [K][px][T·B]   the decoder's output logits, then (in place) dL/dlogit
//   gZ   [K][D][T·B]    the state adjoints the decoder's backward leaves
//   gz0  [K][D][B]      the initial state's adjoint, the encoder's backward input
//   the rollout's per-sample workspace at rollOff, W floats per sample (hs_ni_rollout_floats)
// Images: images[((n·T + t)·H + y)·W + x]. Per-sample gradient rows of θ (physical) and the
// corrector: gs[(r*G + i)*B + b], G = nTheta + the corrector's parameters, summed by hs_ni_rowsum.
#include "common.cuh"

// Floats of rollout workspace per sample: stage inputs and activations of every RK4 stage, and
// the reverse pass's scratch (NestedGradient.rolloutFloats computes the same).
__device__ __forceinline__ size_t hs_ni_rollout_floats(int nLayers, const int* widths, int steps, int* Hs, int* maxW) {
    hs_mlp_sizes(nLayers, widths, Hs, maxW);
    return (size_t) steps * 4 * (HS_D + *Hs) + 2 * (size_t) *maxW;
}

// X[r][e][b] = images[batch[r*B + b]·seqLen + e] for e < E (seqLen = T·H·W); one thread per
// (e, b), grid = (ceil(E·B / blockDim), K).
extern "C" __global__ void hs_ni_gather(int E, long long seqLen, const float* images, const int* batch, int B, float* ws,
                                        long long xOff) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y;
    if (i >= (long long) E * B) return;
    int e = (int) (i / B), b = (int) (i % B);
    ws[(size_t) xOff + ((size_t) r * E + e) * B + b] = images[(size_t) batch[r * B + b] * (size_t) seqLen + e];
}

// The rollout from z0 (at z0Off, [K][D][B]): Z at frames 0..frames-1 (at zOff, [K][D][frames·B]),
// every stage's input and activations kept at rollOff. P: parameters per replica (u, then the
// corrector). One thread per (b, r), grid = (ceil(B / blockDim), K).
extern "C" __global__ void hs_ni_forward(int model, int act, int nLayers, const int* widths, int nTheta,
                                         const double* thetaBox, int P, const float* params, int frames, int B,
                                         float h, int spf, float* ws, long long rollOff, long long z0Off, long long zOff) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y;
    if (b >= B) return;
    const int D = HS_D;
    int Hs, maxW, steps = (frames - 1) * spf;
    size_t W = hs_ni_rollout_floats(nLayers, widths, steps, &Hs, &maxW);
    int hidBase = steps * 4 * D;
    const float* p = params + (size_t) r * P;
    const float* nn = p + nTheta;
    float th[HS_MAX_THETA];
    for (int i = 0; i < nTheta; i++) th[i] = (float) hs_theta(thetaBox, i, (double) p[i]);
    size_t TB = (size_t) frames * B;
    float z[HS_D];
    for (int d = 0; d < D; d++) {
        z[d] = ws[(size_t) z0Off + ((size_t) r * D + d) * B + b];
        ws[(size_t) zOff + ((size_t) r * D + d) * TB + b] = z[d];
    }
    float* rw = ws + (size_t) rollOff;
    for (int st = 0; st < steps; st++) {
        hs_rk4_step(model, act, nLayers, widths, nn, th, h, st, Hs, hidBase, rw, W, r, B, b, z);
        if ((st + 1) % spf == 0) {
            int f = (st + 1) / spf;
            for (int d = 0; d < D; d++) ws[(size_t) zOff + ((size_t) r * D + d) * TB + (size_t) f * B + b] = z[d];
        }
    }
}

// The reverse of hs_ni_forward: the state adjoints of frames 1..frames-1 (at gzOff, [K][D][frames·B])
// enter at their frames, frame 0's is added at the start; the initial state's adjoint goes to
// gz0Off ([K][D][B]) and the parameter gradients to the rows gs (G per replica, overwritten: θ's
// physical gradient, then the corrector's). One thread per (b, r), grid = (ceil(B / blockDim), K).
extern "C" __global__ void hs_ni_reverse(int model, int act, int nLayers, const int* widths, int nTheta,
                                         const double* thetaBox, int P, const float* params, int G, int frames, int B,
                                         float h, int spf, float* ws, long long rollOff, long long gzOff, long long gz0Off,
                                         float* gs) {
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y;
    if (b >= B) return;
    const int D = HS_D;
    int Hs, maxW, steps = (frames - 1) * spf;
    size_t W = hs_ni_rollout_floats(nLayers, widths, steps, &Hs, &maxW);
    int hidBase = steps * 4 * D, scratch = steps * 4 * (D + Hs);
    const float* p = params + (size_t) r * P;
    const float* nn = p + nTheta;
    float th[HS_MAX_THETA], gth[HS_MAX_THETA], gz[HS_D];
    for (int i = 0; i < nTheta; i++) {
        th[i] = (float) hs_theta(thetaBox, i, (double) p[i]);
        gth[i] = 0.f;
    }
    for (int i = 0; i < G; i++) HS_GS(i) = 0.f;
    for (int d = 0; d < D; d++) gz[d] = 0.f;
    size_t TB = (size_t) frames * B;
    float* rw = ws + (size_t) rollOff;
    for (int st = steps - 1; st >= 0; st--) {
        if ((st + 1) % spf == 0) {
            int f = (st + 1) / spf;
            for (int d = 0; d < D; d++) gz[d] += ws[(size_t) gzOff + ((size_t) r * D + d) * TB + (size_t) f * B + b];
        }
        hs_rk4_step_back(model, act, nLayers, widths, nn, th, nTheta, h, st, Hs, hidBase, scratch, maxW, rw, W, gs, G,
                         r, B, b, gz, gth);
    }
    for (int d = 0; d < D; d++) {
        gz[d] += ws[(size_t) gzOff + ((size_t) r * D + d) * TB + b];
        ws[(size_t) gz0Off + ((size_t) r * D + d) * B + b] = gz[d];
    }
    for (int i = 0; i < nTheta; i++) HS_GS(i) = gth[i];
}

// The decoder's logits a (at aOff, [K][px][frames·B]) through the sigmoid against the frames of
// sequence batch[r*B + s]: res = sigmoid(a) − image, a ← two · res · y (1 − y) in place (dL/da,
// two = 2 · loss weight), sq[r*B + s] = Σ res² over frames and pixels (per-thread sums in a fixed
// stride, then a block tree sum, in double). grid = (B, K), block = HS_BLOCK.
extern "C" __global__ void hs_ni_residual(int px, int frames, const float* images, const int* batch, float* ws, long long aOff,
                                          float two, double* sq) {
    __shared__ double s[HS_BLOCK];
    int B = gridDim.x, smp = blockIdx.x, r = blockIdx.y, tid = threadIdx.x;
    size_t TB = (size_t) frames * B;
    const float* img = images + (size_t) batch[r * B + smp] * frames * px;
    float* a = ws + (size_t) aOff + (size_t) r * px * TB;
    double acc = 0.0;
    for (int d = tid; d < frames * px; d += HS_BLOCK) {
        int t = d / px, q = d - t * px;
        size_t at = (size_t) q * TB + (size_t) t * B + smp;
        float y = 1.f / (1.f + expf(-a[at]));
        float res = y - img[d];
        a[at] = two * res * (y * (1.f - y));
        acc += (double) res * res;
    }
    s[tid] = acc;
    __syncthreads();
    hs_block_sum(s);
    if (tid == 0) sq[(size_t) r * B + smp] = s[0];
}

// grad[r*P + i] = Σ_b gs[(r*G + i)*B + b] (b ascending, in double) for i < G: the θ (physical)
// and corrector block of the gradient; one thread per (i, r), grid = (ceil(G / blockDim), K).
extern "C" __global__ void hs_ni_rowsum(int G, int P, int B, const float* gs, float* grad) {
    int i = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (i >= G) return;
    const float* x = gs + ((size_t) r * G + i) * B;
    double acc = 0.0;
    for (int b = 0; b < B; b++) acc += (double) x[b];
    grad[(size_t) r * P + i] = (float) acc;
}
