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

/** One MR-row panel of A: dst[p·mr + i] = a[i·rs + p·cs] for i < rows (0 up to mr), p < kc. */
using PackAFn = void (*)(const float *a, int64_t rs, int64_t cs, int64_t rows, int64_t kc, float *dst);
/** One NR-column panel of B: dst[p·nr + j] = b[p·rs + j·cs] for j < cols (0 up to nr), p < kc. */
using PackBFn = void (*)(const float *b, int64_t rs, int64_t cs, int64_t cols, int64_t kc, float *dst);

struct MicroKernel {
  const char *name;
  int mr;
  int nr;
  MicroFn fn;
  PackAFn pack_a;
  PackBFn pack_b;
};

/** Scalar packing for any strides (gemm_portable.cc); the SIMD packers fall back to these. */
void pack_a_ref(const float *a, int64_t rs, int64_t cs, int64_t rows, int64_t kc, float *dst, int mr);
void pack_b_ref(const float *b, int64_t rs, int64_t cs, int64_t cols, int64_t kc, float *dst, int nr);

MicroKernel micro_portable();
#if defined(TBN_ENGINE_AVX2)
MicroKernel micro_avx2();
#endif
#if defined(TBN_ENGINE_AVX512)
MicroKernel micro_avx512();
#endif

}  // namespace tbn
