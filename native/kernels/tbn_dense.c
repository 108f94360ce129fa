/* tbn_dense.c — Gemm/MatMul: y = epi(alpha · x · Wᵀ + beta · c) with W given by its tile.
 *   OUT_REUSE:  raw = x · Tᵀ for the out/p tile rows, written into y's first out/p columns, then
 *               y[:, r·ro + j] = alpha·α_r·raw[:, j] (+ beta·c) for every region r (highest r
 *               first, so the raw column is read before region 0 overwrites it).
 *   IN_COMBINE: xc = Σ_r α_r · x[:, r·ri : (r+1)·ri], then y = alpha · xc · Tᵀ (+ beta·c).
 *   GENERAL:    eight weight rows at a time expanded with their scales, times xᵀ (conv kernel).
 * The product x·Tᵀ of the fast modes: on AVX-512 table lookups (in-register permutes of 4-input
 * signed sums below LUT_MIN_ROWS batch rows, vector tables on x transposed in blocks of 32 from
 * there); elsewhere the bit-row FMA kernel for few batch rows and the row-panel one for more.
 * Work is split into (tile-row block × batch block) units; each unit writes disjoint outputs.
 * The epilogue (scale, shift, residual, activation; α and alpha folded into one factor per
 * output) is applied by the unit that computed a block, right after its product. */
#include <string.h>

#include "tbn_internal.h"

/* Batch rows from which the table-lookup kernel beats the FMA kernels, and tile rows per unit. */
#define LUT_MIN_ROWS 16
#define LUT_SLICE 256

typedef struct dense_ws {
  float *xc;                     /* IN_COMBINE: combined inputs [rows][ri] */
  float *lxt, *ltable, *lacc;    /* LUT: xᵀ blocks [nblk][16·row_words][32], per task table and [LUT_SLICE][32] */
  float *vtab;                   /* VLUT: [rows][32·row_bytes] tables of 4-input signed sums */
  float *xt, *wexp, *tile;       /* general: xᵀ [in][bp], per task [in][8] and [8][pb] */
  float *post;                   /* 3·out per-output epilogue factors */
  int64_t *off;
  int64_t *share;                /* the tasks' claim counters */
  int64_t bp;
  size_t task_wexp, task_tile;   /* floats per task */
} dense_ws;

static tbn_status dense_layout(const tbn_matrix *m, int64_t rows, size_t tasks, tbn_arena *a, dense_ws *w) {
  const tbn_micro *mk = tbn_micro_get(m->isa);
  int64_t n1, n2;
  memset(w, 0, sizeof *w);
  if (!mk) return TBN_ERR_UNSUPPORTED;
  if (rows < 0 || tasks < 1 || tasks > 4096) return TBN_ERR_ARG;
  /* the layouts this path's kernels read (a plan made for a convolution lacks them) */
  if (m->mode != TBN_MODE_GENERAL && (m->use != TBN_USE_DENSE || (mk->lut ? !m->groups : !m->panel || !m->rows))) return TBN_ERR_ARG;
  w->post = (float *)tbn_take(a, (size_t)(3 * m->out) * sizeof(float));
  w->share = (int64_t *)tbn_take(a, tbn_share_bytes(tasks));
  if (m->mode != TBN_MODE_GENERAL) {
    if (!tbn_mul(rows, m->ri, &n1)) return TBN_ERR_OVERFLOW;
    if (m->mode == TBN_MODE_IN_COMBINE) w->xc = (float *)tbn_take(a, (size_t)n1 * sizeof(float));
    if (mk->lut && rows >= LUT_MIN_ROWS) {
      if (!tbn_mul(tbn_ceil_div(rows, TBN_LUT_BATCH), m->row_words * 16 * TBN_LUT_BATCH, &n2)) return TBN_ERR_OVERFLOW;
      w->lxt = (float *)tbn_take(a, (size_t)n2 * sizeof(float));
      w->ltable = (float *)tbn_take(a, (size_t)TBN_LUT_TABLE * tasks * sizeof(float));
      w->lacc = (float *)tbn_take(a, (size_t)LUT_SLICE * TBN_LUT_BATCH * tasks * sizeof(float));
    } else if (mk->vlut) {
      if (!tbn_mul(rows, m->row_bytes * 32, &n2)) return TBN_ERR_OVERFLOW;
      w->vtab = (float *)tbn_take(a, (size_t)n2 * sizeof(float));
    }
    return TBN_OK;
  }
  w->bp = tbn_ceil_div(rows, mk->conv_pb) * mk->conv_pb;
  if (!tbn_mul(m->in, w->bp, &n1) || !tbn_mul(m->in, TBN_EXP_ROWS, &n2)) return TBN_ERR_OVERFLOW;
  w->xt = (float *)tbn_take(a, (size_t)n1 * sizeof(float));
  w->off = (int64_t *)tbn_take(a, (size_t)m->in * sizeof(int64_t));
  w->task_wexp = (size_t)n2;
  w->task_tile = (size_t)(TBN_EXP_ROWS * mk->conv_pb);
  w->wexp = (float *)tbn_take(a, w->task_wexp * tasks * sizeof(float));
  w->tile = (float *)tbn_take(a, w->task_tile * tasks * sizeof(float));
  return TBN_OK;
}

