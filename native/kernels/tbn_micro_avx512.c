/* tbn_micro_avx512.c — AVX-512 microkernels (compiled alone with -mavx512f/bw/dq/vl -mfma; only
 * called after tbn_isa_available(TBN_ISA_AVX512)). Sixteen tile bits are a mask register:
 * the panel kernel blends them into ±1.0 and runs 8 batch rows × 32 tile rows of FMAs; the
 * bit-row kernel blends 16 inputs' signs of one row and FMAs them with x (Σ ±x exactly as the
 * reference sums; adding x under the mask and taking 2·S − Σx would be one op cheaper but loses
 * precision when x has one sign, e.g. after ReLU); the conv kernel is 8 weight rows × 48
 * positions with broadcast weights. */
#include <immintrin.h>

#include "tbn_internal.h"

#define X_NB 8
#define X_JB 8
#define X_PB 48

static inline __mmask16 low_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }

static inline __attribute__((always_inline)) void panel_block(const uint32_t *panel, int64_t ri, const float *x,
                                                              int64_t ldx, float *y, int64_t ldy, int jn, const int NV) {
  const __m512 pos = _mm512_set1_ps(1.0f), neg = _mm512_set1_ps(-1.0f);
  __m512 acc[X_NB][2];
  int64_t i;
  int b;
  for (b = 0; b < X_NB; b++) acc[b][0] = acc[b][1] = _mm512_setzero_ps();
  for (i = 0; i < ri; i++) {
    const uint32_t m = panel[i];
    const __m512 w0 = _mm512_mask_blend_ps((__mmask16)m, neg, pos);
    const __m512 w1 = NV > 1 ? _mm512_mask_blend_ps((__mmask16)(m >> 16), neg, pos) : w0;
    for (b = 0; b < X_NB; b++) {
      const __m512 xb = _mm512_set1_ps(x[b * ldx + i]);
      acc[b][0] = _mm512_fmadd_ps(xb, w0, acc[b][0]);
      if (NV > 1) acc[b][1] = _mm512_fmadd_ps(xb, w1, acc[b][1]);
    }
  }
  for (b = 0; b < X_NB; b++) {
    _mm512_mask_storeu_ps(y + b * ldy, low_mask(jn), acc[b][0]);
    if (NV > 1 && jn > 16) _mm512_mask_storeu_ps(y + b * ldy + 16, low_mask(jn - 16), acc[b][1]);
  }
}

static void panel_avx512(const uint32_t *panel, int64_t ri, const float *x, int64_t ldx, float *y, int64_t ldy,
                         int jn) {
  if (jn <= 16)
    panel_block(panel, ri, x, ldx, y, ldy, jn, 1);
  else
    panel_block(panel, ri, x, ldx, y, ldy, jn, 2);
}

/* R tile rows × NB batch rows; rows past jn repeat row j0 and are not stored. */
static inline __attribute__((always_inline)) void gemv_block(const uint16_t *rows, int64_t row_words, int64_t ri,
                                                             int64_t j0, int64_t jn, const float *x, int64_t ldx,
                                                             float *y, int64_t ldy, const int R, const int NB) {
  const __m512 pos = _mm512_set1_ps(1.0f), neg = _mm512_set1_ps(-1.0f);
  const uint16_t *rw[8];
  __m512 acc[8][4];
  int64_t w;
  int r, b;
  for (r = 0; r < R; r++) rw[r] = rows + (j0 + r < jn ? j0 + r : j0) * row_words;
  for (r = 0; r < R; r++)
    for (b = 0; b < NB; b++) acc[r][b] = _mm512_setzero_ps();
  for (w = 0; w < row_words; w++) {
    /* The last word may be partial: x is read as 0 there, so its (−1) signs add nothing. */
    const __mmask16 tail = low_mask(ri - w * 16);
    __m512 xv[4];
    for (b = 0; b < NB; b++) xv[b] = _mm512_maskz_loadu_ps(tail, x + b * ldx + w * 16);
    for (r = 0; r < R; r++) {
      const __m512 s = _mm512_mask_blend_ps((__mmask16)rw[r][w], neg, pos);
      for (b = 0; b < NB; b++) acc[r][b] = _mm512_fmadd_ps(xv[b], s, acc[r][b]);
    }
  }
  for (r = 0; r < R && j0 + r < jn; r++)
    for (b = 0; b < NB; b++) y[b * ldy + j0 + r] = _mm512_reduce_add_ps(acc[r][b]);
}

static void gemv_avx512(const uint16_t *rows, int64_t row_words, int64_t ri, int64_t jn, const float *x, int64_t ldx,
                        int nb, float *y, int64_t ldy) {
  int64_t j0;
  for (j0 = 0; j0 < jn; j0 += (nb <= 2 ? 8 : 4)) {
    switch (nb) {
      case 1: gemv_block(rows, row_words, ri, j0, jn, x, ldx, y, ldy, 8, 1); break;
      case 2: gemv_block(rows, row_words, ri, j0, jn, x, ldx, y, ldy, 8, 2); break;
      case 3: gemv_block(rows, row_words, ri, j0, jn, x, ldx, y, ldy, 4, 3); break;
      default: gemv_block(rows, row_words, ri, j0, jn, x, ldx, y, ldy, 4, 4); break;
    }
  }
}

static inline __attribute__((always_inline)) void conv_block(const float *w, int64_t kn, const float *src,
                                                             const int64_t *off, float *out, const int JB) {
  __m512 acc[X_JB][3];
  int64_t kk;
  int j;
  for (j = 0; j < JB; j++) acc[j][0] = acc[j][1] = acc[j][2] = _mm512_setzero_ps();
  for (kk = 0; kk < kn; kk++) {
    const float *s = src + off[kk];
    const __m512 s0 = _mm512_loadu_ps(s), s1 = _mm512_loadu_ps(s + 16), s2 = _mm512_loadu_ps(s + 32);
    const float *wk = w + kk * TBN_EXP_ROWS;
    for (j = 0; j < JB; j++) {
      const __m512 wj = _mm512_set1_ps(wk[j]);
      acc[j][0] = _mm512_fmadd_ps(wj, s0, acc[j][0]);
      acc[j][1] = _mm512_fmadd_ps(wj, s1, acc[j][1]);
      acc[j][2] = _mm512_fmadd_ps(wj, s2, acc[j][2]);
    }
  }
  for (j = 0; j < JB; j++) {
    _mm512_storeu_ps(out + j * X_PB, acc[j][0]);
    _mm512_storeu_ps(out + j * X_PB + 16, acc[j][1]);
    _mm512_storeu_ps(out + j * X_PB + 32, acc[j][2]);
  }
}

static void conv_avx512(const float *w, int64_t kn, const float *src, const int64_t *off, int jb, float *out) {
  switch (jb) {
    case 1: conv_block(w, kn, src, off, out, 1); break;
    case 2: conv_block(w, kn, src, off, out, 2); break;
    case 3: conv_block(w, kn, src, off, out, 3); break;
    case 4: conv_block(w, kn, src, off, out, 4); break;
    case 5: conv_block(w, kn, src, off, out, 5); break;
    case 6: conv_block(w, kn, src, off, out, 6); break;
    case 7: conv_block(w, kn, src, off, out, 7); break;
    default: conv_block(w, kn, src, off, out, 8); break;
  }
}

const tbn_micro tbn_micro_avx512 = {panel_avx512, gemv_avx512, conv_avx512, X_NB, 4, X_JB, X_PB};
