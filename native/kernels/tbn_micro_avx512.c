/* tbn_micro_avx512.c — AVX-512 microkernels (compiled alone with -mavx512f/bw/dq/vl -mfma; only
 * called after tbn_isa_available(TBN_ISA_AVX512)). Gemm/MatMul use table lookups instead of
 * multiply-accumulates: 4 inputs' signs select one of 16 precomputed signed sums, so one add
 * does the work of 4 FMAs. (An 8 batch × 32 row FMA panel with the bits blended into ±1.0 ran
 * at ~80% of FMA peak — about as fast as onnxruntime's fp32 per MAC, which caps p = 4 at 4×.)
 * Sums stay exact Σ ±x rather than 2·Σ_{bit=1} x − Σx, which loses precision when x has one
 * sign (after ReLU). The conv kernel is 8 weight rows × 48 positions of FMAs with broadcast
 * weights from a small ±1 panel. */
#include <immintrin.h>

#include "tbn_internal.h"
#include "tbn_transpose_x86.h"

#define X_JB 8
#define X_PB 48

static inline __mmask16 low_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }

/* JB weight rows × NV·16 positions; the full block is NV = 3 (X_PB). */
static inline __attribute__((always_inline)) void conv_block(const float *w, int64_t kn, const float *src,
                                                             const int64_t *off, float *out, const int JB, const int NV) {
  __m512 acc[X_JB][3], sv[3];
  int64_t kk;
  int j, v;
  for (j = 0; j < JB; j++)
    for (v = 0; v < NV; v++) acc[j][v] = _mm512_setzero_ps();
  for (kk = 0; kk < kn; kk++) {
    const float *s = src + off[kk];
    const float *wk = w + kk * TBN_EXP_ROWS;
    for (v = 0; v < NV; v++) sv[v] = _mm512_loadu_ps(s + 16 * v);
    for (j = 0; j < JB; j++) {
      const __m512 wj = _mm512_set1_ps(wk[j]);
      for (v = 0; v < NV; v++) acc[j][v] = _mm512_fmadd_ps(wj, sv[v], acc[j][v]);
    }
  }
  for (j = 0; j < JB; j++)
    for (v = 0; v < NV; v++) _mm512_storeu_ps(out + j * X_PB + 16 * v, acc[j][v]);
}

#define CONV_ROWS(NV)                                        \
  switch (jb) {                                              \
    case 1: conv_block(w, kn, src, off, out, 1, NV); break;  \
    case 2: conv_block(w, kn, src, off, out, 2, NV); break;  \
    case 3: conv_block(w, kn, src, off, out, 3, NV); break;  \
    case 4: conv_block(w, kn, src, off, out, 4, NV); break;  \
    case 5: conv_block(w, kn, src, off, out, 5, NV); break;  \
    case 6: conv_block(w, kn, src, off, out, 6, NV); break;  \
    case 7: conv_block(w, kn, src, off, out, 7, NV); break;  \
    default: conv_block(w, kn, src, off, out, 8, NV); break; \
  }

static void conv_avx512(const float *w, int64_t kn, const float *src, const int64_t *off, int jb, float *out) {
  CONV_ROWS(3)
}

/* The last, short position block of a small feature map: only the 16-wide vectors it needs
 * (a 7×7 map has 63 padded positions: 48 + 16 computed instead of 2 × 48). */
static void conv_short_avx512(const float *w, int64_t kn, const float *src, const int64_t *off, int jb, float *out,
                              int64_t npos) {
  if (npos <= 16) {
    CONV_ROWS(1)
  } else if (npos <= 32) {
    CONV_ROWS(2)
  } else {
    CONV_ROWS(3)
  }
}

/* Signed sums of 4 inputs for 32 batch rows: t[e] = Σ_{k<4} (bit k of e ? +1 : −1) · x[i0+k],
 * 16 entries of 2 vectors; each entry is its parent (lowest bit cleared) plus 2·x of that bit. */
