/* tbn_micro_avx2.c — AVX2+FMA microkernels (this file alone is compiled with -mavx2 -mfma and is
 * only called after tbn_isa_available(TBN_ISA_AVX2)). Eight tile bits become eight ±1.0 floats
 * with one load from the 256-entry sign table, then feed FMAs; register blocks fit the 16 ymm
 * registers (panel: 6 batch rows × 16 tile rows, conv: 4 rows × 24 positions). */
#include <immintrin.h>

#include "tbn_internal.h"
#include "tbn_transpose_x86.h"

#define A_NB 6
#define A_JB 4
#define A_PB 24

#define LUT(b) _mm256_loadu_ps(tbn_sign_lut[(b)])

static void panel_avx2(const uint32_t *panel, int64_t ri, const float *x, int64_t ldx, float *y, int64_t ldy, int jn) {
  int half;
  for (half = 0; half < 2 && half * 16 < jn; half++) {
    __m256 acc[A_NB][2];
    int64_t i;
    int b;
    const int sh = 16 * half;
    const int lo = jn - sh >= 8 ? 8 : jn - sh, hi = jn - sh - 8 >= 8 ? 8 : jn - sh - 8;
    for (b = 0; b < A_NB; b++) acc[b][0] = acc[b][1] = _mm256_setzero_ps();
    for (i = 0; i < ri; i++) {
      const uint32_t m = panel[i] >> sh;
      const __m256 w0 = LUT(m & 0xffu), w1 = LUT((m >> 8) & 0xffu);
      for (b = 0; b < A_NB; b++) {
        const __m256 xb = _mm256_broadcast_ss(x + b * ldx + i);
        acc[b][0] = _mm256_fmadd_ps(xb, w0, acc[b][0]);
        acc[b][1] = _mm256_fmadd_ps(xb, w1, acc[b][1]);
      }
    }
    for (b = 0; b < A_NB; b++) {
      float t[16];
      int j;
      _mm256_storeu_ps(t, acc[b][0]);
      _mm256_storeu_ps(t + 8, acc[b][1]);
      for (j = 0; j < lo; j++) y[b * ldy + sh + j] = t[j];
      for (j = 0; j < hi; j++) y[b * ldy + sh + 8 + j] = t[8 + j];
    }
  }
}

static float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* R tile rows × NB batch rows per pass; rows past jn repeat row 0 and are not stored. */
static inline __attribute__((always_inline)) void gemv_block(const uint16_t *rows, int64_t row_words, int64_t ri,
                                                             int64_t j0, int64_t jn, const float *x, int64_t ldx,
                                                             float *y, int64_t ldy, const int R, const int NB) {
  const int64_t full = ri & ~(int64_t)7;
  const uint8_t *rb[4];
  __m256 acc[4][4];
  int64_t i;
  int r, b;
  for (r = 0; r < R; r++) rb[r] = (const uint8_t *)(rows + (j0 + r < jn ? j0 + r : j0) * row_words);
  for (r = 0; r < R; r++)
    for (b = 0; b < NB; b++) acc[r][b] = _mm256_setzero_ps();
  for (i = 0; i < full; i += 8) {
    __m256 xv[4];
    for (b = 0; b < NB; b++) xv[b] = _mm256_loadu_ps(x + b * ldx + i);
    for (r = 0; r < R; r++) {
      const __m256 w = LUT(rb[r][i >> 3]);
      for (b = 0; b < NB; b++) acc[r][b] = _mm256_fmadd_ps(xv[b], w, acc[r][b]);
    }
  }
  for (r = 0; r < R && j0 + r < jn; r++)
    for (b = 0; b < NB; b++) {
      float s = hsum256(acc[r][b]);
      int64_t t;
      for (t = full; t < ri; t++) s += ((rb[r][t >> 3] >> (t & 7)) & 1) ? x[b * ldx + t] : -x[b * ldx + t];
      y[b * ldy + j0 + r] = s;
    }
}

static void gemv_avx2(const uint16_t *rows, int64_t row_words, int64_t ri, int64_t jn, const float *x, int64_t ldx,
                      int nb, float *y, int64_t ldy) {
  int64_t j0;
  for (j0 = 0; j0 < jn; j0 += (nb == 1 ? 4 : 2)) {
    switch (nb) {
      case 1: gemv_block(rows, row_words, ri, j0, jn, x, ldx, y, ldy, 4, 1); break;
      case 2: gemv_block(rows, row_words, ri, j0, jn, x, ldx, y, ldy, 2, 2); break;
      case 3: gemv_block(rows, row_words, ri, j0, jn, x, ldx, y, ldy, 2, 3); break;
      default: gemv_block(rows, row_words, ri, j0, jn, x, ldx, y, ldy, 2, 4); break;
    }
  }
}