tbn_status tbn_dense_workspace(const tbn_matrix *m, int64_t rows, size_t tasks, size_t *bytes) {
  tbn_arena a = {0, 0};
  dense_ws w;
  tbn_status s;
  if (!m || !bytes) return TBN_ERR_ARG;
  s = dense_layout(m, rows, tasks, &a, &w);
  if (s == TBN_OK) *bytes = a.used + 64;
  return s;
}

typedef struct dense_ctx {
  const tbn_matrix *m;
  const tbn_micro *mk;
  const tbn_dense_args *a;
  dense_ws w;
  const float *xs; /* what multiplies the tile: x or the combined xc, [rows][ri] */
  tbn_post post;
  int64_t npanels, nbb, nbatch, nrowblk, nposblk, lslice, lblk;
  size_t units, tasks;
  tbn_share share; /* the product's units shared out over the tasks */
} dense_ctx;

/* xc = Σ_r α_r · x[:, r·ri : (r+1)·ri] (IN_COMBINE). */
static void combine_task(void *arg, size_t t) {
  const dense_ctx *c = (const dense_ctx *)arg;
  const tbn_matrix *m = c->m;
  size_t b0, b1, b;
  range_of(t, c->tasks, (size_t)c->a->rows, &b0, &b1);
  for (b = b0; b < b1; b++) {
    const float *x = c->a->x + (int64_t)b * m->in;
    float *xc = c->w.xc + (int64_t)b * m->ri;
    int64_t i, r;
    for (i = 0; i < m->ri; i++) xc[i] = m->alpha[0] * x[i];
    for (r = 1; r < m->p; r++) {
      const float ar = m->alpha[r];
      const float *xr = x + r * m->ri;
      for (i = 0; i < m->ri; i++) xc[i] += ar * xr[i];
    }
  }
}

static float c_at(const tbn_dense_args *a, int64_t b, int64_t o) {
  return a->c[(a->c_rows == 1 ? 0 : b) * a->c_cols + (a->c_cols == 1 ? 0 : o)];
}

/* Turns raw products for batch rows [b0, b1) × tile rows [j0, j0+jn) into outputs: output o
 * of row b is act(mul[o]·raw + add[o] + cmul[o]·beta·c(b, o) + residual[b][o]) (a C of one row is
 * folded into add beforehand). */
static void epilogue(const dense_ctx *c, int64_t b0, int64_t b1, int64_t j0, int64_t jn) {
  const tbn_matrix *m = c->m;
  const tbn_dense_args *a = c->a;
  const tbn_post *p = &c->post;
  const int with_c = a->c && a->beta != 0.0f && a->c_rows != 1;
  const int64_t copies = m->mode == TBN_MODE_OUT_REUSE ? m->p : 1;
  int64_t b, r, j;
  if (b1 <= b0) return;
  /* region 0 (the raw columns) is written last, in place */
  c->mk->post_block(a->y + b0 * m->out + j0, m->out, b1 - b0, jn, copies, m->ro, p->mul + j0, p->add + j0,
                    p->residual ? p->residual + b0 * m->out + j0 : 0, p->act && !with_c ? p->e : 0);
  if (!with_c) return;
  for (b = b0; b < b1; b++)
    for (r = 0; r < copies; r++) {
      float *dst = a->y + b * m->out + r * m->ro + j0;
      for (j = 0; j < jn; j++) dst[j] += p->cmul[r * m->ro + j0 + j] * a->beta * c_at(a, b, r * m->ro + j0 + j);
      if (p->act) p->act(dst, jn, p->e);
    }
}