static void lut_build(const float *xt, float *t) {
  __m512 v[4][2], e[16][2];
  int k, h, m;
  for (k = 0; k < 4; k++)
    for (h = 0; h < 2; h++) v[k][h] = _mm512_loadu_ps(xt + k * TBN_LUT_BATCH + 16 * h);
  for (h = 0; h < 2; h++) {
    e[0][h] = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_add_ps(_mm512_add_ps(v[0][h], v[1][h]), _mm512_add_ps(v[2][h], v[3][h])));
    for (k = 0; k < 4; k++) v[k][h] = _mm512_add_ps(v[k][h], v[k][h]);
  }
  for (m = 1; m < 16; m++) {
    const int low = __builtin_ctz((unsigned)m);
    for (h = 0; h < 2; h++) e[m][h] = _mm512_add_ps(e[m & (m - 1)][h], v[low][h]);
  }
  for (m = 0; m < 16; m++)
    for (h = 0; h < 2; h++) _mm512_storeu_ps(t + m * TBN_LUT_BATCH + 16 * h, e[m][h]);
}

/* Bits 16w … 16w+15 of tile row j (m->groups: byte k of row j at groups[(j/16)·row_bytes·16 + 16k + j%16]). */
static inline uint16_t group_word(const uint8_t *row, int64_t row_bytes, int64_t w) {
  const unsigned lo = row[(2 * w) * 16], hi = 2 * w + 1 < row_bytes ? row[(2 * w + 1) * 16] : 0u;
  return (uint16_t)(lo | (hi << 8));
}

/* Eight tile rows over one block of ≤ 4 words (64 inputs): each 4-bit group of a row's word
 * selects a table entry, two vector adds per 4 inputs × 32 batch rows. Rows past j1 repeat. */
static inline __attribute__((always_inline)) void lut_rows(const tbn_matrix *m, int64_t j, int64_t j1, int64_t w0,
                                                           int nw, const float *table, float *out, int first) {
  __m512 acc[8][2];
  const uint8_t *rw[8];
  int r, w, c;
  for (r = 0; r < 8; r++) {
    const int64_t jr = j + r < j1 ? j + r : j;
    rw[r] = m->groups + (jr >> 4) * m->row_bytes * 16 + (jr & 15);
    const int fresh = first || j + r >= j1;
    acc[r][0] = fresh ? _mm512_setzero_ps() : _mm512_loadu_ps(out + r * TBN_LUT_BATCH);
    acc[r][1] = fresh ? _mm512_setzero_ps() : _mm512_loadu_ps(out + r * TBN_LUT_BATCH + 16);
  }
  for (w = 0; w < nw; w++) {
    unsigned bits[8];
    for (r = 0; r < 8; r++) bits[r] = group_word(rw[r], m->row_bytes, w0 + w);
    for (c = 0; c < 4; c++) {
      const float *tc = table + (w * 4 + c) * 16 * TBN_LUT_BATCH;
      for (r = 0; r < 8; r++) {
        const float *e = tc + ((bits[r] >> (4 * c)) & 15u) * TBN_LUT_BATCH;
        acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(e));
        acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(e + 16));
      }
    }
  }
  for (r = 0; r < 8 && j + r < j1; r++) {
    _mm512_storeu_ps(out + r * TBN_LUT_BATCH, acc[r][0]);
    _mm512_storeu_ps(out + r * TBN_LUT_BATCH + 16, acc[r][1]);
  }
}

/* The product for tile rows [j0, j1) and 32 batch rows, 64 inputs at a time: build the 16
 * tables of that block (32 KB, stays in L1), then sweep the rows, accumulating in out. */
