/* tbn_conv.c — Conv (1-D as H = 1, 2-D; groups, strides, pads, dilations, bias) from the tile.
 * The input is copied once per image into a zero-padded buffer [C][Hp][Wp]. With stride 1 the
 * output at padded flat index f = oh·Wp + ow reads xpad[off[kk] + f] for every kernel tap kk,
 * contiguous in f: the microkernel multiplies straight out of xpad (no im2col; the Wp − OW
 * columns per row it also computes are dropped). Strided convs and IN_COMBINE gather a small
 * column block [kk][PB] per position block instead. Weight rows (tile rows in OUT_REUSE,
 * output channels otherwise) are expanded 8 at a time into a ±1 (or ±α) panel [kk][8]; in
 * OUT_REUSE each computed row j feeds every output channel oc ≡ j (mod out/p) of the group,
 * scaled by α[oc / (out/p)]. */
#include <string.h>

#include "tbn_internal.h"

#define MAX_PB 64

typedef struct conv_plan {
  int64_t hp, wp, chan, xpad_len, k, kx, npos, nposblk, nrows, nchblk, ocg, cg;
  int64_t image_work; /* multiply-accumulates per image */
  int direct, use_col;
  /* Batch mode: whole images per task, each with its own padded buffer (small images, where
   * splitting one image across threads costs more in wake-ups than it saves). */
  int batch;
  const tbn_micro *mk;
} conv_plan;

typedef struct conv_ws {
  float *xpad, *wexp, *col, *tile;
  int64_t *off, *coloff, *pbase;
  size_t task_wexp, task_col, task_tile, task_pbase;
} conv_ws;

tbn_status tbn_auto_pad_parse(const char *s, tbn_auto_pad *out) {
  if (!s || !out) return TBN_ERR_ARG;
  if (strcmp(s, "NOTSET") == 0 || s[0] == 0) *out = TBN_PAD_NOTSET;
  else if (strcmp(s, "VALID") == 0) *out = TBN_PAD_VALID;
  else if (strcmp(s, "SAME_UPPER") == 0) *out = TBN_PAD_SAME_UPPER;
  else if (strcmp(s, "SAME_LOWER") == 0) *out = TBN_PAD_SAME_LOWER;
  else return TBN_ERR_ATTR;
  return TBN_OK;
}

static tbn_status axis_geometry(tbn_conv_geom *g, int a, tbn_auto_pad ap) {
  int64_t ext, span, total;
  if (g->stride[a] < 1 || g->dil[a] < 1 || g->k[a] < 1 || g->in[a] < 1) return TBN_ERR_ATTR;
  if (!tbn_mul(g->k[a] - 1, g->dil[a], &ext) || !tbn_add(ext, 1, &ext)) return TBN_ERR_OVERFLOW;
  if (ap == TBN_PAD_VALID) g->pad0[a] = g->pad1[a] = 0;
  if (ap == TBN_PAD_SAME_UPPER || ap == TBN_PAD_SAME_LOWER) {
    const int64_t out = tbn_ceil_div(g->in[a], g->stride[a]);
    if (!tbn_mul(out - 1, g->stride[a], &total) || !tbn_add(total, ext, &total)) return TBN_ERR_OVERFLOW;
    total = total > g->in[a] ? total - g->in[a] : 0;
    g->pad0[a] = ap == TBN_PAD_SAME_UPPER ? total / 2 : total - total / 2;
    g->pad1[a] = total - g->pad0[a];
  }
  if (g->pad0[a] < 0 || g->pad1[a] < 0) return TBN_ERR_ATTR;
  if (!tbn_add(g->in[a], g->pad0[a], &span) || !tbn_add(span, g->pad1[a], &span)) return TBN_ERR_OVERFLOW;
  if (span < ext) return TBN_ERR_SHAPE; /* the kernel does not fit: no output */
  g->out[a] = (span - ext) / g->stride[a] + 1;
  return TBN_OK;
}