static void fast_task(void *arg, size_t t) {
  const dense_ctx *c = (const dense_ctx *)arg;
  const tbn_matrix *m = c->m;
  const tbn_micro *mk = c->mk;
  tbn_claim k = {0, 0, 0};
  size_t u;
  while (tbn_share_next(&c->share, t, &k, &u)) {
    const int64_t pi = (int64_t)u / c->nbatch, bi = (int64_t)u % c->nbatch;
    const int64_t j0 = pi * 32, jn = m->ro - j0 < 32 ? m->ro - j0 : 32;
    int64_t b0, b1, b;
    if (bi < c->nbb) {
      b0 = bi * mk->panel_nb, b1 = b0 + mk->panel_nb;
      mk->panel(m->panel + pi * m->ri, m->ri, c->xs + b0 * m->ri, m->ri, c->a->y + b0 * m->out + j0, m->out, (int)jn);
    } else {
      b0 = c->nbb * mk->panel_nb, b1 = c->a->rows;
      for (b = b0; b < b1; b += mk->gemv_nb) {
        const int nb = (int)(b1 - b < mk->gemv_nb ? b1 - b : mk->gemv_nb);
        mk->gemv(m->rows + j0 * m->row_words, m->row_words, m->ri, jn, c->xs + b * m->ri, m->ri, nb,
                 c->a->y + b * m->out + j0, m->out);
      }
    }
    epilogue(c, b0, b1, j0, jn);
  }
}

/* xᵀ in blocks of 32 batch rows, zero-padded to 16·row_words inputs and to 32 rows. */
static void lut_prep_task(void *arg, size_t t) {
  const dense_ctx *c = (const dense_ctx *)arg;
  const tbn_matrix *m = c->m;
  const int64_t in16 = m->row_words * 16;
  size_t k0, k1, k;
  range_of(t, c->tasks, (size_t)c->lblk, &k0, &k1);
  for (k = k0; k < k1; k++) {
    float *xt = c->w.lxt + (int64_t)k * in16 * TBN_LUT_BATCH;
    const int64_t b0 = (int64_t)k * TBN_LUT_BATCH;
    const int64_t nb = c->a->rows - b0 < TBN_LUT_BATCH ? c->a->rows - b0 : TBN_LUT_BATCH;
    const float *x = c->xs + b0 * m->ri;
    int64_t i, b;
    /* i outer: the 32 source rows stay in L1 while xt is written in order. */
    for (i = 0; i < m->ri; i++) {
      float *dst = xt + i * TBN_LUT_BATCH;
      for (b = 0; b < nb; b++) dst[b] = x[b * m->ri + i];
      for (; b < TBN_LUT_BATCH; b++) dst[b] = 0.0f;
    }
    memset(xt + m->ri * TBN_LUT_BATCH, 0, (size_t)((in16 - m->ri) * TBN_LUT_BATCH) * sizeof(float));
  }
}

static void lut_task(void *arg, size_t t) {
  const dense_ctx *c = (const dense_ctx *)arg;
  const tbn_matrix *m = c->m;
  float *table = c->w.ltable + t * TBN_LUT_TABLE, *acc = c->w.lacc + t * LUT_SLICE * TBN_LUT_BATCH;
  tbn_claim claim = {0, 0, 0};
  size_t u;
  while (tbn_share_next(&c->share, t, &claim, &u)) {
    const int64_t s = (int64_t)u / c->lblk, k = (int64_t)u % c->lblk;
    const int64_t j0 = s * c->lslice, j1 = j0 + c->lslice < m->ro ? j0 + c->lslice : m->ro;
    const int64_t b0 = k * TBN_LUT_BATCH, b1 = b0 + TBN_LUT_BATCH < c->a->rows ? b0 + TBN_LUT_BATCH : c->a->rows;
    int64_t b, j;
    c->mk->lut(m, j0, j1, c->w.lxt + k * m->row_words * 16 * TBN_LUT_BATCH, table, acc);
    for (b = b0; b < b1; b++) {
      float *y = c->a->y + b * m->out;
      for (j = j0; j < j1; j++) y[j] = acc[(j - j0) * TBN_LUT_BATCH + (b - b0)];
    }
    epilogue(c, b0, b1, j0, j1 - j0);
  }
}