static void lut_avx512(const tbn_matrix *m, int64_t j0, int64_t j1, const float *xt, float *table, float *out) {
  int64_t w0, j;
  for (w0 = 0; w0 < m->row_words; w0 += 4) {
    const int nw = m->row_words - w0 < 4 ? (int)(m->row_words - w0) : 4;
    int g;
    for (g = 0; g < 4 * nw; g++) lut_build(xt + (w0 * 16 + g * 4) * TBN_LUT_BATCH, table + g * 16 * TBN_LUT_BATCH);
    for (j = j0; j < j1; j += 8) lut_rows(m, j, j1, w0, nw, table, out + (j - j0) * TBN_LUT_BATCH, w0 == 0);
  }
}

/* 16-entry tables of signed sums of 4 inputs, one vector each: x0·S0 + x1·S1 + x2·S2 + x3·S3
 * with S_k[e] = bit k of e ? +1 : −1. Inputs past ri are 0. */
static void vlut_tables_avx512(const float *x, int64_t ldx, int nb, int64_t ri, int64_t row_bytes, float *tables,
                               int64_t tab) {
  const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512 pos = _mm512_set1_ps(1.0f), neg = _mm512_set1_ps(-1.0f);
  __m512 sg[4];
  int k, b;
  int64_t c;
  for (k = 0; k < 4; k++)
    sg[k] = _mm512_mask_blend_ps(_mm512_test_epi32_mask(lanes, _mm512_set1_epi32(1 << k)), neg, pos);
  for (b = 0; b < nb; b++) {
    const float *xb = x + b * ldx;
    for (c = 0; c < 2 * row_bytes; c++) {
      float v[4];
      __m512 t;
      for (k = 0; k < 4; k++) v[k] = 4 * c + k < ri ? xb[4 * c + k] : 0.0f;
      t = _mm512_mul_ps(_mm512_set1_ps(v[0]), sg[0]);
      t = _mm512_fmadd_ps(_mm512_set1_ps(v[1]), sg[1], t);
      t = _mm512_fmadd_ps(_mm512_set1_ps(v[2]), sg[2], t);
      t = _mm512_fmadd_ps(_mm512_set1_ps(v[3]), sg[3], t);
      _mm512_storeu_ps(tables + b * tab + 16 * c, t);
    }
  }
}

/* Four groups of 16 rows × NB batch rows: per input byte, the 16 rows' bytes widen to 32-bit
 * indices whose low and high nibbles permute the two 4-input tables. Two accumulators per
 * (group, row) when NB ≤ 2 so the adds do not wait on each other. */
static inline __attribute__((always_inline)) void vlut_block(const tbn_matrix *m, int64_t j0, int64_t jn,
                                                             const float *tables, int64_t tab, float *y, int64_t ldy,
                                                             const int NB, const int SPLIT) {
  const int64_t gbytes = m->row_bytes * 16;
  const int ng = (int)((jn + 15) / 16);
  const uint8_t *gp[4];
  __m512 acc[4][4][2];
  int64_t k;
  int g, b;
  for (g = 0; g < 4; g++) {
    gp[g] = m->groups + (j0 / 16 + (g < ng ? g : 0)) * gbytes;
    for (b = 0; b < NB; b++) acc[g][b][0] = acc[g][b][1] = _mm512_setzero_ps();
  }
  for (k = 0; k < m->row_bytes; k++) {
    __m512 t0[4], t1[4];
    for (b = 0; b < NB; b++) {
      t0[b] = _mm512_loadu_ps(tables + b * tab + 32 * k);
      t1[b] = _mm512_loadu_ps(tables + b * tab + 32 * k + 16);
    }
    for (g = 0; g < 4; g++) {
      const __m512i lo = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(gp[g] + 16 * k)));
      const __m512i hi = _mm512_srli_epi32(lo, 4);
      for (b = 0; b < NB; b++) {
        acc[g][b][0] = _mm512_add_ps(acc[g][b][0], _mm512_permutexvar_ps(lo, t0[b]));
        acc[g][b][SPLIT] = _mm512_add_ps(acc[g][b][SPLIT], _mm512_permutexvar_ps(hi, t1[b]));
      }
    }
  }
  for (g = 0; g < ng; g++)
    for (b = 0; b < NB; b++) {
      const __m512 sum = SPLIT ? _mm512_add_ps(acc[g][b][0], acc[g][b][1]) : acc[g][b][0];
      _mm512_mask_storeu_ps(y + b * ldy + j0 + 16 * g, low_mask(jn - 16 * g), sum);
    }
}

