// Host emulation of the CUDA execution model, enough for the hybridsam kernels: the same .cu
// sources compile with g++ (-DHYBRIDSAM_EMULATION -x c++). Each block's threads run as
// cooperative fibers on one host thread (a register-only
// switch on x86-64, ucontext elsewhere; see emu_jni.cpp); __syncthreads() switches to the next fiber,
// so a block's threads meet at every barrier as on a GPU. __shared__ becomes a function-local
// static thread_local: one copy per host thread, which runs one block at a time, so the block's
// fibers share it. Blocks of a launch are spread over a few host threads. No warp intrinsics or
// atomics are provided because the kernels use none (their reductions are fixed-order trees).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

namespace hsemu {
extern thread_local dim3 thread_idx, block_idx, block_dim, grid_dim;
void sync_threads();
}

#define threadIdx (hsemu::thread_idx)
#define blockIdx (hsemu::block_idx)
#define blockDim (hsemu::block_dim)
#define gridDim (hsemu::grid_dim)
#define __syncthreads() hsemu::sync_threads()
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static thread_local
#define __align__(n) __attribute__((aligned(n)))

using std::fabs;
using std::sqrt;
using std::isfinite;
using std::exp;
using std::log;
using std::pow;
