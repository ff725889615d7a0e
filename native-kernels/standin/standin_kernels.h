// The project's kernels inside the CUDA stand-in (kernels.cpp, the only part of libcuda.so.1
// compiled with -fsanitize=kernel-address, so that each of their loads and stores is checked).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace standin_kernels {
// Every kernel name the library can run (from the generated kernel table).
const std::vector<std::string>& names();
// The kernel's parameter types, one letter each ("p", "i", "l", "f", "d"); false when unknown.
bool signature(const std::string& name, std::string& out);
bool barriers(const std::string& name);
// The kernel bound to the driver's argument list (values read now); its pointer arguments in pointers.
std::function<void()> bind(const std::string& name, void* const* params, std::vector<uintptr_t>& pointers);
// Runs every block of the grid on the calling thread.
void launch(const std::function<void()>& kernel, const unsigned grid[3], const unsigned block[3], bool barriers);
// The block and thread of the kernel running on this thread (for reports); zeros outside a kernel.
void indices(unsigned thread[3], unsigned block[3]);
}
