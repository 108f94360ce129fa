// cpu.h — which SIMD path the engine's kernels run: the best one compiled in and supported by
// this CPU, or the one TBN_KERNEL (portable | avx2 | avx512) or setKernelPath() asks for.
#pragma once

#include <string>
#include <vector>

#include "gemm_micro.h"

namespace tbn {

/** Paths this build and this CPU can run, portable first. */
std::vector<std::string> kernel_paths();
/** The path in use. */
const std::string &kernel_path();
/** Selects a path; throws when it is not available here. */
void set_kernel_path(const std::string &name);
/** The GEMM microkernel of the path in use. */
const MicroKernel &micro_kernel();

}  // namespace tbn
