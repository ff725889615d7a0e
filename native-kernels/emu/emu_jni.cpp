// JNI library behind hybridsam.cuda.EmulatedDevice: the driver API's shape (alloc, free, copies,
// launch by kernel name with a packed parameter buffer) over host memory, running the kernels of
// native-kernels/*.cu compiled as host C++. Device pointers are host addresses.
#include <jni.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
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
}  // namespace hsemu

namespace {
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

struct Kernel {
    std::string signature;
    size_t bytes;
    bool barriers;
    std::function<std::function<void()>(const char*)> bind;
};

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
    return k;
}

// HS_SYNC_KERNEL: the kernel calls __syncthreads() and runs with one fiber per thread.
#define HS_KERNEL(name) {#name, make_kernel(&name, false)}
#define HS_SYNC_KERNEL(name) {#name, make_kernel(&name, true)}
const std::map<std::string, Kernel>& kernels() {
    static const std::map<std::string, Kernel> table = {
        HS_KERNEL(hs_rollout), HS_KERNEL(hs_theta_chain), HS_KERNEL(hs_loss), HS_SYNC_KERNEL(hs_loss_tally),
        HS_SYNC_KERNEL(hs_rollout_fused), HS_KERNEL(hs_tilesum),
        HS_KERNEL(hs_rowsum), HS_SYNC_KERNEL(hs_norm_partial), HS_KERNEL(hs_norm_finish),
        HS_KERNEL(hs_l2_add), HS_KERNEL(hs_fsam_direction), HS_KERNEL(hs_perturb),
        HS_KERNEL(hs_restore), HS_KERNEL(hs_adam), HS_KERNEL(hs_step_advance),
        HS_SYNC_KERNEL(hs_gemm), HS_KERNEL(hs_bias_set), HS_KERNEL(hs_bias_grad), HS_KERNEL(hs_act_forward),
        HS_KERNEL(hs_act_backward), HS_KERNEL(hs_lw_begin), HS_KERNEL(hs_lw_stage), HS_KERNEL(hs_lw_combine),
        HS_KERNEL(hs_lw_adjoint), HS_KERNEL(hs_lw_stage_back), HS_KERNEL(hs_lw_theta_sum), HS_KERNEL(hs_lw_zero), HS_KERNEL(hs_batch_copy),
    };
    return table;
}

void throw_java(JNIEnv* env, const std::string& msg) {
    jclass c = env->FindClass("java/lang/IllegalStateException");
    env->ThrowNew(c, msg.c_str());
}

void* ptr(jlong a) {
    return reinterpret_cast<void*>(static_cast<intptr_t>(a));
}
}  // namespace

#define JNI(ret, name) extern "C" JNIEXPORT ret JNICALL Java_hybridsam_cuda_EmulatedNative_##name

JNI(jobjectArray, kernelNames)(JNIEnv* env, jclass) {
    const auto& t = kernels();
    jobjectArray out = env->NewObjectArray((jsize) t.size(), env->FindClass("java/lang/String"), nullptr);
    jsize i = 0;
    for (const auto& e : t) env->SetObjectArrayElement(out, i++, env->NewStringUTF(e.first.c_str()));
    return out;
}

JNI(jlong, alloc)(JNIEnv*, jclass, jlong bytes) {
    void* p = std::aligned_alloc(256, (size_t) ((bytes + 255) / 256 * 256));
    return (jlong) reinterpret_cast<intptr_t>(p);
}

JNI(void, free)(JNIEnv*, jclass, jlong a) {
    std::free(ptr(a));
}

JNI(void, memsetZero)(JNIEnv*, jclass, jlong a, jlong bytes) {
    std::memset(ptr(a), 0, (size_t) bytes);
}

JNI(void, copyDeviceToDevice)(JNIEnv*, jclass, jlong dst, jlong src, jlong bytes) {
    std::memmove(ptr(dst), ptr(src), (size_t) bytes);
}

JNI(void, putFloats)(JNIEnv* env, jclass, jlong dst, jfloatArray a, jint off, jint n) {
    env->GetFloatArrayRegion(a, off, n, static_cast<jfloat*>(ptr(dst)));
}

JNI(void, getFloats)(JNIEnv* env, jclass, jlong src, jfloatArray a, jint off, jint n) {
    env->SetFloatArrayRegion(a, off, n, static_cast<const jfloat*>(ptr(src)));
}

JNI(void, putInts)(JNIEnv* env, jclass, jlong dst, jintArray a, jint off, jint n) {
    env->GetIntArrayRegion(a, off, n, static_cast<jint*>(ptr(dst)));
}

JNI(void, getInts)(JNIEnv* env, jclass, jlong src, jintArray a, jint off, jint n) {
    env->SetIntArrayRegion(a, off, n, static_cast<const jint*>(ptr(src)));
}

JNI(void, putDoubles)(JNIEnv* env, jclass, jlong dst, jdoubleArray a, jint off, jint n) {
    env->GetDoubleArrayRegion(a, off, n, static_cast<jdouble*>(ptr(dst)));
}

JNI(void, getDoubles)(JNIEnv* env, jclass, jlong src, jdoubleArray a, jint off, jint n) {
    env->SetDoubleArrayRegion(a, off, n, static_cast<const jdouble*>(ptr(src)));
}

JNI(void, launch)(JNIEnv* env, jclass, jstring jname, jint gx, jint gy, jint gz, jint bx, jint by, jint bz,
                  jint sharedBytes, jbyteArray jargs, jstring jsig) {
    const char* cname = env->GetStringUTFChars(jname, nullptr);
    std::string name(cname);
    env->ReleaseStringUTFChars(jname, cname);
    const char* csig = env->GetStringUTFChars(jsig, nullptr);
    std::string signature(csig);
    env->ReleaseStringUTFChars(jsig, csig);
    auto it = kernels().find(name);
    if (it == kernels().end()) return throw_java(env, "no kernel named " + name);
    const Kernel& k = it->second;
    if (signature != k.signature) {
        return throw_java(env, name + ": arguments (" + signature + ") do not match the kernel's parameters ("
                                   + k.signature + ")");
    }
    jsize n = env->GetArrayLength(jargs);
    if ((size_t) n < k.bytes) return throw_java(env, name + ": parameter buffer too short");
    if (gx < 1 || gy < 1 || gz < 1 || bx < 1 || by < 1 || bz < 1 || (long) bx * by * bz > 1024 || gy > 65535 || gz > 65535) {
        return throw_java(env, name + ": invalid launch shape");
    }
    if (sharedBytes != 0) return throw_java(env, name + ": the kernels use static shared memory only");
    std::vector<char> buf((size_t) n);
    env->GetByteArrayRegion(jargs, 0, n, reinterpret_cast<jbyte*>(buf.data()));
    std::function<void()> bound = k.bind(buf.data());
    hsemu::launch(bound, dim3{(unsigned) gx, (unsigned) gy, (unsigned) gz}, dim3{(unsigned) bx, (unsigned) by, (unsigned) bz},
                  k.barriers);
}