static inline __attribute__((always_inline)) void conv_block(const float *w, int64_t kn, const float *src,
                                                             const int64_t *off, float *out, const int JB) {
  __m256 acc[A_JB][3];
  int64_t kk;
  int j;
  for (j = 0; j < JB; j++) acc[j][0] = acc[j][1] = acc[j][2] = _mm256_setzero_ps();
  for (kk = 0; kk < kn; kk++) {
    const float *s = src + off[kk];
    const __m256 s0 = _mm256_loadu_ps(s), s1 = _mm256_loadu_ps(s + 8), s2 = _mm256_loadu_ps(s + 16);
    for (j = 0; j < JB; j++) {
      const __m256 wj = _mm256_broadcast_ss(w + kk * TBN_EXP_ROWS + j);
      acc[j][0] = _mm256_fmadd_ps(wj, s0, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(wj, s1, acc[j][1]);
      acc[j][2] = _mm256_fmadd_ps(wj, s2, acc[j][2]);
    }
  }
  for (j = 0; j < JB; j++) {
    _mm256_storeu_ps(out + j * A_PB, acc[j][0]);
    _mm256_storeu_ps(out + j * A_PB + 8, acc[j][1]);
    _mm256_storeu_ps(out + j * A_PB + 16, acc[j][2]);
  }
}

static void conv_avx2(const float *w, int64_t kn, const float *src, const int64_t *off, int jb, float *out) {
  switch (jb) {
    case 1: conv_block(w, kn, src, off, out, 1); break;
    case 2: conv_block(w, kn, src, off, out, 2); break;
    case 3: conv_block(w, kn, src, off, out, 3); break;
    default: conv_block(w, kn, src, off, out, 4); break;
  }
}

/* ---- epilogue activations, 8 values at a time (same approximations as the AVX-512 path) ---- */
static inline __m256 exp8(__m256 x) {
  __m256 n, r, p;
  __m256i k;
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  /* 2^n in two halves so n = −126 … 128 stay normal numbers */
  k = _mm256_cvtps_epi32(n);
  {
    const __m256i k1 = _mm256_srai_epi32(k, 1), k2 = _mm256_sub_epi32(k, k1);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, _mm256_set1_epi32(127)), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  }
}

static inline __m256 sigmoid8(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

static inline __m256 erf8(__m256 x) {
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
  const __m256 ax = _mm256_andnot_ps(sign, x);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(ax, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
  __m256 p = _mm256_set1_ps(1.061405429f), y;
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  y = _mm256_fnmadd_ps(p, exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax))), _mm256_set1_ps(1.0f));
  return _mm256_or_ps(y, _mm256_and_ps(x, sign));
}

static inline __m256 tanh8(__m256 z) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp8(_mm256_add_ps(z, z));
  return _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
}

static inline __attribute__((always_inline)) __m256 act8(__m256 v, const int act, __m256 a, __m256 b) {
  const __m256 zero = _mm256_setzero_ps(), half = _mm256_set1_ps(0.5f);
  switch (act) {
    case TBN_ACT_RELU: return _mm256_max_ps(v, zero);
    case TBN_ACT_LEAKY_RELU: return _mm256_blendv_ps(v, _mm256_mul_ps(v, a), _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
    case TBN_ACT_CLIP: return _mm256_min_ps(_mm256_max_ps(v, a), b);
    case TBN_ACT_HARD_SWISH: {
      const __m256 h = _mm256_fmadd_ps(v, _mm256_set1_ps(1.0f / 6.0f), half);
      return _mm256_mul_ps(v, _mm256_min_ps(_mm256_max_ps(h, zero), _mm256_set1_ps(1.0f)));
    }
    case TBN_ACT_SIGMOID: return sigmoid8(v);
    case TBN_ACT_SILU: return _mm256_mul_ps(v, sigmoid8(v));
    case TBN_ACT_GELU:
      return _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(_mm256_set1_ps(1.0f), erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)))));
    case TBN_ACT_GELU_TANH: {
      const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
      const __m256 z = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286536f), _mm256_fmadd_ps(v3, _mm256_set1_ps(0.044715f), v));
      return _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(_mm256_set1_ps(1.0f), tanh8(z)));
    }
    default: return v;
  }
}

