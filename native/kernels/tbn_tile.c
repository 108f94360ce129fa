/* tbn_tile.c — the tile itself: validation, TbnDecode, the matrix plan (mode choice and the
 * one-time repack of the tile bits into row-panel and bit-row layouts) and the expansions of
 * weight rows into small ±1 / ±α panels that the conv and general paths multiply with.
 * Nothing here allocates; the plan lives in caller memory. */
#include <string.h>

#include "tbn_internal.h"

#define S_(b, j) ((((b) >> (j)) & 1) ? 1.0f : -1.0f)
#define ROW_(b) {S_(b, 0), S_(b, 1), S_(b, 2), S_(b, 3), S_(b, 4), S_(b, 5), S_(b, 6), S_(b, 7)}
#define R4_(b) ROW_(b), ROW_((b) + 1), ROW_((b) + 2), ROW_((b) + 3)
#define R16_(b) R4_(b), R4_((b) + 4), R4_((b) + 8), R4_((b) + 12)
#define R64_(b) R16_(b), R16_((b) + 16), R16_((b) + 32), R16_((b) + 48)
const float tbn_sign_lut[256][8] = {R64_(0), R64_(64), R64_(128), R64_(192)};

const char *tbn_status_str(tbn_status s) {
  switch (s) {
    case TBN_OK: return "ok";
    case TBN_ERR_ARG: return "invalid argument";
    case TBN_ERR_ATTR: return "invalid attribute";
    case TBN_ERR_TILE: return "tile bits or scales do not match the attributes";
    case TBN_ERR_SHAPE: return "input shape does not match the weight or attributes";
    case TBN_ERR_OVERFLOW: return "size too large";
    case TBN_ERR_WORKSPACE: return "workspace too small";
    case TBN_ERR_UNSUPPORTED: return "kernel path not available on this CPU";
  }
  return "unknown status";
}

tbn_status tbn_tile_validate(const tbn_tile *t, int64_t *numel, int64_t *q) {
  int64_t n = 1, qq, bytes;
  size_t d;
  if (!t || !t->shape || t->rank == 0) return TBN_ERR_ATTR;
  for (d = 0; d < t->rank; d++) {
    if (t->shape[d] < 1) return TBN_ERR_ATTR;
    if (!tbn_mul(n, t->shape[d], &n)) return TBN_ERR_OVERFLOW;
  }
  if (t->p < 1 || t->p > n || n % t->p != 0) return TBN_ERR_ATTR;
  if (t->tile_axis != 0 && t->tile_axis != 1) return TBN_ERR_ATTR;
  qq = n / t->p;
  bytes = (qq + 7) / 8;
  if (t->bits_len != bytes || !t->bits) return TBN_ERR_TILE;
  if ((t->scales_len != t->p && t->scales_len != 1) || !t->scales) return TBN_ERR_TILE;
  if (numel) *numel = n;
  if (q) *q = qq;
  return TBN_OK;
}

static float scale_of(const tbn_tile *t, int64_t region) { return tbn_region_scale(t->scales, t->scales_len, region); }

#define DEC_COLS 16
#define DEC_ROWS 128

/* Stream positions [k, k + len) into out: split at region boundaries, the whole bytes of each
 * region through the ±1 table. */
static void decode_run(const tbn_tile *t, int64_t q, int64_t k, int64_t len, float *out) {
  while (len > 0) {
    const int64_t r = k / q, kq = k % q, seg = q - kq < len ? q - kq : len;
    const float a = scale_of(t, r);
    int64_t j = 0;
    for (; j < seg && ((kq + j) & 7) != 0; j++) out[j] = tbn_signed(tbn_tile_bit(t->bits, kq + j), a);
    for (; j + 8 <= seg; j += 8) {
      const float *lut = tbn_sign_lut[t->bits[(kq + j) >> 3]];
      int b;
      for (b = 0; b < 8; b++) out[j + b] = a * lut[b];
    }
    for (; j < seg; j++) out[j] = tbn_signed(tbn_tile_bit(t->bits, kq + j), a);
    k += seg, len -= seg, out += seg;
  }
}

tbn_status tbn_decode(const tbn_tile *t, float *w, int64_t w_len) {
  int64_t n, q, m, kc, jj, i0, b;
  tbn_status s = tbn_tile_validate(t, &n, &q);
  if (s != TBN_OK) return s;
  if (!w || w_len != n) return TBN_ERR_ARG;
  if (t->tile_axis == 0) {
    decode_run(t, q, 0, n, w);
    return TBN_OK;
  }
  /* Stream position k = jj*m + i holds W[i][jj] of W viewed as [m][kc] (tbn_stream_to_index):
   * column jj of W is the run [jj·m, jj·m + m). Blocks of DEC_COLS columns × DEC_ROWS rows are
   * decoded into a small buffer along the stream, then written a row segment at a time (down a
   * column, the writes would be W's row pitch apart and thrash a few cache sets). */
  m = t->shape[0];
  kc = n / m;
  for (jj = 0; jj < kc; jj += DEC_COLS) {
    const int64_t cols = kc - jj < DEC_COLS ? kc - jj : DEC_COLS;
    for (i0 = 0; i0 < m; i0 += DEC_ROWS) {
      const int64_t rows = m - i0 < DEC_ROWS ? m - i0 : DEC_ROWS;
      float buf[DEC_COLS * DEC_ROWS];
      for (b = 0; b < cols; b++) decode_run(t, q, (jj + b) * m + i0, rows, buf + b * DEC_ROWS);
      tbn_transpose_portable(buf, cols, rows, DEC_ROWS, w + i0 * kc + jj, kc);
    }
  }
  return TBN_OK;
}