tbn_status tbn_conv_geometry(int spatial, const int64_t *x_shape, const int64_t *w_shape, int64_t group,
                             const int64_t *kernel, const int64_t *strides, const int64_t *dilations,
                             const int64_t *pads, tbn_auto_pad auto_pad, tbn_conv_geom *g) {
  int s, a;
  int64_t t;
  tbn_status st;
  if (!x_shape || !w_shape || !g || (spatial != 1 && spatial != 2)) return TBN_ERR_ARG;
  memset(g, 0, sizeof *g);
  g->n = x_shape[0], g->c = x_shape[1], g->oc = w_shape[0], g->group = group;
  if (g->n < 0 || g->c < 1 || g->oc < 1 || group < 1 || w_shape[1] < 1) return TBN_ERR_SHAPE;
  if (g->c % group != 0 || g->oc % group != 0 || !tbn_mul(w_shape[1], group, &t) || t != g->c) return TBN_ERR_SHAPE;
  for (a = 0; a < 2; a++) g->in[a] = g->k[a] = g->stride[a] = g->dil[a] = 1;
  for (s = 0; s < spatial; s++) {
    a = s + 2 - spatial; /* 1-D lives on axis 1 (W) */
    g->in[a] = x_shape[2 + s];
    g->k[a] = w_shape[2 + s];
    if (kernel && kernel[s] != w_shape[2 + s]) return TBN_ERR_ATTR;
    if (strides) g->stride[a] = strides[s];
    if (dilations) g->dil[a] = dilations[s];
    if (pads && auto_pad == TBN_PAD_NOTSET) g->pad0[a] = pads[s], g->pad1[a] = pads[spatial + s];
  }
  for (a = 0; a < 2; a++) {
    st = axis_geometry(g, a, auto_pad);
    if (st != TBN_OK) return st;
  }
  if (!tbn_mul(g->n, g->c, &t) || !tbn_mul(t, g->in[0], &t) || !tbn_mul(t, g->in[1], &t)) return TBN_ERR_OVERFLOW;
  if (!tbn_mul(g->n, g->oc, &t) || !tbn_mul(t, g->out[0], &t) || !tbn_mul(t, g->out[1], &t)) return TBN_ERR_OVERFLOW;
  return TBN_OK;
}

