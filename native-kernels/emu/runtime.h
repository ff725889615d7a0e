// The emulation runtime shared by the emulation library (emu_jni.cpp) and the CUDA stand-in
// (../standin/kernels.cpp): the kernels of native-kernels/*.cu compiled as host C++, the fiber
// scheduler that runs a block's threads, and the table of kernels by name with their typed
// parameter lists. Included by exactly one translation unit of each library.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>
#if !defined(__x86_64__)
#include <ucontext.h>
#define HS_UCONTEXT 1
#endif

#include "cuda_emu.h"
#include "../ode.cu"
#include "../fused.cu"
#include "../reduce.cu"
#include "../rules.cu"
#include "../dense.cu"
#include "../layerwise.cu"

namespace hsemu {
thread_local dim3 thread_idx, block_idx, block_dim, grid_dim;

namespace {
constexpr size_t STACK = 128 * 1024;

#ifndef HS_UCONTEXT
// A fiber switch on x86-64 that saves only the callee-saved registers and the stack pointer
// (the caller saves the rest, as for any call): swapcontext also saves the signal mask with a
// system call on every switch, which made kernels with barriers slow to emulate.
extern "C" void hs_emu_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .globl hs_emu_switch
    .hidden hs_emu_switch
    .type hs_emu_switch,@function
hs_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size hs_emu_switch, .-hs_emu_switch
)");
#endif

struct Fiber {
#ifdef HS_UCONTEXT
    ucontext_t ctx;
#else
    void* sp = nullptr;
#endif
    bool done = false;
    dim3 tid;
    std::unique_ptr<char[]> stack;
};

#ifdef HS_UCONTEXT
thread_local ucontext_t scheduler;
#else
thread_local void* scheduler_sp = nullptr;
#endif
thread_local Fiber* current = nullptr;
thread_local const std::function<void()>* body = nullptr;
thread_local std::vector<Fiber> fibers;

void fiber_entry() {
    (*body)();
    current->done = true;
#ifndef HS_UCONTEXT
    hs_emu_switch(&current->sp, scheduler_sp);  // never resumed
    __builtin_trap();
#endif
}

__attribute__((noinline)) void prepare(Fiber& f, dim3 tid) {
    if (!f.stack) f.stack.reset(new char[STACK]);
    f.done = false;
    f.tid = tid;
#ifdef HS_UCONTEXT
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack.get();
    f.ctx.uc_stack.ss_size = STACK;
    f.ctx.uc_link = &scheduler;
    makecontext(&f.ctx, fiber_entry, 0);
#else
    // the new stack as hs_emu_switch leaves a suspended one: six saved registers, then the
    // address it returns to (fiber_entry, entered with rsp = 8 mod 16 as after a call)
    uintptr_t top = (reinterpret_cast<uintptr_t>(f.stack.get()) + STACK) & ~uintptr_t(15);
    void** sp = reinterpret_cast<void**>(top - 16);
    sp[0] = reinterpret_cast<void*>(&fiber_entry);
    sp[1] = nullptr;
    sp -= 6;
    for (int i = 0; i < 6; i++) sp[i] = nullptr;
    f.sp = sp;
#endif
}

// Runs one block: every thread as a fiber, round-robin between barriers until all return.
void run_block(const std::function<void()>& kernel, dim3 block) {
    size_t n = (size_t) block.x * block.y * block.z;
    if (fibers.size() < n) fibers.resize(n);
    body = &kernel;
    for (size_t t = 0; t < n; t++) {
        prepare(fibers[t], dim3{(unsigned) (t % block.x), (unsigned) ((t / block.x) % block.y),
                                (unsigned) (t / ((size_t) block.x * block.y))});
    }
    size_t live = n;
    while (live > 0) {
        live = 0;
        for (size_t i = 0; i < n; i++) {
            Fiber& f = fibers[i];
            if (f.done) continue;
            current = &f;
            thread_idx = f.tid;
#ifdef HS_UCONTEXT
            swapcontext(&scheduler, &f.ctx);
#else
            hs_emu_switch(&scheduler_sp, f.sp);
#endif
            if (!f.done) live++;
        }
    }
    current = nullptr;
}
}  // namespace

void sync_threads() {
    if (current == nullptr) {
        std::fprintf(stderr, "hybridsam emulator: __syncthreads() in a kernel registered without barriers\n");
        std::abort();
    }
#ifdef HS_UCONTEXT
    swapcontext(&current->ctx, &scheduler);
#else
    hs_emu_switch(&current->sp, scheduler_sp);
#endif
}