static void vlut_avx512(const tbn_matrix *m, int64_t j0, int64_t jn, const float *tables, int64_t tab, int nb,
                        float *y, int64_t ldy) {
  switch (nb) {
    case 1: vlut_block(m, j0, jn, tables, tab, y, ldy, 1, 1); break;
    case 2: vlut_block(m, j0, jn, tables, tab, y, ldy, 2, 1); break;
    case 3: vlut_block(m, j0, jn, tables, tab, y, ldy, 3, 0); break;
    default: vlut_block(m, j0, jn, tables, tab, y, ldy, 4, 0); break;
  }
}

/* ---- epilogue activations, 16 values at a time ----
 * exp: Cephes' expf polynomial after range reduction by ln 2 (≈1 ulp), scaled with vscalefps;
 * erf: Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7); tanh(z) = 1 − 2/(e^{2z} + 1). */
static inline __m512 exp16(__m512 x) {
  __m512 n, r, p;
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
  n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

static inline __m512 sigmoid16(__m512 v) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), v))));
}

static inline __m512 erf16(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(ax, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_set1_ps(1.061405429f), y;
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  y = _mm512_fnmadd_ps(p, exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax))), _mm512_set1_ps(1.0f));
  /* copy x's sign onto y (y ≥ 0) */
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y),
                                             _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
}

static inline __m512 tanh16(__m512 z) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp16(_mm512_add_ps(z, z));
  return _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
}

static inline __attribute__((always_inline)) __m512 act16(__m512 v, const int act, __m512 a, __m512 b) {
  const __m512 zero = _mm512_setzero_ps(), half = _mm512_set1_ps(0.5f);
  switch (act) {
    case TBN_ACT_RELU: return _mm512_max_ps(v, zero);
    case TBN_ACT_LEAKY_RELU: return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, a);
    case TBN_ACT_CLIP: return _mm512_min_ps(_mm512_max_ps(v, a), b);
    case TBN_ACT_HARD_SWISH: {
      const __m512 h = _mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f), half);
      return _mm512_mul_ps(v, _mm512_min_ps(_mm512_max_ps(h, zero), _mm512_set1_ps(1.0f)));
    }
    case TBN_ACT_SIGMOID: return sigmoid16(v);
    case TBN_ACT_SILU: return _mm512_mul_ps(v, sigmoid16(v));
    case TBN_ACT_GELU:
      return _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(_mm512_set1_ps(1.0f), erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)))));
    case TBN_ACT_GELU_TANH: {
      const __m512 v3 = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
      const __m512 z = _mm512_mul_ps(_mm512_set1_ps(0.79788456080286536f), _mm512_fmadd_ps(v3, _mm512_set1_ps(0.044715f), v));
      return _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(_mm512_set1_ps(1.0f), tanh16(z)));
    }
    default: return v;
  }
}

static inline __attribute__((always_inline)) void act_loop(float *y, int64_t n, const int act, float fa, float fb) {
  const __m512 a = _mm512_set1_ps(fa), b = _mm512_set1_ps(fb);
  int64_t i;
  for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, act16(_mm512_loadu_ps(y + i), act, a, b));
  if (i < n) {
    const __mmask16 m = low_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, act16(_mm512_maskz_loadu_ps(m, y + i), act, a, b));
  }
}

static void act_avx512(float *y, int64_t n, const tbn_epilogue *e) {
#define ACT_LOOP(A) act_loop(y, n, A, e->alpha, e->beta)
  TBN_ACT_SWITCH(e->act, ACT_LOOP)
#undef ACT_LOOP
}