static tbn_status conv_layout(const tbn_matrix *m, const tbn_conv_geom *g, size_t tasks, tbn_arena *a, conv_plan *p,
                              conv_ws *w) {
  int64_t k, t, len;
  memset(p, 0, sizeof *p);
  memset(w, 0, sizeof *w);
  p->mk = tbn_micro_get(m->isa);
  if (!p->mk || p->mk->conv_pb > MAX_PB) return TBN_ERR_UNSUPPORTED;
  if (tasks < 1 || tasks > 4096) return TBN_ERR_ARG;
  p->cg = g->c / g->group, p->ocg = g->oc / g->group;
  if (!tbn_mul(p->cg, g->k[0], &k) || !tbn_mul(k, g->k[1], &k)) return TBN_ERR_OVERFLOW;
  if (m->out != g->oc || m->in != k) return TBN_ERR_SHAPE;
  p->k = k;
  p->kx = m->mode == TBN_MODE_IN_COMBINE ? m->ri : k;
  p->direct = g->stride[0] == 1 && g->stride[1] == 1;
  p->use_col = !p->direct || m->mode == TBN_MODE_IN_COMBINE;
  p->hp = g->in[0] + g->pad0[0] + g->pad1[0];
  p->wp = g->in[1] + g->pad0[1] + g->pad1[1];
  if (!tbn_mul(p->hp, p->wp, &p->chan) || !tbn_mul(p->chan, g->c, &len)) return TBN_ERR_OVERFLOW;
  if (!tbn_mul(g->k[1] - 1, g->dil[1], &t) || !tbn_add(len, t + 2 * MAX_PB, &p->xpad_len)) return TBN_ERR_OVERFLOW;
  if (!tbn_mul(g->out[0], p->direct ? p->wp : g->out[1], &p->npos)) return TBN_ERR_OVERFLOW;
  p->nposblk = tbn_ceil_div(p->npos, p->mk->conv_pb);
  p->nrows = m->mode == TBN_MODE_OUT_REUSE && p->ocg > m->ro ? m->ro : p->ocg;
  p->nchblk = tbn_ceil_div(p->nrows, TBN_EXP_ROWS);
  if (!tbn_mul(g->group, p->nchblk, &t) || !tbn_mul(t, p->nposblk, &t)) return TBN_ERR_OVERFLOW;
  if (!tbn_mul(g->group * p->nrows, p->kx, &t) || !tbn_mul(t, p->npos, &p->image_work)) return TBN_ERR_OVERFLOW;
  p->batch = tasks > 1 && g->n > 1 && p->image_work < 16 * TBN_TASK_WORK * (int64_t)tasks;
  if (!tbn_mul(p->xpad_len, p->batch ? (int64_t)tasks : 1, &len)) return TBN_ERR_OVERFLOW;
  w->xpad = (float *)tbn_take(a, (size_t)len * sizeof(float));
  w->off = (int64_t *)tbn_take(a, (size_t)k * sizeof(int64_t));
  w->task_wexp = (size_t)(p->kx * TBN_EXP_ROWS);
  w->task_tile = (size_t)(TBN_EXP_ROWS * p->mk->conv_pb);
  w->task_col = p->use_col ? (size_t)(p->kx * p->mk->conv_pb) : 0;
  w->task_pbase = p->direct ? 0 : (size_t)p->mk->conv_pb;
  if (p->use_col) w->coloff = (int64_t *)tbn_take(a, (size_t)p->kx * sizeof(int64_t));
  w->wexp = (float *)tbn_take(a, w->task_wexp * tasks * sizeof(float));
  w->tile = (float *)tbn_take(a, w->task_tile * tasks * sizeof(float));
  w->col = (float *)tbn_take(a, w->task_col * tasks * sizeof(float));
  w->pbase = (int64_t *)tbn_take(a, w->task_pbase * tasks * sizeof(int64_t));
  return TBN_OK;
}

tbn_status tbn_conv_workspace(const tbn_matrix *m, const tbn_conv_geom *g, size_t tasks, size_t *bytes) {
  tbn_arena a = {0, 0};
  conv_plan p;
  conv_ws w;
  tbn_status s;
  if (!m || !g || !bytes) return TBN_ERR_ARG;
  s = conv_layout(m, g, tasks, &a, &p, &w);
  if (s == TBN_OK) *bytes = a.used + 64;
  return s;
}

typedef struct conv_ctx {
  const tbn_matrix *m;
  const tbn_conv_geom *g;
  conv_plan p;
  conv_ws w;
  const float *x, *bias;
  float *y;
  int64_t n; /* current image */
  size_t units, tasks;
} conv_ctx;

static void range_of(size_t t, size_t tasks, size_t units, size_t *u0, size_t *u1) {
  *u0 = t * units / tasks;
  *u1 = (t + 1) * units / tasks;
}

static void pad_task(void *arg, size_t t) {
  const conv_ctx *c = (const conv_ctx *)arg;
  const tbn_conv_geom *g = c->g;
  const int64_t h = g->in[0], wd = g->in[1], pl = g->pad0[1];
  size_t c0, c1, ch;
  range_of(t, c->tasks, (size_t)g->c, &c0, &c1);
  for (ch = c0; ch < c1; ch++) {
    const float *src = c->x + (c->n * g->c + (int64_t)ch) * h * wd;
    float *dst = c->w.xpad + (int64_t)ch * c->p.chan;
    int64_t hp;
    for (hp = 0; hp < c->p.hp; hp++) {
      const int64_t row = hp - g->pad0[0];
      float *d = dst + hp * c->p.wp;
      if (row < 0 || row >= h) {
        memset(d, 0, (size_t)c->p.wp * sizeof(float));
        continue;
      }
      memset(d, 0, (size_t)pl * sizeof(float));
      memcpy(d + pl, src + row * wd, (size_t)wd * sizeof(float));
      memset(d + pl + wd, 0, (size_t)(c->p.wp - pl - wd) * sizeof(float));
    }
  }
  if (t == 0) {
    const int64_t used = g->c * c->p.chan;
    memset(c->w.xpad + used, 0, (size_t)(c->p.xpad_len - used) * sizeof(float));
  }
}

