// gemm_micro.h — the GEMM microkernel contract between the driver (gemm.cc) and the SIMD
// translation units (gemm_avx512.cc, gemm_avx2.cc with their own -m flags; gemm_portable.cc).
// Those files hold only static functions and intrinsics — no inline or template code shared
// with the rest — so no wide instruction can reach a function the generic code calls.
#pragma once

#include <cstdint>

namespace tbn {

/**
 * C[mr×nr] (row stride ldc) = S, or C += S with `accumulate`, where S = Σ_p a[p·mr + i]·b[p·nr + j]
 * over p < kc, summed from zero in p order (so a tile computed into scratch and added later
 * gives the same bits as one computed in place).
 */
using MicroFn = void (*)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int accumulate);

struct MicroKernel {
  const char *name;
  int mr;
  int nr;
  MicroFn fn;
};

MicroKernel micro_portable();
#if defined(TBN_ENGINE_AVX2)
MicroKernel micro_avx2();
#endif
#if defined(TBN_ENGINE_AVX512)
MicroKernel micro_avx512();
#endif

}  // namespace tbn
