// The wind-tunnel hybrid (tasks.md, wind-tunnel; WindTunnelGradient.java): two fans
//   ω_j′ = θ_T g(L_j) − θ_K ω_j² + fanScale · fan(ω_j/ω_max, L_j)        j = in, out (one fan MLP)
//   p̂   = C1(ω_in, ω_out) + pScale · pnet(ω_in/ω_max, ω_out/ω_max, H/H_max)
// with g(L) = max(L_min, L)³ (C_max − C_min) (0 when L = 0) and C1 = S_max ((ω_in/ω_max)² −
// (ω_out/ω_max)²); classic RK4, SUB equal steps between consecutive time stamps (the loads held at
// the interval's first sample), from the first observed speeds; loss of a sequence (1/3) [Σ_{f≥1}
// (r_in² + r_out²)/(T−1) + Σ_{f≥0} r_p²/T] with ω residuals scaled by 1/ω_max and pressure
// residuals by 1/S_max; a minibatch's loss is the mean over its sequences.
//
// One thread per (sequence, replica), grid = (ceil(B / blockDim), K), both fans in the thread.
// The forward pass keeps the state at the start of every RK4 step and at every sample; the reverse
// pass recomputes each step's four stages (and the fan net's activations) from its start, as the
// CPU backend does, so the tape is small. Per-thread workspace (floats, interleaved
// ws[(r·Wt + x)·B + b] so that neighbouring threads touch neighbouring addresses), Wt =
// hs_wt_tape(...): step starts ((T−1)·SUB·2), sample states (T·2), the stage inputs of one step
// (4·2) and its fan activations (4·2·Hf), pressure activations (Hp), two scratch vectors (maxW
// each). Per-sample gradients gs[(r·P + i)·B + b] (θ's part w.r.t. physical θ, already weighted by
// invB) and each sequence's loss sq[r·B + b] are reduced afterwards in a fixed order (hs_rowsum,
// hs_loss with weight invB).
//
// Constants (the task's, from the host): double wc[HS_WT_N], indexed by the HS_WT_ enum of common.cuh. Networks: layer widths at fanW[0..fanL] and pW[0..pL], weights at replica
// offsets fanOff and pOff (MlpShape's layout: W [out][in] row-major, then b, per layer).
#include "common.cuh"

#define HS_WT(x) ws[((size_t) r * Wt + (size_t) (x)) * B + b]
#define HS_WG(i) gs[((size_t) r * P + (size_t) (i)) * B + b]

// Hidden units (sum of hidden widths) and widest layer of an MLP.
__device__ __forceinline__ void hs_wt_sizes(int L, const int* w, int* hidden, int* maxW) {
    int h = 0, m = 0;
    for (int l = 0; l <= L; l++) {
        if (l > 0 && l < L) h += w[l];
        if (w[l] > m) m = w[l];
    }
    *hidden = h;
    *maxW = m;
}

// Floats of tape per (sequence, replica).
__device__ __forceinline__ size_t hs_wt_tape(int T, int sub, int fanL, const int* fanW, int pL, const int* pW) {
    int hf, mf, hp, mp;
    hs_wt_sizes(fanL, fanW, &hf, &mf);
    hs_wt_sizes(pL, pW, &hp, &mp);
    int maxW = mf > mp ? mf : mp;
    return (size_t) (T - 1) * sub * 2 + (size_t) T * 2 + 8 + (size_t) 8 * hf + hp + 2 * (size_t) maxW;
}

// g(L) of model A2 (0 for a fan switched off).
__device__ __forceinline__ float hs_wt_load(float L, const double* wc) {
    if (L == 0.f) return 0.f;
    double l = L > wc[HS_WT_LOAD_MIN] ? (double) L : wc[HS_WT_LOAD_MIN];
    return (float) (l * l * l * wc[HS_WT_C_RANGE]);
}

// One output MLP forward at input x (n0 values): hidden activations to the tape at hid, the output
// returned; common.cuh's hs_mlp_forward over this kernel's workspace (stride Wt).
__device__ __forceinline__ float hs_wt_mlp(const float* nn, int L, const int* w, int act, const float* x, float* ws,
                                           size_t Wt, int r, int B, int b, int hid) {
    float out;
    hs_mlp_forward(nn, L, w, act, x, ws, Wt, r, B, b, hid, &out);
    return out;
}