/* Weight rows of channel block cb in group gr: tile rows (OUT_REUSE) or output channels. */
static int block_rows(const conv_ctx *c, int64_t gr, int64_t cb, int64_t *rows) {
  const tbn_matrix *m = c->m;
  const int64_t first = cb * TBN_EXP_ROWS, c0 = gr * c->p.ocg;
  const int jn = (int)(c->p.nrows - first < TBN_EXP_ROWS ? c->p.nrows - first : TBN_EXP_ROWS);
  int jj;
  for (jj = 0; jj < jn; jj++) {
    if (m->mode != TBN_MODE_OUT_REUSE) rows[jj] = c0 + first + jj;
    else rows[jj] = tbn_conv_reuse_row(c->p.ocg, m->ro, c0, first + jj);
  }
  return jn;
}

static void expand(const conv_ctx *c, const int64_t *rows, int jn, float *wexp) {
  if (c->m->mode == TBN_MODE_GENERAL) tbn_expand_general(c->m, rows[0], jn, c->p.k, wexp);
  else tbn_expand_tile(c->m, rows, jn, c->p.kx, wexp);
}

/* Column block for positions [f0, f0+PB) of group gr: gathered taps, or combined regions. */
static void build_col(const conv_ctx *c, int64_t gr, int64_t f0, float *col, int64_t *pbase) {
  const tbn_conv_geom *g = c->g;
  const tbn_matrix *m = c->m;
  const int pb = c->p.mk->conv_pb;
  const float *xg = c->w.xpad + gr * c->p.cg * c->p.chan;
  int64_t kk, r;
  int v;
  if (!c->p.direct) {
    for (v = 0; v < pb; v++) {
      const int64_t f = f0 + v, oh = f / g->out[1], ow = f - oh * g->out[1];
      pbase[v] = f < c->p.npos ? oh * g->stride[0] * c->p.wp + ow * g->stride[1] : 0;
    }
  }
  for (kk = 0; kk < c->p.kx; kk++) {
    float *dst = col + kk * pb;
    const int64_t regions = m->mode == TBN_MODE_IN_COMBINE ? m->p : 1;
    for (r = 0; r < regions; r++) {
      const float a = m->mode == TBN_MODE_IN_COMBINE ? m->alpha[r] : 1.0f;
      const float *s = xg + c->w.off[kk + r * c->p.kx];
      if (c->p.direct) {
        s += f0;
        if (r == 0) for (v = 0; v < pb; v++) dst[v] = a * s[v];
        else for (v = 0; v < pb; v++) dst[v] += a * s[v];
      } else {
        if (r == 0) for (v = 0; v < pb; v++) dst[v] = a * s[pbase[v]];
        else for (v = 0; v < pb; v++) dst[v] += a * s[pbase[v]];
      }
    }
  }
}

/* Writes tile rows into y: each weight row feeds one channel, or (OUT_REUSE) every channel of
 * the group congruent to it modulo out/p, scaled by that channel's region scale. */
