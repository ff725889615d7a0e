// The 3 × 3 convolutions of the convolutional corrector (hybridsam.model.ConvShape) for K replicas
// at once, and the edge-replicate padding they read: KernelConvOps.java launches them, the
// convolutional gradient program (ConvOdeGradient.java) strings them into RK4 stages.
//
// Layouts (floats): activations [n][K][C][H][W], value (s, r, c, y, x) at ((s*K + r)*C + c)*H*W +
// y*W + x; a padded input [n][K][C][H+2][W+2], padded cell (py, px) copying (py-1, px-1) clamped
// into the grid (edge replicate, the boundary rule of the grid's Laplacian). Replica r's weights
// sit at w + wOff + r*wStride as [out][in][3][3] (tap (ky, kx) reads the padded input at
// (y + ky, x + kx), i.e. the grid at (y + ky - 1, x + kx - 1)) and its bias at b + bOff + r*bStride,
// the layout of the flat parameter vector. Each output is written by one thread and every sum runs
// in an order fixed by the sizes alone (no atomics), so repeated runs agree bit for bit.
#include "common.cuh"

#define HS_CONV_BLOCK 128  // threads per block of the forward and backward-data kernels (KernelConvOps.BLOCK)

__device__ __forceinline__ int hs_clamp(int v, int lo, int hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

// xp[p][py][px] = x[p][clamp(py - 1)][clamp(px - 1)] for planes p < planes (planes = n*K*C: the
// padding does not care which axis a plane belongs to). One thread per padded value;
// grid = ceil(planes * (H+2) * (W+2) / blockDim).
extern "C" __global__ void hs_pad_replicate(long long planes, int H, int W, const float* x, long long xOff,
                                            float* xp, long long xpOff) {
    long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    int PW = W + 2;
    long long PHW = (long long) (H + 2) * PW;
    if (t >= planes * PHW) return;
    long long p = t / PHW;
    int rem = (int) (t - p * PHW), py = rem / PW, px = rem - py * PW;
    xp[xpOff + t] = x[xOff + p * H * W + (long long) hs_clamp(py - 1, 0, H - 1) * W + hs_clamp(px - 1, 0, W - 1)];
}

// The adjoint of hs_pad_replicate: g[p][y][x] = Σ gp[p][py][px] over every padded cell that copies
// (y, x), i.e. the interior cell (y+1, x+1) and, on an edge of the grid, the border cells beside
// it (row 0 when y = 0, row H+1 when y = H-1, columns likewise, the corner when both): the padded
// rows copying row y form the range [y == 0 ? 0 : y+1, y == H-1 ? H+1 : y+1], the columns likewise,
// summed rows then columns ascending. accumulate == 0 overwrites g (the reverse pass of a hidden
// layer, whose gradient has no other source); accumulate != 0 adds to it. One thread per grid value;
// grid = ceil(planes * H * W / blockDim).
extern "C" __global__ void hs_pad_replicate_adjoint(long long planes, int H, int W, const float* gp, long long gpOff,
                                                    float* g, long long gOff, int accumulate) {
    long long t = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long HW = (long long) H * W;
    if (t >= planes * HW) return;
    long long p = t / HW;
    int rem = (int) (t - p * HW), y = rem / W, x = rem - y * W, PW = W + 2;
    int r0 = y == 0 ? 0 : y + 1, r1 = y == H - 1 ? H + 1 : y + 1;
    int c0 = x == 0 ? 0 : x + 1, c1 = x == W - 1 ? W + 1 : x + 1;
    const float* src = gp + gpOff + p * (H + 2) * PW;
    float s = 0.f;
    for (int py = r0; py <= r1; py++) {
        for (int px = c0; px <= c1; px++) s += src[py * PW + px];
    }
    g[gOff + t] = accumulate ? g[gOff + t] + s : s;
}

// y[s][r][o][cy][cx] = b[r][o] + Σ_i Σ_ky Σ_kx W[r][o][i][ky][kx] · xp[s][r][i][cy+ky][cx+kx], summed
// i, ky, kx ascending. One thread per output value; grid = (ceil(H*W / blockDim), cout, n*K) with
// blockIdx.z = s*K + r, so a block's threads share (sample, replica, channel) and read the same
// weights (a broadcast).
extern "C" __global__ void hs_conv3_forward(int K, int cin, int cout, int H, int W, const float* w, long long wOff,
                                            long long wStride, const float* b, long long bOff, long long bStride,
                                            const float* xp, long long xpOff, float* y, long long yOff) {
    int cell = blockIdx.x * blockDim.x + threadIdx.x, HW = H * W;
    if (cell >= HW) return;
    int o = blockIdx.y, PW = W + 2, cy = cell / W, cx = cell - cy * W;
    size_t z = blockIdx.z, r = z % K, PHW = (size_t) (H + 2) * PW;
    const float* wr = w + wOff + r * wStride + (size_t) o * cin * 9;
    const float* xs = xp + xpOff + z * cin * PHW + (size_t) cy * PW + cx;
    float acc = b[bOff + r * bStride + o];
    for (int i = 0; i < cin; i++) {
        const float* xi = xs + i * PHW;
        const float* wi = wr + i * 9;
        for (int ky = 0; ky < 3; ky++) {
            for (int kx = 0; kx < 3; kx++) acc += wi[ky * 3 + kx] * xi[ky * PW + kx];
        }
    }
    y[yOff + (z * cout + o) * HW + cell] = acc;
}

// The adjoint of the convolution, into the padded input's gradient (border included, overwritten):
// dxp[s][r][i][py][px] = Σ_o Σ_ky Σ_kx W[r][o][i][ky][kx] · dy[s][r][o][py-ky][px-kx] over the taps
// whose output cell lies in the grid, summed o, ky, kx ascending. hs_pad_replicate_adjoint then
// folds the border back onto the edge cells. One thread per padded value;
// grid = (ceil((H+2)*(W+2) / blockDim), cin, n*K).
extern "C" __global__ void hs_conv3_backward_data(int K, int cin, int cout, int H, int W, const float* w, long long wOff,
                                                  long long wStride, const float* dy, long long dyOff, float* dxp,
                                                  long long dxpOff) {
    int PW = W + 2, PHW = (H + 2) * PW, HW = H * W;
    int cell = blockIdx.x * blockDim.x + threadIdx.x;
    if (cell >= PHW) return;
    int i = blockIdx.y, py = cell / PW, px = cell - py * PW;
    size_t z = blockIdx.z, r = z % K;
    const float* wr = w + wOff + r * wStride + (size_t) i * 9;
    const float* ds = dy + dyOff + z * cout * HW;
    float acc = 0.f;
    for (int o = 0; o < cout; o++) {
        const float* wo = wr + (size_t) o * cin * 9;
        const float* d = ds + (size_t) o * HW;
        for (int ky = 0; ky < 3; ky++) {
            int oy = py - ky;
            if (oy < 0 || oy >= H) continue;
            for (int kx = 0; kx < 3; kx++) {
                int ox = px - kx;
                if (ox < 0 || ox >= W) continue;
                acc += wo[ky * 3 + kx] * d[oy * W + ox];
            }
        }
    }
    dxp[dxpOff + (z * cin + i) * PHW + cell] = acc;
}

// dW[r][o][i][ky][kx] += Σ_s Σ_cells dy[s][r][o][cell] · xp[s][r][i][cy+ky][cx+kx], and for i = 0 also
// db[r][o] += Σ_s Σ_cells dy[s][r][o][cell]. One block per (i, o, r), grid = (cin, cout, K), block =
// HS_BLOCK: thread t sums the (sample, cell) pairs t, t + HS_BLOCK, ... in float for the nine taps
// (and the bias), then a fixed tree in double (hs_block_sum) combines the threads; the result is
// added to the existing value (the reverse pass accumulates over every RK4 stage).
extern "C" __global__ void hs_conv3_backward_filter(int K, int n, int cin, int cout, int H, int W, const float* dy,
                                                    long long dyOff, const float* xp, long long xpOff, float* dw,
                                                    long long dwOff, long long dwStride, float* db, long long dbOff,
                                                    long long dbStride) {
    __shared__ double s[10 * HS_BLOCK];
    int i = blockIdx.x, o = blockIdx.y, tid = threadIdx.x, HW = H * W, PW = W + 2;
    size_t r = blockIdx.z, PHW = (size_t) (H + 2) * PW;
    float acc[10];
    for (int k = 0; k < 10; k++) acc[k] = 0.f;
    long long pairs = (long long) n * HW;
    for (long long e = tid; e < pairs; e += HS_BLOCK) {
        size_t smp = (size_t) (e / HW);
        int cell = (int) (e - (long long) smp * HW), cy = cell / W, cx = cell - cy * W;
        size_t z = smp * K + r;
        float d = dy[dyOff + (z * cout + o) * HW + cell];
        const float* x = xp + xpOff + (z * cin + i) * PHW + (size_t) cy * PW + cx;
        for (int ky = 0; ky < 3; ky++) {
            for (int kx = 0; kx < 3; kx++) acc[ky * 3 + kx] += d * x[ky * PW + kx];
        }
        acc[9] += d;
    }
    for (int k = 0; k < 10; k++) s[k * HS_BLOCK + tid] = (double) acc[k];
    __syncthreads();
    for (int k = 0; k < 10; k++) hs_block_sum(s + k * HS_BLOCK);
    if (tid == 0) {
        float* wt = dw + dwOff + r * dwStride + ((size_t) o * cin + i) * 9;
        for (int k = 0; k < 9; k++) wt[k] = (float) ((double) wt[k] + s[k * HS_BLOCK]);
        if (i == 0) {
            float* bt = db + dbOff + r * dbStride + o;
            *bt = (float) ((double) *bt + s[9 * HS_BLOCK]);
        }
    }
}
