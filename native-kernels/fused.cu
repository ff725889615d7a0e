// Fused gradient of the hybrid ODE rollout for an MLP with exactly two hidden layers (widths
// 2-H1-H2-2, H1, H2 <= HS_FMAX): one block per (tile of HS_TILE samples, replica), grid =
// (ceil(B / HS_TILE), K), blockDim.x >= max(H1, H2, 2·HS_TILE) (StepKernels.fusedBlock).
// The block's threads cooperate on the MLP: thread u owns hidden unit u of both layers (its W1
// row, b1, b2 and W3 column in registers) and computes that unit for all HS_TILE samples; the
// replica's W2 is staged once in shared memory (rows padded to H1 + 1 floats, so both the
// forward's row walk and the backward's column walk are free of bank conflicts; wider layers
// read it from global memory instead). Threads t < 2·HS_TILE own one state component
// (sample t / 2, component t % 2) of the RK4 rollout, in registers.
//
// Only the RK4 stage inputs y (2 floats per stage and sample) and the residuals are kept, in a
// per-tile global workspace ws[((r·tiles + tile)·Wt + x·2·HS_TILE + t)] (coalesced: a warp's
// component threads write consecutive floats); the backward pass recomputes each stage's hidden
// activations from y on chip (one extra forward) instead of storing them.
//
// The backward pass accumulates the tile's gradient over all samples and RK4 stages on chip:
// W2 in shared memory (each element owned by one thread: deterministic, no atomics), W1, b1,
// b2, W3 and b3 in the owning threads' registers, θ per component thread, and writes ONE
// partial gradient per tile, partial[(r·tiles + tile)·P + i] (θ part w.r.t. physical θ, weighted
// by `weight`), and the tile's squared error sq[r·tiles + tile]; hs_tilesum and hs_loss sum the
// tiles in a fixed order. Samples b >= B of the last tile replay the tile's first sample and
// contribute nothing.
#include "common.cuh"

#define HS_TILE 8        // samples per block (StepKernels.TILE)
#define HS_FMAX 128      // widest hidden layer (StepKernels.FUSED_MAX_WIDTH)
#define HS_W2CAP 4160    // floats of padded W2 staged in shared memory: H2 · (H1 + 1) <= 4160 (64-64)

// Hidden activations of one stage for the tile: sH1 = act(W1 y + b1), sH2 = act(W2 sH1 + b2),
// both [unit][sample]. Ends with a barrier.
__device__ __forceinline__ void hs_fused_hidden(int act, int H1, bool own1, bool own2, int u, float w10, float w11,
                                                float b1u, float b2u, const float* W2, int ld, const float* sY,
                                                float* sH1, float* sH2) {
    const int S = HS_TILE;
    if (own1) {
        HS_UNROLL
        for (int s = 0; s < S; s++) {
            float a = b1u;
            a += w10 * sY[2 * s];
            a += w11 * sY[2 * s + 1];
            sH1[u * S + s] = hs_act(act, a);
        }
    }
    __syncthreads();
    if (own2) {
        float acc[HS_TILE];
        HS_UNROLL
        for (int s = 0; s < S; s++) acc[s] = b2u;
        const float* wr = W2 + (size_t) u * ld;
        for (int j = 0; j < H1; j++) {
            float w = wr[j];
            const float* hj = sH1 + j * S;
            HS_UNROLL
            for (int s = 0; s < S; s++) acc[s] += w * hj[s];
        }
        HS_UNROLL
        for (int s = 0; s < S; s++) sH2[u * S + s] = hs_act(act, acc[s]);
    }
    __syncthreads();
}