// The reverse of hs_wt_mlp for the output gradient go: the weights' gradients added to gs at
// gOff (the MLP's offset in the replica's parameters), the input gradient into gx (n0 values).
__device__ __forceinline__ void hs_wt_mlp_back(const float* nn, int L, const int* w, int act, const float* x, float go,
                                               float* ws, size_t Wt, float* gs, int P, int r, int B, int b, int hid,
                                               int scratch, int maxW, int gOff, float* gx) {
    int off = 0, hstart = 0;
    for (int l = 0; l < L; l++) off += w[l + 1] * (w[l] + 1);
    for (int l = 1; l < L; l++) hstart += w[l];
    int cur = scratch, nxt = scratch + maxW;
    for (int l = L - 1; l >= 0; l--) {
        int nin = w[l], nout = w[l + 1];
        off -= nout * (nin + 1);
        if (l > 0) hstart -= nin;
        const float* Wl = nn + off;
        int gW = gOff + off, gb = gW + nout * nin;
        for (int k = 0; k < nout; k++) {
            float g = l == L - 1 ? go : HS_WT(cur + k);
            if (l == 0) {
                for (int i = 0; i < nin; i++) HS_WG(gW + k * nin + i) += g * x[i];
            } else {
                for (int i = 0; i < nin; i++) HS_WG(gW + k * nin + i) += g * HS_WT(hid + hstart + i);
            }
            HS_WG(gb + k) += g;
        }
        for (int i = 0; i < nin; i++) {
            float s = 0.f;
            for (int k = 0; k < nout; k++) s += Wl[k * nin + i] * (l == L - 1 ? go : HS_WT(cur + k));
            if (l > 0) HS_WT(nxt + i) = s * hs_act_grad(act, HS_WT(hid + hstart + i));
            else gx[i] = s;
        }
        int t = cur; cur = nxt; nxt = t;
    }
}