static inline __attribute__((always_inline)) void affine_loop(const float *t, int64_t n, float fs, float fb, float *out,
                                                              const int act, float fa, float fbeta) {
  const __m512 sv = _mm512_set1_ps(fs), bv = _mm512_set1_ps(fb), a = _mm512_set1_ps(fa), b = _mm512_set1_ps(fbeta);
  int64_t i;
  for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, act16(_mm512_fmadd_ps(sv, _mm512_loadu_ps(t + i), bv), act, a, b));
  if (i < n) {
    const __mmask16 m = low_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, act16(_mm512_fmadd_ps(sv, _mm512_maskz_loadu_ps(m, t + i), bv), act, a, b));
  }
}

static void affine_act_avx512(const float *t, int64_t n, float s, float b, const tbn_epilogue *e, float *out) {
  const int act = e ? (int)e->act : TBN_ACT_NONE;
  const float a = e ? e->alpha : 0.0f, beta = e ? e->beta : 0.0f;
#define AFFINE_LOOP(A) affine_loop(t, n, s, b, out, A, a, beta)
  TBN_ACT_SWITCH(act, AFFINE_LOOP)
#undef AFFINE_LOOP
}

/* Each channel of a conv store is its own stream (dozens at once, too many for the hardware
 * prefetchers), continued by the next position block: fetch that block's residual and output
 * lines while this one is stored (a prefetch past the end of a buffer does not fault). */
#define STORE_AHEAD (2 * X_PB)

static inline __attribute__((always_inline)) void segments_loop(const float *t, int nch, const float *s, const float *bias,
                                                                float *const *y, const float *const *r, const int64_t *src,
                                                                const int64_t *dst, const int64_t *len, int nseg, const int act,
                                                                float fa, float fbeta) {
  const __m512 a = _mm512_set1_ps(fa), b = _mm512_set1_ps(fbeta);
  int c, k;
  for (c = 0; c < nch; c++) {
    const __m512 sv = _mm512_set1_ps(s[c]), bv = _mm512_set1_ps(bias[c]);
    for (k = 0; k < nseg; k++) {
      const float *v = t + src[k];
      float *d = y[c] + dst[k];
      const float *rr = r[c] ? r[c] + dst[k] : 0;
      int64_t i;
      /* whole vectors unmasked: a masked load cannot take its data from an earlier store and
       * stalls when it seems to overlap one (the residual and y are often 4 KiB apart) */
      for (i = 0; i + 16 <= len[k]; i += 16) {
        __m512 x = _mm512_fmadd_ps(sv, _mm512_loadu_ps(v + i), bv);
        if (rr) _mm_prefetch((const char *)(rr + i + STORE_AHEAD), _MM_HINT_T0);
        _mm_prefetch((const char *)(d + i + STORE_AHEAD), _MM_HINT_T0);
        if (rr) x = _mm512_add_ps(x, _mm512_loadu_ps(rr + i));
        _mm512_storeu_ps(d + i, act16(x, act, a, b));
      }
      if (i < len[k]) {
        const __mmask16 m = low_mask(len[k] - i);
        __m512 x = _mm512_fmadd_ps(sv, _mm512_maskz_loadu_ps(m, v + i), bv);
        if (rr) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, rr + i));
        _mm512_mask_storeu_ps(d + i, m, act16(x, act, a, b));
      }
    }
  }
}

static void store_segments_avx512(const float *t, int nch, const float *s, const float *bias, float *const *y,
                               const float *const *r, const tbn_epilogue *e, const int64_t *src, const int64_t *dst,
                               const int64_t *len, int nseg) {
  const int act = e ? (int)e->act : TBN_ACT_NONE;
  const float a = e ? e->alpha : 0.0f, beta = e ? e->beta : 0.0f;
#define SEGMENTS_LOOP(A) segments_loop(t, nch, s, bias, y, r, src, dst, len, nseg, A, a, beta)
  TBN_ACT_SWITCH(act, SEGMENTS_LOOP)
#undef SEGMENTS_LOOP
}