static void vlut_prep_task(void *arg, size_t t) {
  const dense_ctx *c = (const dense_ctx *)arg;
  const tbn_matrix *m = c->m;
  size_t b0, b1;
  range_of(t, c->tasks, (size_t)c->a->rows, &b0, &b1);
  if (b1 > b0)
    c->mk->vlut_tables(c->xs + (int64_t)b0 * m->ri, m->ri, (int)(b1 - b0), m->ri, m->row_bytes,
                       c->w.vtab + (int64_t)b0 * m->row_bytes * 32, m->row_bytes * 32);
}

static void vlut_task(void *arg, size_t t) {
  const dense_ctx *c = (const dense_ctx *)arg;
  const tbn_matrix *m = c->m;
  const int64_t tab = m->row_bytes * 32;
  tbn_claim k = {0, 0, 0};
  size_t u;
  while (tbn_share_next(&c->share, t, &k, &u)) {
    const int64_t j0 = (int64_t)u * 64, jn = m->ro - j0 < 64 ? m->ro - j0 : 64;
    int64_t b;
    for (b = 0; b < c->a->rows; b += 4) {
      const int nb = (int)(c->a->rows - b < 4 ? c->a->rows - b : 4);
      c->mk->vlut(m, j0, jn, c->w.vtab + b * tab, tab, nb, c->a->y + b * m->out, m->out);
    }
    epilogue(c, 0, c->a->rows, j0, jn);
  }
}