/* ---- the matrix plan ---- */

typedef struct layout_ {
  int64_t q, ro, ri, row_words, row_bytes, panels;
  int out_major;
  tbn_mode mode;
} layout_;

static tbn_status plan_layout(const tbn_tile *t, int64_t out, int64_t in, int w_out_first, layout_ *l) {
  int64_t n, prod;
  tbn_status s = tbn_tile_validate(t, &n, &l->q);
  if (s != TBN_OK) return s;
  if (out < 1 || in < 1 || !tbn_mul(out, in, &prod) || prod != n) return TBN_ERR_SHAPE;
  if (t->shape[0] != (w_out_first ? out : in)) return TBN_ERR_SHAPE;
  l->out_major = tbn_out_major(w_out_first, t->tile_axis);
  l->mode = (tbn_mode)tbn_plan_mode(l->out_major, out, in, t->p, &l->ro, &l->ri);
  l->row_words = tbn_ceil_div(l->ri, 16);
  l->row_bytes = tbn_ceil_div(l->ri, 8);
  l->panels = tbn_ceil_div(l->ro, 32);
  return TBN_OK;
}

/* The layouts use's kernels read on path isa (see tbn_matrix); the others stay NULL. */
static void plan_carve(const tbn_tile *t, const layout_ *l, tbn_isa isa, tbn_use use, tbn_arena *a, tbn_matrix *m) {
  const int fast = l->mode != TBN_MODE_GENERAL, lut = isa == TBN_ISA_AVX512 && use == TBN_USE_DENSE;
  m->alpha = (float *)tbn_take(a, (size_t)t->p * sizeof(float));
  m->bits = fast ? 0 : (uint8_t *)tbn_take(a, (size_t)t->bits_len);
  m->panel = fast && !lut ? (uint32_t *)tbn_take(a, (size_t)(l->panels * l->ri) * sizeof(uint32_t)) : 0;
  m->rows = fast && use == TBN_USE_DENSE && !lut ? (uint16_t *)tbn_take(a, (size_t)(l->ro * l->row_words) * sizeof(uint16_t)) : 0;
  m->groups = fast && lut ? (uint8_t *)tbn_take(a, (size_t)(tbn_ceil_div(l->ro, 16) * l->row_bytes * 16)) : 0;
}

tbn_status tbn_matrix_bytes(const tbn_tile *t, int64_t out, int64_t in, int w_out_first, tbn_isa isa, tbn_use use,
                            size_t *bytes) {
  layout_ l;
  tbn_matrix m;
  tbn_arena a = {0, 0};
  tbn_status s;
  if (!bytes || (use != TBN_USE_DENSE && use != TBN_USE_CONV)) return TBN_ERR_ARG;
  s = plan_layout(t, out, in, w_out_first, &l);
  if (s != TBN_OK) return s;
  plan_carve(t, &l, isa, use, &a, &m);
  *bytes = a.used + 64;
  return TBN_OK;
}

/* Repacks the tile bits `bits` into the plan's layouts. */
static void repack(tbn_matrix *m, const uint8_t *bits) {
  int64_t j, i;
  if (m->panel) memset(m->panel, 0, (size_t)(tbn_ceil_div(m->ro, 32) * m->ri) * sizeof(uint32_t));
  if (m->rows) memset(m->rows, 0, (size_t)(m->ro * m->row_words) * sizeof(uint16_t));
  if (m->groups) memset(m->groups, 0, (size_t)(tbn_ceil_div(m->ro, 16) * m->row_bytes * 16));
  for (j = 0; j < m->ro; j++) {
    uint32_t *pw = m->panel ? m->panel + (j >> 5) * m->ri : 0;
    uint16_t *rw = m->rows ? m->rows + j * m->row_words : 0;
    uint8_t *gw = m->groups ? m->groups + (j >> 4) * m->row_bytes * 16 + (j & 15) : 0;
    const uint32_t pbit = (uint32_t)1u << (j & 31);
    for (i = 0; i < m->ri; i++) {
      if (!tbn_tile_bit(bits, tbn_tile_bit_index((int)m->mode, m->ri, m->out, j, i))) continue;
      if (pw) pw[i] |= pbit;
      if (rw) rw[i >> 4] |= (uint16_t)(1u << (i & 15));
      if (gw) gw[(i >> 3) * 16] |= (uint8_t)(1u << (i & 7));
    }
  }
}

