/* tbn_micro_portable.c — microkernels in plain C99 (any CPU; the reference for the SIMD paths).
 * Signs come from the bits through the ±1 table, never from a decoded weight. Loops are
 * written with fixed inner trip counts so a compiler can vectorise them for the baseline ISA. */
#include <string.h>

#include "tbn_internal.h"

#define P_NB 4   /* batch rows per panel call */
#define P_JB 8   /* weight rows per conv call */
#define P_PB 16  /* positions per conv call */

static void panel_portable(const uint32_t *panel, int64_t ri, const float *x, int64_t ldx, float *y, int64_t ldy,
                           int jn) {
  float acc[P_NB][32];
  int64_t i;
  int b, j;
  memset(acc, 0, sizeof acc);
  for (i = 0; i < ri; i++) {
    const uint32_t w = panel[i];
    float s[32];
    memcpy(s, tbn_sign_lut[w & 0xffu], sizeof(float) * 8);
    memcpy(s + 8, tbn_sign_lut[(w >> 8) & 0xffu], sizeof(float) * 8);
    memcpy(s + 16, tbn_sign_lut[(w >> 16) & 0xffu], sizeof(float) * 8);
    memcpy(s + 24, tbn_sign_lut[w >> 24], sizeof(float) * 8);
    for (b = 0; b < P_NB; b++) {
      const float xv = x[b * ldx + i];
      for (j = 0; j < 32; j++) acc[b][j] += xv * s[j];
    }
  }
  for (b = 0; b < P_NB; b++)
    for (j = 0; j < jn; j++) y[b * ldy + j] = acc[b][j];
}

static void gemv_portable(const uint16_t *rows, int64_t row_words, int64_t ri, int64_t jn, const float *x, int64_t ldx,
                          int nb, float *y, int64_t ldy) {
  const int64_t full = ri & ~(int64_t)7;
  int64_t j, i;
  int b;
  for (j = 0; j < jn; j++) {
    const uint8_t *bytes = (const uint8_t *)(rows + j * row_words);
    for (b = 0; b < nb; b++) {
      const float *xb = x + b * ldx;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum = 0;
      int t;
      for (i = 0; i < full; i += 8) {
        const float *s = tbn_sign_lut[bytes[i >> 3]];
        for (t = 0; t < 8; t++) acc[t] += xb[i + t] * s[t];
      }
      for (; i < ri; i++) sum += ((bytes[i >> 3] >> (i & 7)) & 1) ? xb[i] : -xb[i];
      for (t = 0; t < 8; t++) sum += acc[t];
      y[b * ldy + j] = sum;
    }
  }
}

static void conv_portable(const float *w, int64_t kn, const float *src, const int64_t *off, int jb, float *out) {
  float acc[P_JB][P_PB];
  int64_t kk;
  int j, v;
  memset(acc, 0, sizeof acc);
  for (kk = 0; kk < kn; kk++) {
    const float *s = src + off[kk];
    const float *wk = w + kk * TBN_EXP_ROWS;
    for (j = 0; j < jb; j++)
      for (v = 0; v < P_PB; v++) acc[j][v] += wk[j] * s[v];
  }
  for (j = 0; j < jb; j++) memcpy(out + j * P_PB, acc[j], sizeof(float) * P_PB);
}

const tbn_micro tbn_micro_portable = {panel_portable, gemv_portable, conv_portable, 0, 0, 0, 0, P_NB, 4, P_JB, P_PB, tbn_act_portable, tbn_affine_act_portable, tbn_store_segments_portable, tbn_post_block_portable, tbn_transpose_portable, tbn_deinterleave2_portable, 0, tbn_pad_row_portable, 0};