static void general_task(void *arg, size_t t) {
  const dense_ctx *c = (const dense_ctx *)arg;
  const tbn_matrix *m = c->m;
  const tbn_micro *mk = c->mk;
  const tbn_dense_args *a = c->a;
  float *wexp = c->w.wexp + t * c->w.task_wexp, *tile = c->w.tile + t * c->w.task_tile;
  const int pb = mk->conv_pb;
  int64_t have = -1;
  tbn_claim k = {0, 0, 0};
  size_t u;
  while (tbn_share_next(&c->share, t, &k, &u)) {
    const int64_t rb = (int64_t)u / c->nposblk, v0 = ((int64_t)u % c->nposblk) * pb;
    const int64_t o0 = rb * TBN_EXP_ROWS;
    const int jn = (int)(m->out - o0 < TBN_EXP_ROWS ? m->out - o0 : TBN_EXP_ROWS);
    int jj, v;
    if (rb != have) tbn_expand_general(m, o0, jn, m->in, wexp), have = rb;
    for (jj = 0; jj < jn; jj += mk->conv_jb) {
      const int jb = jn - jj < mk->conv_jb ? jn - jj : mk->conv_jb;
      mk->conv(wexp + jj, m->in, c->w.xt + v0, c->w.off, jb, tile + jj * pb);
    }
    for (v = 0; v < pb && v0 + v < a->rows; v++) {
      const int64_t b = v0 + v;
      const tbn_post *p = &c->post;
      float *y = a->y + b * m->out + o0;
      for (jj = 0; jj < jn; jj++) {
        float r = p->mul[o0 + jj] * tile[jj * pb + v] + p->add[o0 + jj];
        if (a->c && a->beta != 0.0f && a->c_rows != 1) r += p->cmul[o0 + jj] * a->beta * c_at(a, b, o0 + jj);
        if (p->residual) r += p->residual[b * m->out + o0 + jj];
        y[jj] = r;
      }
      if (p->act) p->act(y, jn, p->e);
    }
  }
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

tbn_status tbn_dense_run(const tbn_matrix *m, const tbn_dense_args *a, void *ws, size_t ws_bytes,
                         const tbn_parallel *par) {
  dense_ctx c;
  size_t need;
  tbn_arena ar;
  int64_t n, work;
  tbn_status s;
  if (!m || !a || a->rows < 0) return TBN_ERR_ARG;
  if (!tbn_mul(a->rows, m->in, &n) || !tbn_mul(a->rows, m->out, &n)) return TBN_ERR_OVERFLOW;
  if (a->rows == 0) return TBN_OK;
  if (!a->x || !a->y) return TBN_ERR_ARG;
  if (a->c && !((a->c_rows == 1 || a->c_rows == a->rows) && (a->c_cols == 1 || a->c_cols == m->out)))
    return TBN_ERR_SHAPE;
  s = tbn_epilogue_check(a->epi, m->out);
  if (s != TBN_OK) return s;
  memset(&c, 0, sizeof c);
  c.tasks = tbn_tasks(par);
  s = tbn_dense_workspace(m, a->rows, c.tasks, &need);
  if (s != TBN_OK) return s;
  if (!ws || ws_bytes < need) return TBN_ERR_WORKSPACE;
  ar.base = (unsigned char *)ws + ((64u - ((uintptr_t)ws & 63u)) & 63u), ar.used = 0;
  dense_layout(m, a->rows, c.tasks, &ar, &c.w);
  c.m = m, c.a = a, c.mk = tbn_micro_get(m->isa);
  if (m->mode == TBN_MODE_OUT_REUSE) tbn_post_init(&c.post, a->epi, c.mk, m->out, m->alpha, m->ro, a->alpha, 0, c.w.post);
  else tbn_post_init(&c.post, a->epi, c.mk, m->out, 0, 1, a->alpha, 0, c.w.post);
  if (a->c && a->beta != 0.0f && a->c_rows == 1) {
    /* a C of one row (a bias) is part of each output's additive term */
    int64_t o;
    for (o = 0; o < m->out; o++) c.post.add[o] += c.post.cmul[o] * a->beta * a->c[a->c_cols == 1 ? 0 : o];
  }
  if (m->mode == TBN_MODE_GENERAL) {
    int64_t i, b;
    for (i = 0; i < m->in; i++) {
      float *col = c.w.xt + i * c.w.bp;
      for (b = 0; b < a->rows; b++) col[b] = a->x[b * m->in + i];
      for (; b < c.w.bp; b++) col[b] = 0.0f;
      c.w.off[i] = i * c.w.bp;
    }
    c.nrowblk = tbn_ceil_div(m->out, TBN_EXP_ROWS), c.nposblk = c.w.bp / c.mk->conv_pb;
    c.units = (size_t)(c.nrowblk * c.nposblk);
    c.tasks = tbn_tasks_for(par, c.units, c.w.bp * m->out * m->in);
    tbn_for_shared(par, &c.share, c.w.share, c.tasks, c.units, general_task, &c);
    return TBN_OK;
  }
  if (m->mode == TBN_MODE_IN_COMBINE) {
    c.tasks = tbn_tasks_for(par, (size_t)a->rows, a->rows * m->in);
    tbn_for(par, c.tasks, combine_task, &c);
  }
  c.xs = m->mode == TBN_MODE_IN_COMBINE ? c.w.xc : a->x;
  work = a->rows * m->ro * m->ri;
  if (c.w.lxt) {
    /* Enough row slices (multiples of 8, at most LUT_SLICE) that every task gets work. */
    const int64_t tasks = (int64_t)tbn_tasks_for(par, (size_t)-1, work);
    c.lblk = tbn_ceil_div(a->rows, TBN_LUT_BATCH);
    c.lslice = tbn_ceil_div(tbn_ceil_div(m->ro, tbn_ceil_div(tasks, c.lblk)), 8) * 8;
    if (c.lslice > LUT_SLICE) c.lslice = LUT_SLICE;
    c.tasks = min_sz((size_t)tasks, (size_t)c.lblk);
    tbn_for(par, c.tasks, lut_prep_task, &c);
    c.units = (size_t)(tbn_ceil_div(m->ro, c.lslice) * c.lblk);
    c.tasks = tbn_tasks_for(par, c.units, work);
    tbn_for_shared(par, &c.share, c.w.share, c.tasks, c.units, lut_task, &c);
    return TBN_OK;
  }
  if (c.w.vtab) {
    c.tasks = tbn_tasks_for(par, (size_t)a->rows, a->rows * m->ri * 16);
    tbn_for(par, c.tasks, vlut_prep_task, &c);
    c.units = (size_t)tbn_ceil_div(m->ro, 64);
    c.tasks = tbn_tasks_for(par, c.units, work);
    tbn_for_shared(par, &c.share, c.w.share, c.tasks, c.units, vlut_task, &c);
    return TBN_OK;
  }
  if (!c.mk->panel || !c.mk->gemv) return TBN_ERR_UNSUPPORTED;
  c.npanels = tbn_ceil_div(m->ro, 32);
  c.nbb = a->rows / c.mk->panel_nb;
  c.nbatch = c.nbb + (a->rows % c.mk->panel_nb != 0);
  c.units = (size_t)(c.npanels * c.nbatch);
  c.tasks = tbn_tasks_for(par, c.units, work);
  tbn_for_shared(par, &c.share, c.w.share, c.tasks, c.units, fast_task, &c);
  return TBN_OK;
}