tbn_status tbn_matrix_init(tbn_matrix *m, const tbn_tile *t, int64_t out, int64_t in, int w_out_first, tbn_isa isa,
                           tbn_use use, void *mem, size_t bytes) {
  layout_ l;
  tbn_arena a;
  size_t need;
  int64_t r;
  tbn_status s;
  if (!m || !mem) return TBN_ERR_ARG;
  if (!tbn_isa_available(isa)) return TBN_ERR_UNSUPPORTED;
  s = tbn_matrix_bytes(t, out, in, w_out_first, isa, use, &need);
  if (s != TBN_OK) return s;
  if (bytes < need) return TBN_ERR_WORKSPACE;
  s = plan_layout(t, out, in, w_out_first, &l);
  if (s != TBN_OK) return s;
  /* Align the arena base to 64 bytes inside the caller's block (need includes the slack). */
  a.base = (unsigned char *)mem + ((64u - ((uintptr_t)mem & 63u)) & 63u);
  a.used = 0;
  plan_carve(t, &l, isa, use, &a, m);
  m->out = out, m->in = in, m->p = t->p, m->q = l.q;
  m->out_major = l.out_major, m->mode = l.mode;
  m->ro = l.ro, m->ri = l.ri, m->row_words = l.row_words, m->row_bytes = l.row_bytes, m->isa = isa, m->use = use;
  for (r = 0; r < t->p; r++) m->alpha[r] = scale_of(t, r);
  if (m->bits) memcpy(m->bits, t->bits, (size_t)t->bits_len);
  if (m->mode != TBN_MODE_GENERAL) repack(m, t->bits);
  return TBN_OK;
}

/* ---- weight panels for the conv microkernel ---- */

void tbn_expand_general(const tbn_matrix *m, int64_t row0, int jn, int64_t kn, float *w) {
  int jj;
  for (jj = 0; jj < jn; jj++) {
    const int64_t o = row0 + jj;
    /* Walk the stream positions of row o incrementally: region r, offset kq inside the tile. */
    const int64_t k0 = tbn_matrix_stream_pos(m->out_major, m->out, m->in, o, 0);
    const int64_t step = m->out_major ? 1 : m->out;
    int64_t r = k0 / m->q, kq = k0 - r * m->q, i;
    for (i = 0; i < kn; i++) {
      const float a = m->alpha[r];
      w[i * TBN_EXP_ROWS + jj] = tbn_signed(tbn_tile_bit(m->bits, kq), a);
      kq += step;
      while (kq >= m->q && r + 1 < m->p) kq -= m->q, r++;
    }
  }
}

void tbn_expand_tile(const tbn_matrix *m, const int64_t *rows, int jn, int64_t kn, float *w) {
  const int64_t j0 = rows[0];
  const int contiguous = rows[jn - 1] == j0 + jn - 1;
  int64_t kk;
  int jj;
  if (contiguous) {
    /* Eight rows from one or two 32-row panel words, expanded through the ±1 table. */
    const uint32_t *p0 = m->panel + (j0 >> 5) * m->ri;
    const uint32_t *p1 = ((j0 & 31) + jn > 32) ? p0 + m->ri : 0;
    const int sh = (int)(j0 & 31);
    for (kk = 0; kk < kn; kk++) {
      uint64_t word = p0[kk];
      if (p1) word |= (uint64_t)p1[kk] << 32;
      memcpy(w + kk * TBN_EXP_ROWS, tbn_sign_lut[(word >> sh) & 0xffu], 8 * sizeof(float));
    }
    return;
  }
  for (jj = 0; jj < jn; jj++) {
    const uint32_t *pw = m->panel + (rows[jj] >> 5) * m->ri;
    const int sh = (int)(rows[jj] & 31);
    for (kk = 0; kk < kn; kk++) w[kk * TBN_EXP_ROWS + jj] = ((pw[kk] >> sh) & 1u) ? 1.0f : -1.0f;
  }
}

tbn_status tbn_transpose(const float *src, int64_t rows, int64_t cols, float *dst) {
  int64_t n, i0, j0, i, j;
  if (!tbn_mul(rows, cols, &n)) return TBN_ERR_OVERFLOW;
  if (n == 0) return TBN_OK;
  if (!src || !dst) return TBN_ERR_ARG;
  /* 32×32 blocks keep both sides in cache. */
  for (i0 = 0; i0 < rows; i0 += 32)
    for (j0 = 0; j0 < cols; j0 += 32)
      for (i = i0; i < i0 + 32 && i < rows; i++)
        for (j = j0; j < j0 + 32 && j < cols; j++) dst[j * rows + i] = src[i * cols + j];
  return TBN_OK;
}
