// gemm.h — single-precision GEMM for the engine: C = op(A)·op(B) (or C +=), operands read through
// arbitrary element strides so transposes cost nothing, C row-major with a row stride. Blocked
// and packed (BLIS loop order) around the SIMD microkernel of cpu.h, threaded over tiles of C.
// Every element of C is one FMA chain in k order (k cut into fixed blocks), whatever the tiling
// or thread count, so results are bitwise the same for any number of threads.
// Callers validate buffer extents; these functions trust the pointers and strides they get.
#pragma once

#include <cstdint>

namespace tbn {

/**
 * Writes B(p0 … p0+kc, j0 … j0+nc) as NR-column panels: panel q (columns j0 + q·nr …) at
 * dst + q·kc·nr, element (p, j) at [(p − p0)·nr + (j − j0 − q·nr)], columns past nc as 0.
 * Lets a caller produce B on the fly (convolution columns) instead of storing it.
 */
using PanelFn = void (*)(const void *ctx, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float *dst);

struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  const float *a = nullptr;  // A(i, p) = a[i·a_rs + p·a_cs]
  int64_t a_rs = 0, a_cs = 0;
  const float *b = nullptr;  // B(p, j) = b[p·b_rs + j·b_cs]
  int64_t b_rs = 0, b_cs = 0;
  PanelFn b_panels = nullptr;  // when set, B comes from b_panels(b_ctx, …) and b/b_rs/b_cs are unused
  const void *b_ctx = nullptr;
  float *c = nullptr;        // C(i, j) = c[i·c_rs + j]
  int64_t c_rs = 0;
  bool accumulate = false;
};

/** One product, split over the pool (serial when called inside a parallel region). */
void gemm(const GemmArgs &g);
/** Independent products (disjoint outputs), split over the pool together. */
void gemm_batch(const GemmArgs *g, int64_t count);

}  // namespace tbn
