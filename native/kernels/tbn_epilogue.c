/* tbn_epilogue.c — the fused epilogue of ai.tbn op version 2: validation, the per-channel
 * factors a run folds its own scales into (so the store step does one multiply-add per value),
 * and the portable activation (tbn_act_math.h, libm's expf/erff/tanhf), which is also the
 * reference the SIMD paths, with their own polynomials, are tested against. */
#include "tbn_act_math.h"
#include <string.h>

#include "tbn_internal.h"

tbn_status tbn_epilogue_check(const tbn_epilogue *e, int64_t channels) {
  if (!e) return TBN_OK;
  if ((int)e->act < 0 || (int)e->act >= (int)TBN_ACT_COUNT) return TBN_ERR_ATTR;
  if (e->scale_len < 0 || e->shift_len < 0 || (e->scale_len > 0 && !e->scale) || (e->shift_len > 0 && !e->shift))
    return TBN_ERR_ARG;
  if (e->scale_len > 1 && e->scale_len != channels) return TBN_ERR_SHAPE;
  if (e->shift_len > 1 && e->shift_len != channels) return TBN_ERR_SHAPE;
  if (e->act == TBN_ACT_CLIP && !(e->alpha <= e->beta)) return TBN_ERR_ATTR;
  return TBN_OK;
}

void tbn_activate(const tbn_epilogue *e, float *y, int64_t n) {
  int64_t i;
  if (!e || e->act == TBN_ACT_NONE) return;
  for (i = 0; i < n; i++) y[i] = tbn_act_value((int)e->act, y[i], e->alpha, e->beta);
}

void tbn_act_portable(float *y, int64_t n, const tbn_epilogue *e) { tbn_activate(e, y, n); }

void tbn_affine_act_portable(const float *t, int64_t n, float s, float b, const tbn_epilogue *e, float *out) {
  int64_t i;
  for (i = 0; i < n; i++) out[i] = s * t[i] + b;
  tbn_activate(e, out, n);
}

/* mul[c] = s[c]·gain(c), add[c] = s[c]·bias[c] + t[c] + e->add, cmul[c] = s[c] (for Gemm's C). */
void tbn_post_init(tbn_post *p, const tbn_epilogue *e, const tbn_micro *mk, int64_t channels, const float *gain,
                   int64_t gain_period, float gain_all, const float *bias, float *mem) {
  int64_t c;
  p->mul = mem, p->add = mem + channels, p->cmul = mem + 2 * channels;
  p->residual = e ? e->residual : 0;
  p->e = e;
  p->act = e && e->act != TBN_ACT_NONE ? mk->act : 0;
  for (c = 0; c < channels; c++) {
    const float s = e && e->scale_len ? e->scale[e->scale_len == 1 ? 0 : c] : 1.0f;
    const float t = (e && e->shift_len ? e->shift[e->shift_len == 1 ? 0 : c] : 0.0f) + (e ? e->add : 0.0f);
    const float g = gain_all * (gain ? gain[c / gain_period] : 1.0f);
    p->mul[c] = s * g;
    p->add[c] = s * (bias ? bias[c] : 0.0f) + t;
    p->cmul[c] = s;
  }
}

void tbn_pad_row_portable(float *d, const float *src, int64_t pl, int64_t wd, int64_t right) {
  memset(d, 0, (size_t)pl * sizeof(float));
  memcpy(d + pl, src, (size_t)wd * sizeof(float));
  memset(d + pl + wd, 0, (size_t)right * sizeof(float));
}

void tbn_deinterleave2_portable(const float *src, int64_t n, float *even, float *odd) {
  int64_t j;
  for (j = 0; j < n; j++) even[j] = src[2 * j], odd[j] = src[2 * j + 1];
}

void tbn_store_segments_portable(const float *t, int nch, const float *s, const float *b, float *const *y,
                                 const float *const *r, const tbn_epilogue *e, const int64_t *src, const int64_t *dst,
                                 const int64_t *len, int nseg) {
  int c, k;
  int64_t i;
  for (c = 0; c < nch; c++)
    for (k = 0; k < nseg; k++) {
      float *d = y[c] + dst[k];
      const float *v = t + src[k];
      for (i = 0; i < len[k]; i++) d[i] = s[c] * v[i] + b[c] + (r[c] ? r[c][dst[k] + i] : 0.0f);
      tbn_activate(e, d, len[k]);
    }
}

void tbn_post_block_portable(float *y, int64_t ld, int64_t nb, int64_t n, int64_t copies, int64_t stride,
                             const float *mul, const float *add, const float *res, const tbn_epilogue *e) {
  int64_t b, r, i;
  for (b = 0; b < nb; b++)
    for (r = copies - 1; r >= 0; r--) {
      float *dst = y + b * ld + r * stride;
      const float *raw = y + b * ld, *rr = res ? res + b * ld + r * stride : 0;
      for (i = 0; i < n; i++) dst[i] = mul[r * stride + i] * raw[i] + add[r * stride + i] + (rr ? rr[i] : 0.0f);
      tbn_activate(e, dst, n);
    }
}

void tbn_transpose_portable(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd) {
  int64_t i, j;
  for (i = 0; i < rows; i++)
    for (j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}