static void store(const conv_ctx *c, int64_t gr, int64_t f0, const int64_t *rows, int jn, const float *tile) {
  const tbn_matrix *m = c->m;
  const tbn_conv_geom *g = c->g;
  const int pb = c->p.mk->conv_pb;
  const int64_t c0 = gr * c->p.ocg, c1 = c0 + c->p.ocg, plane = g->out[0] * g->out[1];
  int64_t seg_dst[MAX_PB], seg_src[MAX_PB], seg_len[MAX_PB];
  int nseg = 0, v = 0, jj, sgi;
  while (v < pb && f0 + v < c->p.npos) {
    const int64_t f = f0 + v;
    if (!c->p.direct) {
      const int64_t len = c->p.npos - f < pb - v ? c->p.npos - f : pb - v;
      seg_dst[nseg] = f, seg_src[nseg] = v, seg_len[nseg++] = len;
      break;
    } else {
      const int64_t oh = f / c->p.wp, ow = f - oh * c->p.wp;
      int64_t len = c->p.wp - ow;
      if (len > pb - v) len = pb - v;
      if (ow < g->out[1]) {
        seg_dst[nseg] = oh * g->out[1] + ow, seg_src[nseg] = v;
        seg_len[nseg++] = ow + len <= g->out[1] ? len : g->out[1] - ow;
      }
      v += (int)len;
    }
  }
  for (jj = 0; jj < jn; jj++) {
    const float *t = tile + jj * pb;
    int64_t oc = rows[jj], step = 1, last = rows[jj] + 1;
    if (m->mode == TBN_MODE_OUT_REUSE) oc = tbn_conv_first_channel(c0, m->ro, rows[jj]), step = m->ro, last = c1;
    for (; oc < last; oc += step) {
      const float s = m->mode == TBN_MODE_OUT_REUSE ? m->alpha[tbn_reuse_region(oc, m->ro)] : 1.0f;
      const float b = c->bias ? c->bias[oc] : 0.0f;
      float *y = c->y + (c->n * g->oc + oc) * plane;
      for (sgi = 0; sgi < nseg; sgi++) {
        float *d = y + seg_dst[sgi];
        const float *sv = t + seg_src[sgi];
        int64_t i;
        for (i = 0; i < seg_len[sgi]; i++) d[i] = s * sv[i] + b;
      }
    }
  }
}

static void conv_task(void *arg, size_t t) {
  const conv_ctx *c = (const conv_ctx *)arg;
  const tbn_micro *mk = c->p.mk;
  const int pb = mk->conv_pb;
  float *wexp = c->w.wexp + t * c->w.task_wexp, *tile = c->w.tile + t * c->w.task_tile;
  float *col = c->w.col ? c->w.col + t * c->w.task_col : 0;
  int64_t *pbase = c->w.pbase ? c->w.pbase + t * c->w.task_pbase : 0;
  int64_t rows[TBN_EXP_ROWS], have_w = -1, have_col = -1;
  const int64_t per_group = c->p.nchblk * c->p.nposblk;
  size_t u0, u1, u;
  range_of(t, c->tasks, c->units, &u0, &u1);
  for (u = u0; u < u1; u++) {
    const int64_t gr = (int64_t)u / per_group, rem = (int64_t)u % per_group;
    const int64_t cb = c->p.use_col ? rem % c->p.nchblk : rem / c->p.nposblk;
    const int64_t pk = c->p.use_col ? rem / c->p.nchblk : rem % c->p.nposblk;
    const int64_t f0 = pk * pb, wkey = gr * c->p.nchblk + cb, ckey = gr * c->p.nposblk + pk;
    const int jn = block_rows(c, gr, cb, rows);
    const float *src;
    const int64_t *off;
    int jj;
    if (wkey != have_w) expand(c, rows, jn, wexp), have_w = wkey;
    if (c->p.use_col) {
      if (ckey != have_col) build_col(c, gr, f0, col, pbase), have_col = ckey;
      src = col, off = c->w.coloff;
    } else {
      src = c->w.xpad + gr * c->p.cg * c->p.chan + f0, off = c->w.off;
    }
    for (jj = 0; jj < jn; jj += mk->conv_jb) {
      const int jb = jn - jj < mk->conv_jb ? jn - jj : mk->conv_jb;
      if (mk->conv_short && c->p.npos - f0 < pb) mk->conv_short(wexp + jj, c->p.kx, src, off, jb, tile + jj * pb, c->p.npos - f0);
      else mk->conv(wexp + jj, c->p.kx, src, off, jb, tile + jj * pb);
    }
    store(c, gr, f0, rows, jn, tile);
  }
}