static inline __attribute__((always_inline)) void act_loop(float *y, int64_t n, const int act, float fa, float fb) {
  const __m256 a = _mm256_set1_ps(fa), b = _mm256_set1_ps(fb);
  int64_t i;
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, act8(_mm256_loadu_ps(y + i), act, a, b));
  if (i < n) {
    float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j;
    for (j = 0; j < n - i; j++) t[j] = y[i + j];
    _mm256_storeu_ps(t, act8(_mm256_loadu_ps(t), act, a, b));
    for (j = 0; j < n - i; j++) y[i + j] = t[j];
  }
}

static void act_avx2(float *y, int64_t n, const tbn_epilogue *e) {
#define ACT_LOOP(A) act_loop(y, n, A, e->alpha, e->beta)
  TBN_ACT_SWITCH(e->act, ACT_LOOP)
#undef ACT_LOOP
}

static inline __attribute__((always_inline)) void affine_loop(const float *t, int64_t n, float fs, float fb, float *out,
                                                              const int act, float fa, float fbeta) {
  const __m256 sv = _mm256_set1_ps(fs), bv = _mm256_set1_ps(fb), a = _mm256_set1_ps(fa), b = _mm256_set1_ps(fbeta);
  int64_t i;
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, act8(_mm256_fmadd_ps(sv, _mm256_loadu_ps(t + i), bv), act, a, b));
  if (i < n) {
    float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j;
    for (j = 0; j < n - i; j++) tmp[j] = t[i + j];
    _mm256_storeu_ps(tmp, act8(_mm256_fmadd_ps(sv, _mm256_loadu_ps(tmp), bv), act, a, b));
    for (j = 0; j < n - i; j++) out[i + j] = tmp[j];
  }
}

static void affine_act_avx2(const float *t, int64_t n, float s, float b, const tbn_epilogue *e, float *out) {
  const int act = e ? (int)e->act : TBN_ACT_NONE;
  const float a = e ? e->alpha : 0.0f, beta = e ? e->beta : 0.0f;
#define AFFINE_LOOP(A) affine_loop(t, n, s, b, out, A, a, beta)
  TBN_ACT_SWITCH(act, AFFINE_LOOP)
#undef AFFINE_LOOP
}

/* Each channel of a conv store is its own stream (dozens at once, too many for the hardware
 * prefetchers), continued by the next position block: fetch that block's residual and output
 * lines while this one is stored (a prefetch past the end of a buffer does not fault). */
#define STORE_AHEAD (2 * A_PB)

static inline __attribute__((always_inline)) void segments_loop(const float *t, int nch, const float *s, const float *bias,
                                                                float *const *y, const float *const *r, const int64_t *src,
                                                                const int64_t *dst, const int64_t *len, int nseg, const int act,
                                                                float fa, float fbeta) {
  const __m256 a = _mm256_set1_ps(fa), b = _mm256_set1_ps(fbeta);
  int c, k;
  for (c = 0; c < nch; c++) {
    const __m256 sv = _mm256_set1_ps(s[c]), bv = _mm256_set1_ps(bias[c]);
    for (k = 0; k < nseg; k++) {
      const float *v = t + src[k];
      float *d = y[c] + dst[k];
      const float *rr = r[c] ? r[c] + dst[k] : 0;
      int64_t i;
      for (i = 0; i + 8 <= len[k]; i += 8) {
        __m256 x = _mm256_fmadd_ps(sv, _mm256_loadu_ps(v + i), bv);
        if (rr) _mm_prefetch((const char *)(rr + i + STORE_AHEAD), _MM_HINT_T0);
        _mm_prefetch((const char *)(d + i + STORE_AHEAD), _MM_HINT_T0);
        if (rr) x = _mm256_add_ps(x, _mm256_loadu_ps(rr + i));
        _mm256_storeu_ps(d + i, act8(x, act, a, b));
      }
      if (i < len[k]) {
        float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t j;
        for (j = 0; j < len[k] - i; j++) tmp[j] = v[i + j] * s[c] + bias[c] + (rr ? rr[i + j] : 0.0f);
        _mm256_storeu_ps(tmp, act8(_mm256_loadu_ps(tmp), act, a, b));
        for (j = 0; j < len[k] - i; j++) d[i + j] = tmp[j];
      }
    }
  }
}

static void store_segments_avx2(const float *t, int nch, const float *s, const float *bias, float *const *y,
                               const float *const *r, const tbn_epilogue *e, const int64_t *src, const int64_t *dst,
                               const int64_t *len, int nseg) {
  const int act = e ? (int)e->act : TBN_ACT_NONE;
  const float a = e ? e->alpha : 0.0f, beta = e ? e->beta : 0.0f;
#define SEGMENTS_LOOP(A) segments_loop(t, nch, s, bias, y, r, src, dst, len, nseg, A, a, beta)
  TBN_ACT_SWITCH(act, SEGMENTS_LOOP)
#undef SEGMENTS_LOOP
}

