// The project's kernels (native-kernels/*.cu through the emulation runtime) for the CUDA
// stand-in. build.sh compiles this file alone with -fsanitize=kernel-address and
// asan-instrumentation-with-call-threshold=0, so every load and store the kernels make calls
// the checks in driver.cpp; nothing else of the stand-in is instrumented.
#include "../emu/runtime.h"
#include "standin_kernels.h"

namespace standin_kernels {
namespace {
thread_local bool in_kernel = false;
}

const std::vector<std::string>& names() {
    static const std::vector<std::string> all = [] {
        std::vector<std::string> v;
        for (const auto& e : hsemu::kernels()) v.push_back(e.first);
        return v;
    }();
    return all;
}

bool signature(const std::string& name, std::string& out) {
    auto it = hsemu::kernels().find(name);
    if (it == hsemu::kernels().end()) return false;
    out = it->second.signature;
    return true;
}

bool barriers(const std::string& name) {
    auto it = hsemu::kernels().find(name);
    return it != hsemu::kernels().end() && it->second.barriers;
}

std::function<void()> bind(const std::string& name, void* const* params, std::vector<uintptr_t>& pointers) {
    return hsemu::kernels().at(name).bind_args(params, pointers);
}

void launch(const std::function<void()>& kernel, const unsigned grid[3], const unsigned block[3], bool barriers) {
    in_kernel = true;
    hsemu::launch(kernel, dim3{grid[0], grid[1], grid[2]}, dim3{block[0], block[1], block[2]}, barriers);
    in_kernel = false;
}

void indices(unsigned thread[3], unsigned block[3]) {
    thread[0] = in_kernel ? hsemu::thread_idx.x : 0;
    thread[1] = in_kernel ? hsemu::thread_idx.y : 0;
    thread[2] = in_kernel ? hsemu::thread_idx.z : 0;
    block[0] = in_kernel ? hsemu::block_idx.x : 0;
    block[1] = in_kernel ? hsemu::block_idx.y : 0;
    block[2] = in_kernel ? hsemu::block_idx.z : 0;
}
}  // namespace standin_kernels