static void deinterleave2_avx512(const float *src, int64_t n, float *even, float *odd) {
  const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  int64_t j;
  for (j = 0; j + 16 <= n; j += 16) {
    const __m512 a = _mm512_loadu_ps(src + 2 * j), b = _mm512_loadu_ps(src + 2 * j + 16);
    _mm512_storeu_ps(even + j, _mm512_permutex2var_ps(a, ie, b));
    _mm512_storeu_ps(odd + j, _mm512_permutex2var_ps(a, io, b));
  }
  for (; j < n; j++) even[j] = src[2 * j], odd[j] = src[2 * j + 1];
}

static inline __attribute__((always_inline)) void post_loop(const float *raw, int64_t n, const float *mul, const float *add,
                                                            const float *res, float *dst, const int act, float fa, float fbeta) {
  const __m512 a = _mm512_set1_ps(fa), b = _mm512_set1_ps(fbeta);
  int64_t i;
  for (i = 0; i < n; i += 16) {
    const __mmask16 m = low_mask(n - i);
    __m512 x = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, mul + i), _mm512_maskz_loadu_ps(m, raw + i), _mm512_maskz_loadu_ps(m, add + i));
    if (res) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, res + i));
    _mm512_mask_storeu_ps(dst + i, m, act16(x, act, a, b));
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

static void post_block_avx512(float *y, int64_t ld, int64_t nb, int64_t n, int64_t copies, int64_t stride,
                            const float *mul, const float *add, const float *res, const tbn_epilogue *e) {
  const int act = e ? (int)e->act : TBN_ACT_NONE;
  const float a = e ? e->alpha : 0.0f, beta = e ? e->beta : 0.0f;
#define POST_ROWS(A) post_rows(y, ld, nb, n, copies, stride, mul, add, res, A, a, beta)
  TBN_ACT_SWITCH(act, POST_ROWS)
#undef POST_ROWS
}


/* Lanes l of src[s + l] that lie in [0, wd), zero elsewhere (s may be negative: the left pad).
 * A plain masked load once the left pad is behind, an expanding load (slower) for the chunk
 * that holds its end. */
static inline __m512 padded16(const float *src, int64_t s, int64_t wd) {
  const int64_t lo = s < 0 ? -s : 0, hi = wd - s < 16 ? wd - s : 16;
  if (hi <= lo) return _mm512_setzero_ps();
  if (lo == 0) return _mm512_maskz_loadu_ps(low_mask(hi), src + s);
  return _mm512_maskz_expandloadu_ps((__mmask16)(low_mask(hi) & ~low_mask(lo)), src + s + lo);
}

static void pad_row_avx512(float *d, const float *src, int64_t pl, int64_t wd, int64_t right) {
  const int64_t n = pl + wd + right;
  int64_t j;
  for (j = 0; j < n; j += 16) _mm512_mask_storeu_ps(d + j, low_mask(n - j), padded16(src, j - pl, wd));
}

static void pad_split2_avx512(float *even, float *odd, const float *src, int64_t pl, int64_t wd, int64_t n) {
  const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  int64_t j;
  for (j = 0; j < n; j += 16) {
    const __m512 a = padded16(src, 2 * j - pl, wd), b = padded16(src, 2 * j + 16 - pl, wd);
    const __mmask16 m = low_mask(n - j);
    _mm512_mask_storeu_ps(even + j, m, _mm512_permutex2var_ps(a, ie, b));
    _mm512_mask_storeu_ps(odd + j, m, _mm512_permutex2var_ps(a, io, b));
  }
}

/* No FMA panel or bit-row kernel: the table-lookup kernels cover every batch size. */
const tbn_micro tbn_micro_avx512 = {0, 0, conv_avx512, conv_short_avx512, lut_avx512, vlut_tables_avx512, vlut_avx512, 0, 0, X_JB, X_PB, act_avx512, affine_act_avx512, store_segments_avx512, post_block_avx512, tbn_transpose_x86, deinterleave2_avx512, 16, pad_row_avx512, pad_split2_avx512};