extern "C" __global__ void hs_wt_rollout(int act, int fanL, const int* fanW, int fanOff, int pL, const int* pW, int pOff,
                                         const double* thetaBox, int P, const float* params, const double* wc,
                                         const float* obs, const float* inputs, const float* times, int T, int sub,
                                         const int* batch, int B, float invB, float* ws, float* gs, double* sq) {
    int b = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (b >= B) return;
    size_t Wt = hs_wt_tape(T, sub, fanL, fanW, pL, pW);
    int hf, mf, hp, mp;
    hs_wt_sizes(fanL, fanW, &hf, &mf);
    hs_wt_sizes(pL, pW, &hp, &mp);
    int maxW = mf > mp ? mf : mp;
    int starts = 0, states = (T - 1) * sub * 2, stageY = states + T * 2, fanHid = stageY + 8, pHid = fanHid + 8 * hf,
        scratch = pHid + hp;
    const float* p = params + (size_t) r * P;
    const float* fnn = p + fanOff;
    const float* pnn = p + pOff;
    float thT = (float) hs_theta(thetaBox, 0, (double) p[0]), thK = (float) hs_theta(thetaBox, 1, (double) p[1]);
    float wmax = (float) wc[HS_WT_OMEGA_MAX], smax = (float) wc[HS_WT_S_MAX], hmax = (float) wc[HS_WT_HATCH_MAX];
    float fs = (float) wc[HS_WT_FAN_SCALE], ps = (float) wc[HS_WT_P_SCALE];
    int s = batch[r * B + b];
    const float* o = obs + (size_t) s * T * 3;
    const float* in = inputs + (size_t) s * T * 3;
    const float* tm = times + (size_t) s * T;

    // forward
    float z[2] = {o[0], o[1]}, k[4][2], y[2], x[3];
    double sqW = 0.0, sqP = 0.0;
    for (int f = 0; f < T; f++) {
        if (f > 0) {
            int fi = f - 1;
            float h = (tm[f] - tm[fi]) / (float) sub, g0 = hs_wt_load(in[fi * 3], wc), g1 = hs_wt_load(in[fi * 3 + 1], wc);
            for (int st = 0; st < sub; st++) {
                HS_WT(starts + (fi * sub + st) * 2) = z[0];
                HS_WT(starts + (fi * sub + st) * 2 + 1) = z[1];
                for (int j = 0; j < 4; j++) {
                    float a = j == 3 ? h : 0.5f * h;
                    for (int d = 0; d < 2; d++) {
                        y[d] = j == 0 ? z[d] : z[d] + a * k[j - 1][d];
                        x[0] = y[d] / wmax;
                        x[1] = in[fi * 3 + d];
                        float net = hs_wt_mlp(fnn, fanL, fanW, act, x, ws, Wt, r, B, b, fanHid);
                        k[j][d] = thT * (d == 0 ? g0 : g1) - thK * y[d] * y[d] + fs * net;
                    }
                }
                for (int d = 0; d < 2; d++) z[d] += h / 6.f * (k[0][d] + 2.f * k[1][d] + 2.f * k[2][d] + k[3][d]);
            }
            float ri = (z[0] - o[f * 3]) / wmax, ro = (z[1] - o[f * 3 + 1]) / wmax;
            sqW += (double) ri * ri + (double) ro * ro;
        }
        HS_WT(states + f * 2) = z[0];
        HS_WT(states + f * 2 + 1) = z[1];
        x[0] = z[0] / wmax;
        x[1] = z[1] / wmax;
        x[2] = in[f * 3 + 2] / hmax;
        float pr = smax * (x[0] * x[0] - x[1] * x[1]) + ps * hs_wt_mlp(pnn, pL, pW, act, x, ws, Wt, r, B, b, pHid);
        float rp = (pr - o[f * 3 + 2]) / smax;
        sqP += (double) rp * rp;
    }
    sq[(size_t) r * B + b] = (sqW / (T - 1) + sqP / T) / 3.0;

    // reverse
    for (int i = 0; i < P; i++) HS_WG(i) = 0.f;
    float gthT = 0.f, gthK = 0.f, gz[2] = {0.f, 0.f}, gk[4][2], gx[3];
    float cW = 2.f * invB / (3.f * (T - 1)) / wmax, cP = 2.f * invB / (3.f * T) / smax;
    for (int f = T - 1; f >= 0; f--) {
        float zf[2] = {HS_WT(states + f * 2), HS_WT(states + f * 2 + 1)};
        if (f > 0) {
            gz[0] += cW * ((zf[0] - o[f * 3]) / wmax);
            gz[1] += cW * ((zf[1] - o[f * 3 + 1]) / wmax);
        }
        // the pressure readout at sample f: recompute its activations, then back through it
        x[0] = zf[0] / wmax;
        x[1] = zf[1] / wmax;
        x[2] = in[f * 3 + 2] / hmax;
        float pr = smax * (x[0] * x[0] - x[1] * x[1]) + ps * hs_wt_mlp(pnn, pL, pW, act, x, ws, Wt, r, B, b, pHid);
        float gp = cP * ((pr - o[f * 3 + 2]) / smax);
        hs_wt_mlp_back(pnn, pL, pW, act, x, ps * gp, ws, Wt, gs, P, r, B, b, pHid, scratch, maxW, pOff, gx);
        if (f == 0) break;  // the first speeds are observed, not predicted
        gz[0] += gp * (2.f * smax * zf[0] / (wmax * wmax)) + gx[0] / wmax;
        gz[1] += gp * (-2.f * smax * zf[1] / (wmax * wmax)) + gx[1] / wmax;
        int fi = f - 1;
        float h = (tm[f] - tm[fi]) / (float) sub, g0 = hs_wt_load(in[fi * 3], wc), g1 = hs_wt_load(in[fi * 3 + 1], wc);
        for (int st = sub - 1; st >= 0; st--) {
            float z0[2] = {HS_WT(starts + (fi * sub + st) * 2), HS_WT(starts + (fi * sub + st) * 2 + 1)};
            for (int j = 0; j < 4; j++) {
                float a = j == 3 ? h : 0.5f * h;
                for (int d = 0; d < 2; d++) {
                    float yd = j == 0 ? z0[d] : z0[d] + a * k[j - 1][d];
                    HS_WT(stageY + j * 2 + d) = yd;
                    x[0] = yd / wmax;
                    x[1] = in[fi * 3 + d];
                    float net = hs_wt_mlp(fnn, fanL, fanW, act, x, ws, Wt, r, B, b, fanHid + (j * 2 + d) * hf);
                    k[j][d] = thT * (d == 0 ? g0 : g1) - thK * yd * yd + fs * net;
                }
            }
            for (int d = 0; d < 2; d++) {
                gk[0][d] = h / 6.f * gz[d];
                gk[1][d] = h / 3.f * gz[d];
                gk[2][d] = h / 3.f * gz[d];
                gk[3][d] = h / 6.f * gz[d];
            }
            for (int j = 3; j >= 0; j--) {
                float a = j == 3 ? h : 0.5f * h;
                for (int d = 0; d < 2; d++) {
                    float yd = HS_WT(stageY + j * 2 + d), g = gk[j][d];
                    x[0] = yd / wmax;
                    x[1] = in[fi * 3 + d];
                    hs_wt_mlp_back(fnn, fanL, fanW, act, x, fs * g, ws, Wt, gs, P, r, B, b, fanHid + (j * 2 + d) * hf,
                                   scratch, maxW, fanOff, gx);
                    gthT += g * (d == 0 ? g0 : g1);
                    gthK -= g * yd * yd;
                    float gy = g * (-2.f * thK * yd) + gx[0] / wmax;
                    gz[d] += gy;
                    if (j > 0) gk[j - 1][d] += a * gy;
                }
            }
        }
    }
    HS_WG(0) = gthT;
    HS_WG(1) = gthK;
}