// Runs a block whose kernel has no barrier: its threads one after another, without fibers.
void run_block_plain(const std::function<void()>& kernel, dim3 block) {
    for (unsigned z = 0; z < block.z; z++)
        for (unsigned y = 0; y < block.y; y++)
            for (unsigned x = 0; x < block.x; x++) {
                thread_idx = dim3{x, y, z};
                kernel();
            }
}

// Runs every block of a launch in order on the calling thread (whose fibers and stacks persist
// between launches); fibers only for kernels that synchronise.
void launch(const std::function<void()>& kernel, dim3 grid, dim3 block, bool barriers) {
    grid_dim = grid;
    block_dim = block;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                block_idx = dim3{x, y, z};
                if (barriers) run_block(kernel, block);
                else run_block_plain(kernel, block);
            }
}
// Parameter unpacking with the driver's layout: each argument at the next multiple of its size.
template <typename T> char sig() {
    if constexpr (std::is_same_v<T, long long>) return 'l';
    else
    if constexpr (std::is_pointer_v<T>) return 'p';
    else if constexpr (std::is_same_v<T, int>) return 'i';
    else if constexpr (std::is_same_v<T, float>) return 'f';
    else if constexpr (std::is_same_v<T, double>) return 'd';
    else static_assert(sizeof(T) == 0, "unsupported kernel parameter type");
}

template <typename T> T take(const char* buf, size_t& off) {
    off = (off + sizeof(T) - 1) / sizeof(T) * sizeof(T);
    T v;
    std::memcpy(&v, buf + off, sizeof(T));
    off += sizeof(T);
    return v;
}

// A kernel by name: its parameter types ("p", "i", "l", "f", "d" each), the packed size of its
// parameters, whether it synchronises, and two binders: from a packed parameter buffer (the
// emulation library) and from the driver's void** argument list (the CUDA stand-in), the latter
// also handing back the pointer arguments for checks.
struct Kernel {
    std::string signature;
    size_t bytes;
    bool barriers;
    std::function<std::function<void()>(const char*)> bind;
    std::function<std::function<void()>(void* const*, std::vector<uintptr_t>&)> bind_args;
};

template <typename T> void note_pointer(const T& v, std::vector<uintptr_t>& out) {
    if constexpr (std::is_pointer_v<T>) out.push_back(reinterpret_cast<uintptr_t>(v));
}

template <typename... A, size_t... I>
std::tuple<A...> take_args(void* const* params, std::index_sequence<I...>) {
    return std::tuple<A...>{*static_cast<const A*>(params[I])...};
}

template <typename... A> Kernel make_kernel(void (*f)(A...), bool barriers) {
    Kernel k;
    k.barriers = barriers;
    k.signature = std::string{sig<A>()...};
    size_t off = 0;
    ((off = (off + sizeof(A) - 1) / sizeof(A) * sizeof(A) + sizeof(A)), ...);
    k.bytes = off;
    k.bind = [f](const char* buf) {
        size_t o = 0;
        std::tuple<A...> args{take<A>(buf, o)...};
        return std::function<void()>([f, args]() { std::apply(f, args); });
    };
    k.bind_args = [f](void* const* params, std::vector<uintptr_t>& pointers) {
        std::tuple<A...> args = take_args<A...>(params, std::index_sequence_for<A...>{});
        std::apply([&pointers](const A&... a) { (note_pointer(a, pointers), ...); }, args);
        return std::function<void()>([f, args]() { std::apply(f, args); });
    };
    return k;
}

// HS_SYNC_KERNEL: the kernel calls __syncthreads() and runs with one fiber per thread.
// kernel_table.inc (one of these per kernel) is generated by native-kernels/build.sh from the
// extern "C" __global__ declarations of native-kernels/*.cu into <target>/generated/, which
// must be on the include path (-I); KernelNames reads the same scan's kernels.index.
#define HS_KERNEL(name) {#name, make_kernel(&name, false)},
#define HS_SYNC_KERNEL(name) {#name, make_kernel(&name, true)},
const std::map<std::string, Kernel>& kernels() {
    static const std::map<std::string, Kernel> table = {
#include "kernel_table.inc"
    };
    return table;
}
}  // namespace hsemu