extern "C" __global__ void hs_rollout_fused(int model, int act, const int* widths, int nTheta,
                                            const double* thetaBox, int P, const float* params,
                                            const float* obs, int frames, const int* batch, int B,
                                            float h, int spf, float weight, float* ws, float* partial,
                                            double* sq) {
    const int S = HS_TILE, D = HS_D;
    __shared__ __align__(16) float sW2[HS_W2CAP];
    __shared__ __align__(16) float sdW2[HS_W2CAP];
    __shared__ float sW1[2 * HS_FMAX], sW3[2 * HS_FMAX];
    __shared__ __align__(16) float sH1[HS_FMAX * HS_TILE];
    __shared__ __align__(16) float sH2[HS_FMAX * HS_TILE];
    __shared__ float sY[2 * HS_TILE], sG[2 * HS_TILE], sTh[HS_MAX_THETA], sRedF[2 * HS_TILE];
    __shared__ double sRed[2 * HS_TILE];

    int tid = threadIdx.x, nt = blockDim.x;
    int tile = blockIdx.x, r = blockIdx.y, tiles = gridDim.x;
    int H1 = widths[1], H2 = widths[2];
    int steps = (frames - 1) * spf;
    size_t Wt = ((size_t) steps * 4 + (size_t) (frames - 1)) * D * S;
    int resBase = steps * 4 * D * S;
    const float* p = params + (size_t) r * P;
    const float* nn = p + nTheta;
    int oW1 = 0, ob1 = 2 * H1, oW2 = ob1 + H1, ob2 = oW2 + H2 * H1, oW3 = ob2 + H2, ob3 = oW3 + 2 * H2;
    float* part = partial + ((size_t) r * tiles + tile) * P;
    float* wsT = ws + ((size_t) r * tiles + tile) * Wt;
    bool w2Shared = H2 * (H1 + 1) <= HS_W2CAP;
    int ld = w2Shared ? H1 + 1 : H1;
    const float* W2 = w2Shared ? (const float*) sW2 : nn + oW2;
    float* dW2 = w2Shared ? (float*) sdW2 : part + nTheta + oW2;  // [k][j], stride H1, thread-owned elements

    for (int e = tid; e < H2 * H1; e += nt) {
        if (w2Shared) {
            int k = e / H1, j = e - k * H1;
            sW2[k * ld + j] = nn[oW2 + e];
        }
        dW2[e] = 0.f;
    }
    for (int e = tid; e < 2 * H1; e += nt) sW1[e] = nn[oW1 + e];
    for (int e = tid; e < 2 * H2; e += nt) sW3[e] = nn[oW3 + e];
    if (tid < nTheta) sTh[tid] = (float) hs_theta(thetaBox, tid, (double) p[tid]);
    __syncthreads();

    // the unit this thread owns
    int u = tid;
    bool own1 = u < H1, own2 = u < H2;
    float w10 = own1 ? sW1[2 * u] : 0.f, w11 = own1 ? sW1[2 * u + 1] : 0.f, b1u = own1 ? nn[ob1 + u] : 0.f;
    float b2u = own2 ? nn[ob2 + u] : 0.f, w30 = own2 ? sW3[u] : 0.f, w31 = own2 ? sW3[H2 + u] : 0.f;
    float gw10 = 0.f, gw11 = 0.f, gb1 = 0.f, gb2 = 0.f, gw30 = 0.f, gw31 = 0.f, gb3 = 0.f;
    float th[HS_MAX_THETA], gth[HS_MAX_THETA];
    HS_UNROLL
    for (int i = 0; i < HS_MAX_THETA; i++) {
        th[i] = i < nTheta ? sTh[i] : 0.f;
        gth[i] = 0.f;
    }

    // the state component this thread owns
    bool comp = tid < 2 * S;
    int s = tid >> 1, m = tid & 1;
    int bIdx = tile * S + s;
    bool valid = comp && bIdx < B;
    int sample = batch[(size_t) r * B + (valid ? bIdx : tile * S)];
    const float* o = obs + (size_t) sample * frames * D;
    float b3m = comp ? nn[ob3 + m] : 0.f;
    float z = comp ? o[m] : 0.f, kk[4] = {0.f, 0.f, 0.f, 0.f};
    float half = 0.5f * h, sixth = h / 6.f;
    double sse = 0.0;

    for (int st = 0; st < steps; st++) {
        HS_UNROLL
        for (int j = 0; j < 4; j++) {
            float a = j == 3 ? h : half;
            if (comp) {
                float y = j == 0 ? z : z + a * kk[j - 1];
                sY[tid] = y;
                wsT[(size_t) (st * 4 + j) * D * S + tid] = y;
            }
            __syncthreads();
            hs_fused_hidden(act, H1, own1, own2, u, w10, w11, b1u, b2u, W2, ld, sY, sH1, sH2);
            if (comp) {
                float acc = b3m;
                const float* w3 = sW3 + m * H2;
                for (int k = 0; k < H2; k++) acc += w3[k] * sH2[k * S + s];
                float f[HS_D];
                hs_sci_field(model, th, sY + 2 * s, f);
                kk[j] = (m == 0 ? f[0] : f[1]) + acc;
            }
            __syncthreads();
        }
        if (comp) {
            z += sixth * (kk[0] + 2.f * kk[1] + 2.f * kk[2] + kk[3]);
            if ((st + 1) % spf == 0) {
                int f = (st + 1) / spf;
                float res = z - o[f * D + m];
                wsT[resBase + (size_t) (f - 1) * D * S + tid] = res;
                if (valid) sse += (double) res * res;
            }
        }
    }

    float w6 = h / 6.f, w3 = h / 3.f, two = 2.f * weight;
    float gz = 0.f, gk[4];
    for (int st = steps - 1; st >= 0; st--) {
        if (valid && (st + 1) % spf == 0) {
            int f = (st + 1) / spf;
            gz += two * wsT[resBase + (size_t) (f - 1) * D * S + tid];
        }
        gk[0] = w6 * gz;
        gk[1] = w3 * gz;
        gk[2] = w3 * gz;
        gk[3] = w6 * gz;
        HS_UNROLL
        for (int j = 3; j >= 0; j--) {
            int slot = st * 4 + j;
            if (comp) {
                sY[tid] = wsT[(size_t) slot * D * S + tid];
                sG[tid] = gk[j];
            }
            __syncthreads();
            hs_fused_hidden(act, H1, own1, own2, u, w10, w11, b1u, b2u, W2, ld, sY, sH1, sH2);
            // output layer: W3, b3 gradients; sH2 becomes the gradient at layer 2's pre-activation
            if (own2) {
                HS_UNROLL
                for (int q = 0; q < S; q++) {
                    float g0 = sG[2 * q], g1 = sG[2 * q + 1], hv = sH2[u * S + q];
                    gw30 += g0 * hv;
                    gw31 += g1 * hv;
                    float go = (0.f + w30 * g0 + w31 * g1) * hs_act_grad(act, hv);
                    gb2 += go;
                    sH2[u * S + q] = go;
                }
            }
            if (tid < 2) {
                HS_UNROLL
                for (int q = 0; q < S; q++) gb3 += sG[2 * q + tid];
            }
            __syncthreads();
            // layer 2: W2 gradient (element-owned) and the gradient at layer 1's output (registers)
            float g1acc[HS_TILE];
            if (own1) {
                HS_UNROLL
                for (int q = 0; q < S; q++) g1acc[q] = 0.f;
                for (int k = 0; k < H2; k++) {
                    float w = W2[(size_t) k * ld + u];
                    const float* gk2 = sH2 + k * S;
                    HS_UNROLL
                    for (int q = 0; q < S; q++) g1acc[q] += w * gk2[q];
                }
            }
            for (int e = tid; e < H1 * H2; e += nt) {
                int k = e / H1, jj = e - k * H1;
                const float* gk2 = sH2 + k * S;
                const float* hj = sH1 + jj * S;
                float acc = 0.f;
                HS_UNROLL
                for (int q = 0; q < S; q++) acc += gk2[q] * hj[q];
                dW2[e] += acc;
            }
            __syncthreads();
            if (own1) {
                HS_UNROLL
                for (int q = 0; q < S; q++) {
                    float go = g1acc[q] * hs_act_grad(act, sH1[u * S + q]);
                    gb1 += go;
                    gw10 += go * sY[2 * q];
                    gw11 += go * sY[2 * q + 1];
                    sH1[u * S + q] = go;
                }
            }
            __syncthreads();
            // input layer and the scientific model: gy for this component
            if (comp) {
                float gyn = 0.f;
                for (int i = 0; i < H1; i++) gyn += sW1[2 * i + m] * sH1[i * S + s];
                float yv[HS_D] = {sY[2 * s], sY[2 * s + 1]}, gv[HS_D] = {sG[2 * s], sG[2 * s + 1]};
                float gzz[HS_D] = {0.f, 0.f}, gt[HS_MAX_THETA] = {0.f, 0.f, 0.f, 0.f};
                hs_sci_vjp(model, th, yv, gv, gzz, gt);
                if (m == 0) {
                    HS_UNROLL
                    for (int i = 0; i < HS_MAX_THETA; i++) gth[i] += gt[i];
                }
                float gy = gyn + (m == 0 ? gzz[0] : gzz[1]);
                gz += gy;
                if (j > 0) gk[j - 1] += (j == 3 ? h : half) * gy;
            }
            __syncthreads();
        }
    }

    // θ gradient and squared error: the tile's samples summed in a fixed order
    HS_UNROLL
    for (int i = 0; i < HS_MAX_THETA; i++) {
        if (i >= nTheta) break;
        if (comp) sRedF[tid] = m == 0 ? gth[i] : 0.f;
        __syncthreads();
        if (tid == 0) {
            float acc = 0.f;
            for (int t = 0; t < 2 * S; t += 2) acc += sRedF[t];
            part[i] = acc;
        }
        __syncthreads();
    }
    if (comp) sRed[tid] = sse;
    __syncthreads();
    if (tid == 0) {
        double acc = 0.0;
        for (int t = 0; t < 2 * S; t++) acc += sRed[t];
        sq[(size_t) r * tiles + tile] = acc;
    }
    float* g = part + nTheta;
    if (own1) {
        g[oW1 + 2 * u] = gw10;
        g[oW1 + 2 * u + 1] = gw11;
        g[ob1 + u] = gb1;
    }
    if (own2) {
        g[ob2 + u] = gb2;
        g[oW3 + u] = gw30;
        g[oW3 + H2 + u] = gw31;
    }
    if (tid < 2) g[ob3 + tid] = gb3;
    if (w2Shared) {
        for (int e = tid; e < H1 * H2; e += nt) g[oW2 + e] = sdW2[e];
    }
}
