// gemm_pack_simd.h — panel packers for the AVX2 and AVX-512 GEMM paths, included only by their
// translation units (compiled with -mavx2 or -mavx512f) and entirely internal to each: packing
// a row-major A or a transposed B is a transpose, done here 8×8 in registers instead of one
// scalar store per element; contiguous panels are copied with full-width loads (masked at the
// edge). Anything else goes to the scalar packers of gemm_portable.cc.
#pragma once

#include <immintrin.h>

#include "gemm_micro.h"

namespace tbn {
namespace {

/** Rows r0…r7 (8 floats each) become columns: on return r_q holds element q of every row. */
inline void transpose8(__m256 &r0, __m256 &r1, __m256 &r2, __m256 &r3, __m256 &r4, __m256 &r5, __m256 &r6, __m256 &r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(s0, s4, 0x20);
  r1 = _mm256_permute2f128_ps(s1, s5, 0x20);
  r2 = _mm256_permute2f128_ps(s2, s6, 0x20);
  r3 = _mm256_permute2f128_ps(s3, s7, 0x20);
  r4 = _mm256_permute2f128_ps(s0, s4, 0x31);
  r5 = _mm256_permute2f128_ps(s1, s5, 0x31);
  r6 = _mm256_permute2f128_ps(s2, s6, 0x31);
  r7 = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/** Lanes < n set, for masked loads and stores of a partial vector. */
inline __m256i lanes(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/**
 * dst[q·ds + r] = src[r·ss + q] for r < rows (≤ 8; missing rows read as 0) and q < 8, writing
 * `width` (≤ 8) floats per destination column.
 */
inline void transpose_block(const float *src, int64_t ss, int rows, float *dst, int64_t ds, int width) {
  __m256 r[8];
  for (int i = 0; i < 8; i++) r[i] = i < rows ? _mm256_loadu_ps(src + i * ss) : _mm256_setzero_ps();
  transpose8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
  if (width == 8) {
    for (int q = 0; q < 8; q++) _mm256_storeu_ps(dst + q * ds, r[q]);
  } else {
    const __m256i m = lanes(width);
    for (int q = 0; q < 8; q++) _mm256_maskstore_ps(dst + q * ds, m, r[q]);
  }
}

template <int MR>
void simd_pack_a(const float *a, int64_t rs, int64_t cs, int64_t rows, int64_t kc, float *dst) {
  static_assert(MR <= 8, "A panels of at most 8 rows");
  if (cs == 1 && rows <= MR) {
    // Row-major A: 8 columns of the panel at a time from `rows` contiguous rows.
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) transpose_block(a + p, rs, static_cast<int>(rows), dst + p * MR, MR, MR);
    for (; p < kc; p++)
      for (int i = 0; i < MR; i++) dst[p * MR + i] = i < rows ? a[i * rs + p] : 0.f;
    return;
  }
  if (rs == 1) {
    const __m256i m = lanes(static_cast<int>(rows));
    for (int64_t p = 0; p < kc; p++) {
      const __m256 v = _mm256_maskload_ps(a + p * cs, m);
      if (MR == 8) _mm256_storeu_ps(dst + p * MR, v);
      else _mm256_maskstore_ps(dst + p * MR, lanes(MR), v);
    }
    return;
  }
  pack_a_ref(a, rs, cs, rows, kc, dst, MR);
}

template <int NR>
void simd_pack_b(const float *b, int64_t rs, int64_t cs, int64_t cols, int64_t kc, float *dst) {
  static_assert(NR % 8 == 0, "B panels of whole 8-float vectors");
  if (cs == 1) {
    for (int64_t p = 0; p < kc; p++) {
      for (int j = 0; j < NR; j += 8) {
        const int64_t left = cols - j;
        const __m256 v = left >= 8 ? _mm256_loadu_ps(b + p * rs + j)
                         : left > 0 ? _mm256_maskload_ps(b + p * rs + j, lanes(static_cast<int>(left)))
                                    : _mm256_setzero_ps();
        _mm256_storeu_ps(dst + p * NR + j, v);
      }
    }
    return;
  }
  if (rs == 1) {
    // Transposed B (columns contiguous over p): 8 columns × 8 steps of p at a time.
    for (int j = 0; j < NR; j += 8) {
      const int64_t left = cols - j;
      const int n = left >= 8 ? 8 : left > 0 ? static_cast<int>(left) : 0;
      int64_t p = 0;
      for (; p + 8 <= kc; p += 8) transpose_block(b + j * cs + p, cs, n, dst + p * NR + j, NR, 8);
      for (; p < kc; p++)
        for (int q = 0; q < 8; q++) dst[p * NR + j + q] = q < n ? b[(j + q) * cs + p] : 0.f;
    }
    return;
  }
  pack_b_ref(b, rs, cs, cols, kc, dst, NR);
}

}  // namespace
}  // namespace tbn