static void deinterleave2_avx2(const float *src, int64_t n, float *even, float *odd) {
  int64_t j;
  for (j = 0; j + 8 <= n; j += 8) {
    const __m256 a = _mm256_loadu_ps(src + 2 * j), b = _mm256_loadu_ps(src + 2 * j + 8);
    /* per 128-bit lane: a0 a2 b0 b2 | a4 a6 b4 b6; the 64-bit permute puts the halves in order */
    const __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xdd);
    _mm256_storeu_ps(even + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xd8)));
    _mm256_storeu_ps(odd + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xd8)));
  }
  for (; j < n; j++) even[j] = src[2 * j], odd[j] = src[2 * j + 1];
}

static inline __attribute__((always_inline)) void post_loop(const float *raw, int64_t n, const float *mul, const float *add,
                                                            const float *res, float *dst, const int act, float fa, float fbeta) {
  const __m256 a = _mm256_set1_ps(fa), b = _mm256_set1_ps(fbeta);
  int64_t i;
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 x = _mm256_fmadd_ps(_mm256_loadu_ps(mul + i), _mm256_loadu_ps(raw + i), _mm256_loadu_ps(add + i));
    if (res) x = _mm256_add_ps(x, _mm256_loadu_ps(res + i));
    _mm256_storeu_ps(dst + i, act8(x, act, a, b));
  }
  if (i < n) {
    float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j;
    for (j = 0; j < n - i; j++) tmp[j] = mul[i + j] * raw[i + j] + add[i + j] + (res ? res[i + j] : 0.0f);
    _mm256_storeu_ps(tmp, act8(_mm256_loadu_ps(tmp), act, a, b));
    for (j = 0; j < n - i; j++) dst[i + j] = tmp[j];
  }
}

static inline __attribute__((always_inline)) void post_rows(float *y, int64_t ld, int64_t nb, int64_t n, int64_t copies,
                                                            int64_t stride, const float *mul, const float *add,
                                                            const float *res, const int act, float fa, float fbeta) {
  int64_t bb, r;
  for (bb = 0; bb < nb; bb++)
    for (r = copies - 1; r >= 0; r--)
      post_loop(y + bb * ld, n, mul + r * stride, add + r * stride, res ? res + bb * ld + r * stride : 0,
                y + bb * ld + r * stride, act, fa, fbeta);
}

static void post_block_avx2(float *y, int64_t ld, int64_t nb, int64_t n, int64_t copies, int64_t stride,
                            const float *mul, const float *add, const float *res, const tbn_epilogue *e) {
  const int act = e ? (int)e->act : TBN_ACT_NONE;
  const float a = e ? e->alpha : 0.0f, beta = e ? e->beta : 0.0f;
#define POST_ROWS(A) post_rows(y, ld, nb, n, copies, stride, mul, add, res, A, a, beta)
  TBN_ACT_SWITCH(act, POST_ROWS)
#undef POST_ROWS
}


static void pad_row_avx2(float *d, const float *src, int64_t pl, int64_t wd, int64_t right) {
  const int64_t n = pl + wd + right;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  int64_t j, i;
  for (j = 0; j < n; j += 8) {
    const int64_t k = j - pl, left = wd - k; /* src index of lane 0; lanes that hold data from it */
    __m256 v = _mm256_setzero_ps();
    if (k >= 0 && left >= 8) {
      v = _mm256_loadu_ps(src + k);
    } else if (k >= 0 && left > 0) {
      v = _mm256_maskload_ps(src + k, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), lane));
    } else if (k > -8 && left > 0) { /* the chunk that holds the end of the left pad */
      float t[8];
      for (i = 0; i < 8; i++) t[i] = k + i >= 0 && k + i < wd ? src[k + i] : 0.0f;
      v = _mm256_loadu_ps(t);
    }
    if (n - j >= 8) _mm256_storeu_ps(d + j, v);
    else _mm256_maskstore_ps(d + j, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - j)), lane), v);
  }
}

const tbn_micro tbn_micro_avx2 = {panel_avx2, gemv_avx2, conv_avx2, 0, 0, 0, 0, A_NB, 4, A_JB, A_PB, act_avx2, affine_act_avx2, store_segments_avx2, post_block_avx2, tbn_transpose_x86, deinterleave2_avx2, 0, pad_row_avx2, 0};