/* Batch mode: task t runs images [n0, n1) alone, on its own slice of every buffer. */
static void batch_task(void *arg, size_t t) {
  const conv_ctx *all = (const conv_ctx *)arg;
  conv_ctx c = *all;
  size_t n0, n1, n;
  range_of(t, all->tasks, (size_t)all->g->n, &n0, &n1);
  c.tasks = 1;
  c.w.xpad += t * (size_t)c.p.xpad_len;
  c.w.wexp += t * c.w.task_wexp;
  c.w.tile += t * c.w.task_tile;
  if (c.w.col) c.w.col += t * c.w.task_col;
  if (c.w.pbase) c.w.pbase += t * c.w.task_pbase;
  for (n = n0; n < n1; n++) {
    c.n = (int64_t)n;
    pad_task(&c, 0);
    conv_task(&c, 0);
  }
}

tbn_status tbn_conv_run(const tbn_matrix *m, const tbn_conv_geom *g, const float *x, const float *bias, float *y,
                        void *ws, size_t ws_bytes, const tbn_parallel *par) {
  conv_ctx c;
  size_t need;
  tbn_arena a;
  int64_t kk, units;
  tbn_status s;
  if (!m || !g) return TBN_ERR_ARG;
  memset(&c, 0, sizeof c);
  c.tasks = tbn_tasks(par);
  s = tbn_conv_workspace(m, g, c.tasks, &need);
  if (s != TBN_OK) return s;
  if (g->n == 0) return TBN_OK;
  if (!x || !y || !ws || ws_bytes < need) return !ws || ws_bytes < need ? TBN_ERR_WORKSPACE : TBN_ERR_ARG;
  a.base = (unsigned char *)ws + ((64u - ((uintptr_t)ws & 63u)) & 63u), a.used = 0;
  conv_layout(m, g, c.tasks, &a, &c.p, &c.w);
  c.m = m, c.g = g, c.x = x, c.bias = bias, c.y = y;
  for (kk = 0; kk < c.p.k; kk++) {
    /* tap kk = (channel in group, kernel row, kernel column), row-major like W */
    const int64_t ch = kk / (g->k[0] * g->k[1]), rest = kk % (g->k[0] * g->k[1]);
    const int64_t kh = rest / g->k[1], kw = rest % g->k[1];
    c.w.off[kk] = ch * c.p.chan + kh * g->dil[0] * c.p.wp + kw * g->dil[1];
  }
  if (c.w.coloff)
    for (kk = 0; kk < c.p.kx; kk++) c.w.coloff[kk] = kk * c.p.mk->conv_pb;
  units = g->group * c.p.nchblk * c.p.nposblk;
  if (c.p.batch) {
    c.units = (size_t)units;
    int64_t work;
    if (!tbn_mul(g->n, c.p.image_work, &work)) work = INT64_MAX;
    c.tasks = tbn_tasks_for(par, (size_t)g->n, work);
    tbn_for(par, c.tasks, batch_task, &c);
    return TBN_OK;
  }
  for (c.n = 0; c.n < g->n; c.n++) {
    /* a copied float costs about as much as 8 multiply-accumulates (memory-bound) */
    c.tasks = tbn_tasks_for(par, (size_t)g->c, 8 * g->c * c.p.chan);
    tbn_for(par, c.tasks, pad_task, &c);
    c.units = (size_t)units;
    c.tasks = tbn_tasks_for(par, c.units, c.p.image_work);
    tbn_for(par, c.tasks, conv_task, &c);
  }
  return TBN_OK;
}
