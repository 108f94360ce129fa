/* tbn_transpose_x86.h — float transposes through AVX registers, for the channels-last conv copies
 * and stores. Included by the AVX2 and AVX-512 translation units only (both are compiled with
 * -mavx2); everything is static inline, so each gets its own copy for its own instruction set. */
#ifndef TBN_TRANSPOSE_X86_H
#define TBN_TRANSPOSE_X86_H

#include <immintrin.h>
#include <stdint.h>

/* 8×8 blocks through registers (unpack, shuffle, 128-bit permute); the edges element by element. */
static inline void tbn_transpose_8x8(const float *src, int64_t lds, float *dst, int64_t ldd) {
  __m256 r[8], t[8];
  int k;
  for (k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(src + k * lds);
  for (k = 0; k < 8; k += 2) t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]), t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
  r[0] = _mm256_shuffle_ps(t[0], t[2], 0x44), r[1] = _mm256_shuffle_ps(t[0], t[2], 0xee);
  r[2] = _mm256_shuffle_ps(t[1], t[3], 0x44), r[3] = _mm256_shuffle_ps(t[1], t[3], 0xee);
  r[4] = _mm256_shuffle_ps(t[4], t[6], 0x44), r[5] = _mm256_shuffle_ps(t[4], t[6], 0xee);
  r[6] = _mm256_shuffle_ps(t[5], t[7], 0x44), r[7] = _mm256_shuffle_ps(t[5], t[7], 0xee);
  for (k = 0; k < 4; k++) {
    _mm256_storeu_ps(dst + k * ldd, _mm256_permute2f128_ps(r[k], r[k + 4], 0x20));
    _mm256_storeu_ps(dst + (k + 4) * ldd, _mm256_permute2f128_ps(r[k], r[k + 4], 0x31));
  }
}

/* dst[j·ldd + i] = src[i·lds + j]: 8×8 blocks, the edges element by element. */
static inline void tbn_transpose_x86(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd) {
  int64_t i, j, i1 = rows & ~(int64_t)7, j1 = cols & ~(int64_t)7;
  for (i = 0; i < i1; i += 8)
    for (j = 0; j < j1; j += 8) tbn_transpose_8x8(src + i * lds + j, lds, dst + j * ldd + i, ldd);
  for (i = 0; i < rows; i++)
    for (j = i < i1 ? j1 : 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}

#endif
