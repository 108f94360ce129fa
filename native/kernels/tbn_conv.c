/* tbn_conv.c — Conv (1-D as H = 1, 2-D; groups, strides, pads, dilations, bias, channels first or
 * last, fused epilogue) from the tile.
 *   Direct path (every layout but IN_COMBINE): output position f = oh·pitch + ow reads
 *   src[off[kk] + f] for every kernel tap kk, contiguous in f, so the microkernel multiplies
 *   straight out of src (no im2col; the pitch − OW columns per row it also computes are
 *   dropped). src is the input itself when nothing needs padding (stride 1, no pads, channels
 *   first: 1×1 convs are a product over positions), else a zero-padded copy split into
 *   stride phases: phase (a, b) holds padded rows a, a + sh, … and columns b, b + sw, …, so a
 *   strided tap is a unit-stride read in its phase (tap (kh, kw) at dilation d reads phase
 *   (kh·d mod sh, kw·d mod sw) shifted by (kh·d div sh, kw·d div sw)).
 *   IN_COMBINE gathers a column block [kk][PB] per position block, combining the p input
 *   regions with their α first.
 *   Channels last with a 1×1 kernel, stride 1 and no pads is the dense product itself.
 * Weight rows (tile rows in OUT_REUSE, output channels otherwise) are expanded 8 at a time into
 * a ±1 (or ±α) panel [kk][8]; in OUT_REUSE each computed row j feeds every output channel
 * oc ≡ j (mod out/p) of the group, scaled by α[oc / (out/p)]. The store applies the epilogue
 * (α, bias, scale, shift, residual, activation) to each block while it is in cache.
 * Threads: whole images per task when the batch is large or the images small (one wake-up per
 * run); otherwise every image is copied in one parallel step and all (image, group, row block,
 * position block) units are shared out in a second.
 * With a pool (TbnConvMaxPool) the conv writes into workspace: a task that runs whole images
 * pools each one as soon as it is computed, from its own one-image buffer (still in its cache);
 * otherwise the run's conv output is pooled in a third parallel step. */
#include <string.h>

#include "tbn_internal.h"

#define MAX_PB 64
#define WCACHE_FLOATS ((int64_t)1 << 18)

typedef struct conv_plan {
  int64_t sh, sw;     /* stride phases of the copy (1 without phases) */
  int64_t hph, wph;   /* rows and columns of one phase plane */
  int64_t chan;       /* floats per channel of src */
  int64_t pitch;      /* row pitch of the position grid */
  int64_t xpad_len;   /* floats per copied image, slack included */
  int64_t k;          /* reduction length of one output: channels per group × kernel area */
  int64_t kx;         /* reduction length the GEMM sees: k, or the tile's ri under IN_COMBINE */
  int64_t npos;       /* output positions per image on the position grid (rows × pitch) */
  int64_t nposblk;    /* blocks of conv_pb positions covering npos */
  int64_t nrows;      /* weight rows expanded per group: ro under OUT_REUSE, else channels per group */
  int64_t nchblk;     /* blocks of TBN_EXP_ROWS rows covering nrows */
  int64_t ocg, cg;    /* output and input channels per group */
  int64_t image_work; /* multiply-accumulates per image */
  int copy;           /* src is a padded (and phase-split or transposed) copy of x, not x itself */
  int use_col;        /* IN_COMBINE: columns are gathered per block, the input chunks summed first */
  int batch;          /* tasks take whole images (batch_mode), not blocks of one image */
  int dense;          /* channels-last 1×1: run as the dense product, nothing else is planned */
  int wcache;         /* batch mode: each task expands every weight block once, for all its images */
  const tbn_micro *mk; /* the micro-kernel set of the ISA chosen at plan time */
} conv_plan;

typedef struct conv_ws {
  float *xpad, *wexp, *col, *tile, *post, *rowbuf;
  float *conv_out; /* with a pool: the conv's output before it (one image per task in batch mode) */
  int64_t *off, *coloff, *pbase, *share;
  size_t task_wexp, task_col, task_tile, task_pbase, task_rowbuf, ximages, task_conv_out;
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

/* Pads and output size along axis a: the ONNX definition that src/ir/conv-geometry.ts
 * (spatialGeometry) writes for the interpreter and the C export, here with overflow checks. */
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

static int no_padding(const tbn_conv_geom *g) {
  return g->pad0[0] == 0 && g->pad0[1] == 0 && g->pad1[0] == 0 && g->pad1[1] == 0;
}

/* Channels last, 1×1, stride 1, no pads, one group: y [n·h·w][oc] = x [n·h·w][c] · Wᵀ (run as that
 * product when the plan was made for the dense kernels: the caller's choice, by the channels). */
static int is_dense(const tbn_conv_geom *g) {
  return g->channels_last && g->group == 1 && g->k[0] == 1 && g->k[1] == 1 && g->stride[0] == 1 &&
         g->stride[1] == 1 && no_padding(g);
}

/* Tasks that run whole images alone: many images, or images too small to split. */
static int batch_mode(const tbn_conv_geom *g, int64_t image_work, size_t tasks) {
  return tasks > 1 && g->n > 1 && (g->n >= 4 * (int64_t)tasks || image_work < 16 * TBN_TASK_WORK * (int64_t)tasks);
}

/* A valid pool that takes exactly the conv's output, channels first. */
static int pool_fits(const tbn_conv_geom *g, const tbn_pool_geom *pool) {
  return tbn_pool_check(pool) == TBN_OK && !g->channels_last && pool->n == g->n && pool->c == g->oc &&
         pool->in[0] == g->out[0] && pool->in[1] == g->out[1];
}

static tbn_status conv_layout(const tbn_matrix *m, const tbn_conv_geom *g, const tbn_pool_geom *pool, size_t tasks,
                              tbn_arena *a, conv_plan *p, conv_ws *w) {
  int64_t k, t, len, hp, wp;
  memset(p, 0, sizeof *p);
  memset(w, 0, sizeof *w);
  p->mk = tbn_micro_get(m->isa);
  if (!p->mk || p->mk->conv_pb > MAX_PB) return TBN_ERR_UNSUPPORTED;
  if (tasks < 1 || tasks > 4096) return TBN_ERR_ARG;
  if (pool && !pool_fits(g, pool)) return TBN_ERR_SHAPE;
  p->cg = g->c / g->group, p->ocg = g->oc / g->group;
  if (!tbn_mul(p->cg, g->k[0], &k) || !tbn_mul(k, g->k[1], &k)) return TBN_ERR_OVERFLOW;
  if (m->out != g->oc || m->in != k) return TBN_ERR_SHAPE;
  p->k = k;
  if (is_dense(g) && m->use == TBN_USE_DENSE) {
    p->dense = 1;
    return TBN_OK;
  }
  if (m->mode != TBN_MODE_GENERAL && !m->panel) return TBN_ERR_ARG; /* a plan made for the dense kernels */
  p->kx = m->mode == TBN_MODE_IN_COMBINE ? m->ri : k;
  p->use_col = m->mode == TBN_MODE_IN_COMBINE;
  p->copy = p->use_col || g->channels_last || g->stride[0] != 1 || g->stride[1] != 1 || !no_padding(g);
  hp = g->in[0] + g->pad0[0] + g->pad1[0];
  wp = g->in[1] + g->pad0[1] + g->pad1[1];
  p->sh = p->use_col ? 1 : g->stride[0], p->sw = p->use_col ? 1 : g->stride[1];
  p->hph = tbn_ceil_div(hp, p->sh), p->wph = tbn_ceil_div(wp, p->sw);
  if (p->copy) {
    if (!tbn_mul(p->hph * p->sh, p->wph * p->sw, &p->chan) || !tbn_mul(p->chan, g->c, &len)) return TBN_ERR_OVERFLOW;
    if (!tbn_add(len, p->wph + 2 * MAX_PB, &p->xpad_len)) return TBN_ERR_OVERFLOW;
    p->pitch = p->use_col ? g->out[1] : p->wph;
  } else {
    p->chan = g->in[0] * g->in[1];
    p->pitch = g->in[1];
  }
  if (!tbn_mul(g->out[0], p->pitch, &p->npos)) return TBN_ERR_OVERFLOW;
  p->nposblk = tbn_ceil_div(p->npos, p->mk->conv_pb);
  p->nrows = m->mode == TBN_MODE_OUT_REUSE && p->ocg > m->ro ? m->ro : p->ocg;
  p->nchblk = tbn_ceil_div(p->nrows, TBN_EXP_ROWS);
  if (!tbn_mul(g->group, p->nchblk, &t) || !tbn_mul(t, p->nposblk, &t) || !tbn_mul(t, g->n, &t)) return TBN_ERR_OVERFLOW;
  if (!tbn_mul(g->group * p->nrows, p->kx, &t) || !tbn_mul(t, p->npos, &p->image_work)) return TBN_ERR_OVERFLOW;
  p->batch = batch_mode(g, p->image_work, tasks);
  w->ximages = !p->copy ? 0 : p->batch ? tasks : (size_t)g->n;
  if (!tbn_mul(p->xpad_len, (int64_t)w->ximages, &len)) return TBN_ERR_OVERFLOW;
  w->xpad = (float *)tbn_take(a, (size_t)len * sizeof(float));
  w->off = (int64_t *)tbn_take(a, (size_t)k * sizeof(int64_t));
  w->task_wexp = (size_t)(p->kx * TBN_EXP_ROWS);
  w->task_tile = (size_t)(TBN_EXP_ROWS * p->mk->conv_pb);
  /* IN_COMBINE blocks, and the blocks at the end of an uncopied input that would read past it */
  w->task_col = (size_t)(p->kx * p->mk->conv_pb);
  w->task_pbase = p->use_col ? (size_t)p->mk->conv_pb : 0;
  w->coloff = (int64_t *)tbn_take(a, (size_t)p->kx * sizeof(int64_t));
  /* A task of several images keeps every expanded block (nrows·kx floats per group, at most
   * WCACHE_FLOATS) instead of expanding each again for every image. */
  if (p->batch && g->n >= 2 * (int64_t)tasks && tbn_mul(g->group * p->nchblk, (int64_t)w->task_wexp, &t) && t <= WCACHE_FLOATS)
    p->wcache = 1, w->task_wexp = (size_t)t;
  w->wexp = (float *)tbn_take(a, w->task_wexp * tasks * sizeof(float));
  w->tile = (float *)tbn_take(a, w->task_tile * tasks * sizeof(float));
  w->col = (float *)tbn_take(a, w->task_col * tasks * sizeof(float));
  w->pbase = (int64_t *)tbn_take(a, w->task_pbase * tasks * sizeof(int64_t));
  w->post = (float *)tbn_take(a, (size_t)(3 * g->oc) * sizeof(float));
  w->share = (int64_t *)tbn_take(a, tbn_share_bytes(tasks));
  /* copy scratch: a padded row, and (channels last) the task's rows transposed */
  if (p->copy) {
    if (!tbn_mul(g->channels_last ? g->c : 0, g->in[1], &t) || !tbn_add(t, p->sw * p->wph + 16, &t)) return TBN_ERR_OVERFLOW;
    w->task_rowbuf = (size_t)t;
    w->rowbuf = (float *)tbn_take(a, w->task_rowbuf * tasks * sizeof(float));
  }
  if (pool) {
    if (!tbn_mul(g->oc, g->out[0] * g->out[1], &t) || !tbn_mul(t, p->batch ? (int64_t)tasks : g->n, &len)) return TBN_ERR_OVERFLOW;
    w->task_conv_out = p->batch ? (size_t)t : 0;
    w->conv_out = (float *)tbn_take(a, (size_t)len * sizeof(float));
  }
  return TBN_OK;
}

tbn_status tbn_conv_pool_workspace(const tbn_matrix *m, const tbn_conv_geom *g, const tbn_pool_geom *pool, size_t tasks,
                                   size_t *bytes) {
  tbn_arena a = {0, 0};
  conv_plan p;
  conv_ws w;
  tbn_status s;
  if (!m || !g || !bytes) return TBN_ERR_ARG;
  s = conv_layout(m, g, pool, tasks, &a, &p, &w);
  if (s != TBN_OK) return s;
  if (p.dense) {
    int64_t rows;
    if (!tbn_mul(g->n, g->in[0] * g->in[1], &rows)) return TBN_ERR_OVERFLOW;
    return tbn_dense_workspace(m, rows, tasks, bytes);
  }
  *bytes = a.used + 64;
  return TBN_OK;
}

tbn_status tbn_conv_workspace(const tbn_matrix *m, const tbn_conv_geom *g, size_t tasks, size_t *bytes) {
  return tbn_conv_pool_workspace(m, g, 0, tasks, bytes);
}

typedef struct conv_ctx {
  const tbn_matrix *m;
  const tbn_conv_geom *g;
  conv_plan p;
  conv_ws w;
  tbn_post post;
  const float *x;
  float *y;          /* the conv's output: y, or with a pool the workspace buffer (a batch task's
                        one-image buffer, holding image n0) */
  const tbn_pool_geom *pool;
  float *pooled;     /* with a pool: the run's output */
  int64_t n0;        /* first image of the run's slice (batch tasks) */
  float *xbase;      /* copied images: image i of the slice at xbase + i·xpad_len */
  size_t units, tasks;
  tbn_share share;   /* the run's units (split mode) or images (batch mode) shared out */
} conv_ctx;

/* One padded input row of channel ch split into its sw column phases (row i of each phase plane
 * of phase row ph); src: the unpadded row (wd values), pr: scratch of sw·wph + 16 floats. */
static void copy_row(const conv_ctx *c, const float *src, float *ch_base, int64_t ph, int64_t i, float *pr) {
  const conv_plan *p = &c->p;
  const int64_t wd = c->g->in[1], pl = c->g->pad0[1], plane = p->hph * p->wph;
  float *d0 = ch_base + ph * p->sw * plane + i * p->wph;
  int64_t pw, j;
  if (p->sw == 2 && p->mk->pad_split2) {
    p->mk->pad_split2(d0, d0 + plane, src, pl, wd, p->wph);
    return;
  }
  /* stride 1: the row in place; else the padded row (sw·wph columns), then its phases. wph is
   * the padded width rounded up to sw, so the right pad is never negative. */
  p->mk->pad_row(p->sw == 1 ? d0 : pr, src, pl, wd, p->sw * p->wph - pl - wd);
  if (p->sw == 1) return;
  if (p->sw == 2) {
    p->mk->deinterleave2(pr, p->wph, d0, d0 + plane);
    return;
  }
  for (pw = 0; pw < p->sw; pw++) {
    float *d = d0 + pw * plane;
    for (j = 0; j < p->wph; j++) d[j] = pr[pw + p->sw * j];
  }
}

/* Zeroes row i of row phase ph (padded row i·sh + ph) of channels [c0, c1), every column phase. */
static void zero_row(const conv_ctx *c, float *xpad, int64_t ph, int64_t i, int64_t c0, int64_t c1) {
  const conv_plan *p = &c->p;
  const int64_t plane = p->hph * p->wph;
  int64_t ch, pw;
  for (ch = c0; ch < c1; ch++)
    for (pw = 0; pw < p->sw; pw++) memset(xpad + ch * p->chan + (ph * p->sw + pw) * plane + i * p->wph, 0, (size_t)p->wph * sizeof(float));
}

/* Copies channels [c0, c1) of image n into xpad: zero padding, split into sh × sw stride
 * phases. Channels first: channel by channel, row after row, one sequential read of x (a row
 * of every channel in turn would be one short stream per channel, which the hardware
 * prefetchers do not follow). Channels last: the rows of the channel range transposed first,
 * so every read is contiguous. The slack after the channels is zeroed with the last. */
static void copy_image(const conv_ctx *c, int64_t n, float *xpad, int64_t c0, int64_t c1, int zero_tail, float *scratch) {
  const tbn_conv_geom *g = c->g;
  const conv_plan *p = &c->p;
  const int64_t wd = g->in[1], rows = p->sh * p->hph;
  float *pr = scratch, *tb = scratch + p->sw * p->wph + 16;
  /* padded row hp is row i of row phase ph (hp = i·sh + ph), counted without a division per row */
  int64_t hp, ch, ph, i;
  if (!g->channels_last) {
    for (ch = c0; ch < c1; ch++)
      for (hp = 0, ph = 0, i = 0; hp < rows; hp++) {
        const int64_t row = hp - g->pad0[0];
        if (row < 0 || row >= g->in[0]) zero_row(c, xpad, ph, i, ch, ch + 1);
        else copy_row(c, c->x + ((n * g->c + ch) * g->in[0] + row) * wd, xpad + ch * p->chan, ph, i, pr);
        if (++ph == p->sh) ph = 0, i++;
      }
  } else {
    for (hp = 0, ph = 0, i = 0; hp < rows; hp++) {
      const int64_t row = hp - g->pad0[0];
      if (row < 0 || row >= g->in[0]) {
        zero_row(c, xpad, ph, i, c0, c1);
      } else {
        p->mk->transpose(c->x + ((n * g->in[0] + row) * wd) * g->c + c0, wd, c1 - c0, g->c, tb, wd);
        for (ch = c0; ch < c1; ch++) copy_row(c, tb + (ch - c0) * wd, xpad + ch * p->chan, ph, i, pr);
      }
      if (++ph == p->sh) ph = 0, i++;
    }
  }
  if (zero_tail) {
    const int64_t used = g->c * p->chan;
    memset(xpad + used, 0, (size_t)(p->xpad_len - used) * sizeof(float));
  }
}

/* Copy task over (image, channel range) pairs of every image (split mode). */
static void copy_task(void *arg, size_t t) {
  const conv_ctx *c = (const conv_ctx *)arg;
  const int64_t per = c->g->c;
  size_t u0, u1, u;
  range_of(t, c->tasks, (size_t)(c->g->n * per), &u0, &u1);
  for (u = u0; u < u1;) {
    const int64_t n = (int64_t)u / per, ch = (int64_t)u % per;
    const int64_t end = (int64_t)u1 - n * per < per ? (int64_t)u1 - n * per : per;
    copy_image(c, n, c->w.xpad + n * c->p.xpad_len, ch, end, end == per, c->w.rowbuf + t * c->w.task_rowbuf);
    u += (size_t)(end - ch);
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

/* IN_COMBINE column block for positions [f0, f0+PB) of group gr: taps gathered per position,
 * the p input regions combined with their α. */
static void build_col(const conv_ctx *c, const float *src, int64_t gr, int64_t f0, float *col, int64_t *pbase) {
  const tbn_conv_geom *g = c->g;
  const tbn_matrix *m = c->m;
  const int pb = c->p.mk->conv_pb;
  const float *xg = src + gr * c->p.cg * c->p.chan;
  int64_t kk, r;
  int v;
  for (v = 0; v < pb; v++) {
    const int64_t f = f0 + v, oh = f / g->out[1], ow = f - oh * g->out[1];
    pbase[v] = f < c->p.npos ? oh * g->stride[0] * c->p.wph + ow * g->stride[1] : 0;
  }
  for (kk = 0; kk < c->p.kx; kk++) {
    float *dst = col + kk * pb;
    for (r = 0; r < m->p; r++) {
      const float a = m->alpha[r];
      const float *s = xg + c->w.off[kk + r * c->p.kx];
      if (r == 0) for (v = 0; v < pb; v++) dst[v] = a * s[pbase[v]];
      else for (v = 0; v < pb; v++) dst[v] += a * s[pbase[v]];
    }
  }
}

/* An uncopied input's block that would read past the end of x: taps gathered with bounds. */
static void bounded_col(const conv_ctx *c, const float *src, int64_t limit, int64_t f0, float *col) {
  const int pb = c->p.mk->conv_pb;
  int64_t kk;
  int v;
  for (kk = 0; kk < c->p.kx; kk++) {
    const int64_t base = c->w.off[kk] + f0;
    for (v = 0; v < pb; v++) col[kk * pb + v] = base + v < limit ? src[base + v] : 0.0f;
  }
}

/* The output positions a block of PB grid positions holds: runs of consecutive outputs. */
typedef struct segments {
  int n;
  int64_t src[MAX_PB], dst[MAX_PB], len[MAX_PB];
  int64_t count; /* grid positions computed (PB, fewer in the last block) */
} segments;

static void block_segments(const conv_ctx *c, int64_t f0, segments *sg) {
  const tbn_conv_geom *g = c->g;
  const int pb = c->p.mk->conv_pb;
  const int64_t pitch = c->p.pitch;
  int64_t v = 0, oh = f0 / pitch, ow = f0 - oh * pitch;
  sg->n = 0;
  sg->count = c->p.npos - f0 < pb ? c->p.npos - f0 : pb;
  /* every run after the first starts a grid row: one division per block */
  for (; v < sg->count; oh++, ow = 0) {
    int64_t len = pitch - ow;
    if (len > sg->count - v) len = sg->count - v;
    if (ow < g->out[1]) {
      const int64_t dst = oh * g->out[1] + ow, n = ow + len <= g->out[1] ? len : g->out[1] - ow;
      const int k = sg->n - 1;
      /* rows without dropped columns between them (pitch = OW) continue the previous run */
      if (k >= 0 && sg->src[k] + sg->len[k] == v && sg->dst[k] + sg->len[k] == dst) sg->len[k] += n;
      else sg->src[sg->n] = v, sg->dst[sg->n] = dst, sg->len[sg->n++] = n;
    }
    v += len;
  }
}

/* Channels last: output channel oc of image n from its computed row t, the epilogue over the
 * whole block at once (vectorised), then the valid positions scattered with stride OC. */
static void store_channel_last(const conv_ctx *c, int64_t n, int64_t oc, const float *t, const segments *sg, float *buf) {
  const tbn_conv_geom *g = c->g;
  const tbn_post *post = &c->post;
  const int64_t plane = g->out[0] * g->out[1];
  const float *res = post->residual;
  int k;
  int64_t i;
  c->p.mk->affine_act(t, sg->count, post->mul[oc], post->add[oc], res ? 0 : post->e, buf);
  for (k = 0; k < sg->n; k++) {
    const int64_t base = (n * plane + sg->dst[k]) * g->oc + oc;
    float *v = buf + sg->src[k];
    if (res) {
      for (i = 0; i < sg->len[k]; i++) v[i] += res[base + i * g->oc];
      if (post->act) post->act(v, sg->len[k], post->e);
    }
    for (i = 0; i < sg->len[k]; i++) c->y[base + i * g->oc] = v[i];
  }
}

/* Channels last, when each copy r of the block's rows is a run of consecutive channels (always
 * but for some grouped layouts): per copy, the epilogue on the [rows][positions] block, then
 * 8×8 transposes into y's [position][channel] rows (the residual comes in the same way).
 * Returns 0, writing nothing, when the channels are not consecutive. */
static int store_block_last(const conv_ctx *c, int64_t n, int64_t gr, const int64_t *rows, int jn, const float *tile,
                            const segments *sg) {
  const tbn_matrix *m = c->m;
  const tbn_conv_geom *g = c->g;
  const tbn_post *post = &c->post;
  const tbn_micro *mk = c->p.mk;
  const int pb = mk->conv_pb;
  const int64_t c0 = gr * c->p.ocg, c1 = c0 + c->p.ocg, plane = g->out[0] * g->out[1];
  const int reuse = m->mode == TBN_MODE_OUT_REUSE;
  const int64_t step = reuse ? m->ro : c1; /* between the copies of a row */
  const int64_t c0r = reuse ? c0 % m->ro : 0;
  const int64_t first = reuse ? tbn_conv_first_channel_r(c0, c0r, m->ro, rows[0]) : rows[0];
  float buf[TBN_EXP_ROWS * MAX_PB], rbuf[TBN_EXP_ROWS * MAX_PB];
  int64_t oc0;
  int jj, k;
  for (jj = 1; jj < jn; jj++)
    if ((reuse ? tbn_conv_first_channel_r(c0, c0r, m->ro, rows[jj]) : rows[jj]) != first + jj) return 0;
  for (oc0 = first; oc0 < c1; oc0 += step)
    if (oc0 + jn > c1) return 0; /* a copy some rows have and others not */
  for (oc0 = first; oc0 < c1; oc0 += step) {
    for (jj = 0; jj < jn; jj++)
      mk->affine_act(tile + jj * pb, sg->count, post->mul[oc0 + jj], post->add[oc0 + jj], post->residual ? 0 : post->e, buf + jj * pb);
    if (post->residual) {
      for (k = 0; k < sg->n; k++)
        mk->transpose(post->residual + (n * plane + sg->dst[k]) * g->oc + oc0, sg->len[k], jn, g->oc, rbuf + sg->src[k], pb);
      for (k = 0; k < sg->n; k++)
        for (jj = 0; jj < jn; jj++) {
          float *v = buf + jj * pb + sg->src[k];
          const float *rv = rbuf + jj * pb + sg->src[k];
          int64_t i;
          for (i = 0; i < sg->len[k]; i++) v[i] += rv[i];
          if (post->act) post->act(v, sg->len[k], post->e);
        }
    }
    for (k = 0; k < sg->n; k++) mk->transpose(buf + sg->src[k], jn, sg->len[k], pb, c->y + (n * plane + sg->dst[k]) * g->oc + oc0, g->oc);
  }
  return 1;
}

/* Each weight row feeds one channel, or (OUT_REUSE) every channel of the group congruent to it
 * modulo out/p, scaled by that channel's region scale (folded into post.mul). Channels first,
 * all the channels of a row are stored by one call, straight into y's rows. */
static void store(const conv_ctx *c, int64_t n, int64_t gr, int64_t f0, const int64_t *rows, int jn, const float *tile) {
  const tbn_matrix *m = c->m;
  const tbn_conv_geom *g = c->g;
  const tbn_post *post = &c->post;
  const int pb = c->p.mk->conv_pb;
  const int64_t c0 = gr * c->p.ocg, c1 = c0 + c->p.ocg, plane = g->out[0] * g->out[1];
  const int reuse = m->mode == TBN_MODE_OUT_REUSE;
  const int64_t c0r = reuse ? c0 % m->ro : 0;
  float buf[MAX_PB], s[TBN_MAX_STORE], b[TBN_MAX_STORE];
  float *y[TBN_MAX_STORE];
  const float *r[TBN_MAX_STORE];
  segments sg;
  int jj, k, contiguous = 0;
  block_segments(c, f0, &sg);
  if (g->channels_last) contiguous = store_block_last(c, n, gr, rows, jn, tile, &sg);
  for (jj = 0; jj < jn; jj++) {
    int64_t oc = rows[jj], step = 1, last = rows[jj] + 1;
    if (reuse) oc = tbn_conv_first_channel_r(c0, c0r, m->ro, rows[jj]), step = m->ro, last = c1;
    if (g->channels_last) {
      if (!contiguous) for (; oc < last; oc += step) store_channel_last(c, n, oc, tile + jj * pb, &sg, buf);
      continue;
    }
    while (oc < last) {
      for (k = 0; k < TBN_MAX_STORE && oc < last; k++, oc += step) {
        const int64_t base = (n * g->oc + oc) * plane, ybase = ((c->pool ? n - c->n0 : n) * g->oc + oc) * plane;
        s[k] = post->mul[oc], b[k] = post->add[oc], y[k] = c->y + ybase, r[k] = post->residual ? post->residual + base : 0;
      }
      c->p.mk->store_segments(tile + jj * pb, k, s, b, y, r, post->act ? post->e : 0, sg.src, sg.dst, sg.len, sg.n);
    }
  }
}

/* A task's scratch and what it holds: the expanded weight block and the column block it built
 * last (kept across units, so a task's run of units in one block expands it once). */
typedef struct unit_scratch {
  float *wexp, *tile, *col;
  int64_t *pbase;
  int64_t have_w, have_col;
} unit_scratch;

static void unit_scratch_init(const conv_ctx *c, size_t t, unit_scratch *s) {
  s->wexp = c->w.wexp + t * c->w.task_wexp, s->tile = c->w.tile + t * c->w.task_tile;
  s->col = c->w.col + t * c->w.task_col;
  s->pbase = c->w.pbase ? c->w.pbase + t * c->w.task_pbase : 0;
  s->have_w = s->have_col = -1;
}

/* Unit u of the images whose source (copy or input) starts at xbase (copied) or x. */
static void run_unit(const conv_ctx *c, unit_scratch *s, size_t u) {
  const tbn_micro *mk = c->p.mk;
  const int pb = mk->conv_pb;
  float *wexp = s->wexp, *tile = s->tile, *col = s->col;
  int64_t *pbase = s->pbase;
  int64_t rows[TBN_EXP_ROWS];
  const int64_t per_group = c->p.nchblk * c->p.nposblk, per_image = c->g->group * per_group;
  const int64_t xtotal = c->g->n * c->g->c * c->p.chan;
  const int64_t img = (int64_t)u / per_image, rest = (int64_t)u % per_image;
  const int64_t gr = rest / per_group, rem = rest % per_group, n = c->n0 + img;
  const int64_t cb = c->p.use_col ? rem % c->p.nchblk : rem / c->p.nposblk;
  const int64_t pk = c->p.use_col ? rem / c->p.nchblk : rem % c->p.nposblk;
  const int64_t f0 = pk * pb, wkey = gr * c->p.nchblk + cb, ckey = u - (size_t)(rem % c->p.nchblk);
  const float *img_src = c->p.copy ? c->xbase + img * c->p.xpad_len : c->x + n * c->g->c * c->p.chan;
  const float *src;
  const int64_t *off = c->w.off;
  const int jn = block_rows(c, gr, cb, rows);
  const int short_blk = mk->conv_short && c->p.npos - f0 < pb; /* the image's last, short block */
  int jj;
  const float *w = c->p.wcache ? wexp + wkey * (int64_t)(c->p.kx * TBN_EXP_ROWS) : wexp;
  if (!c->p.wcache && wkey != s->have_w) expand(c, rows, jn, wexp), s->have_w = wkey;
  if (c->p.use_col) {
    if ((int64_t)ckey != s->have_col) build_col(c, img_src, gr, f0, col, pbase), s->have_col = (int64_t)ckey;
    src = col, off = c->w.coloff;
  } else {
    /* An uncopied input is read in place: the last blocks of the last image must not read past
     * it (a short last block reads only its positions, rounded up to the short kernel's step). */
    const int64_t span = short_blk ? tbn_ceil_div(c->p.npos - f0, mk->conv_short_step) * mk->conv_short_step : pb;
    src = img_src + gr * c->p.cg * c->p.chan + f0;
    if (!c->p.copy && (src - c->x) + off[c->p.kx - 1] + span > xtotal) {
      const int64_t g0 = (img_src - c->x) + gr * c->p.cg * c->p.chan;
      bounded_col(c, c->x + g0, xtotal - g0, f0, col);
      src = col, off = c->w.coloff;
    }
  }
  for (jj = 0; jj < jn; jj += mk->conv_jb) {
    const int jb = jn - jj < mk->conv_jb ? jn - jj : mk->conv_jb;
    if (short_blk) mk->conv_short(w + jj, c->p.kx, src, off, jb, tile + jj * pb, c->p.npos - f0);
    else mk->conv(w + jj, c->p.kx, src, off, jb, tile + jj * pb);
  }
  store(c, n, gr, f0, rows, jn, tile);
}

/* Split mode: units of every image shared out. */
static void unit_task(void *arg, size_t t) {
  const conv_ctx *c = (const conv_ctx *)arg;
  unit_scratch s;
  tbn_claim k = {0, 0, 0};
  size_t u;
  unit_scratch_init(c, t, &s);
  while (tbn_share_next(&c->share, t, &k, &u)) run_unit(c, &s, u);
}

/* Reads one float of every cache line of v[0, n): brings a tensor that a batch task reads as
 * dozens of short strided streams into the cache as one sequential stream (software prefetches
 * may be dropped when the memory system is busy; loads are not). */
static float touch(const float *v, int64_t n) {
  float acc = 0.0f;
  int64_t i;
  for (i = 0; i < n; i += 16) acc += v[i];
  return acc;
}

/* Image n's residual, and its input when it is not copied, read through once before its
 * units, which read them one short stream per channel: the hardware prefetchers do not follow
 * dozens of streams, and each read would wait on memory (in a whole model these tensors come
 * from memory, not from the cache). */
static void warm_image(const conv_ctx *c, int64_t n) {
  const tbn_conv_geom *g = c->g;
  const int64_t ylen = g->oc * g->out[0] * g->out[1], xlen = g->c * g->in[0] * g->in[1];
  volatile float sink = 0.0f;
  if (c->post.residual) sink += touch(c->post.residual + n * ylen, ylen);
  if (!c->p.copy) sink += touch(c->x + n * xlen, xlen);
  (void)sink;
}

/* Batch mode: task t runs whole images alone (its share of them), its copy buffer holding one
 * image at a time; its weight cache is filled when it gets its first image (a task that finds
 * every image taken expands nothing). */
static void batch_task(void *arg, size_t t) {
  const conv_ctx *all = (const conv_ctx *)arg;
  conv_ctx c = *all;
  const size_t per_image = all->units / (size_t)all->g->n;
  unit_scratch s;
  tbn_claim k = {0, 0, 0};
  size_t n, u;
  int cached = 0;
  c.xbase = c.w.xpad + (c.p.copy ? t * (size_t)c.p.xpad_len : 0);
  if (c.pool) c.y = c.w.conv_out + t * c.w.task_conv_out;
  unit_scratch_init(&c, t, &s);
  while (tbn_share_next(&all->share, t, &k, &n)) {
    if (c.p.wcache && !cached) {
      int64_t rows[TBN_EXP_ROWS], gr, cb;
      for (gr = 0; gr < c.g->group; gr++)
        for (cb = 0; cb < c.p.nchblk; cb++)
          expand(&c, rows, block_rows(&c, gr, cb, rows), s.wexp + (gr * c.p.nchblk + cb) * c.p.kx * TBN_EXP_ROWS);
      cached = 1;
    }
    c.n0 = (int64_t)n;
    warm_image(&c, (int64_t)n);
    if (c.p.copy) copy_image(&c, (int64_t)n, c.xbase, 0, c.g->c, 1, c.w.rowbuf + t * c.w.task_rowbuf);
    /* the unit caches hold blocks of the previous image's columns */
    s.have_col = -1;
    for (u = 0; u < per_image; u++) run_unit(&c, &s, u);
    if (c.pool) {
      const int64_t out_plane = c.pool->out[0] * c.pool->out[1];
      tbn_maxpool_planes(c.pool, c.y, c.pooled + (int64_t)n * c.g->oc * out_plane, 0, c.g->oc);
    }
  }
}

static tbn_status dense_conv(const tbn_matrix *m, const tbn_conv_geom *g, const float *x, const float *bias,
                             const tbn_epilogue *epi, float *y, void *ws, size_t ws_bytes, const tbn_parallel *par) {
  tbn_dense_args a;
  memset(&a, 0, sizeof a);
  a.x = x, a.rows = g->n * g->in[0] * g->in[1], a.y = y, a.alpha = 1.0f, a.beta = 1.0f, a.epi = epi;
  if (bias) a.c = bias, a.c_rows = 1, a.c_cols = g->oc;
  return tbn_dense_run(m, &a, ws, ws_bytes, par);
}

tbn_status tbn_conv_pool_run(const tbn_matrix *m, const tbn_conv_geom *g, const tbn_pool_geom *pool, const float *x,
                             const float *bias, const tbn_epilogue *epi, float *y, void *ws, size_t ws_bytes,
                             const tbn_parallel *par) {
  conv_ctx c;
  size_t need;
  tbn_arena a;
  int64_t kk, work, area;
  tbn_status s;
  if (!m || !g) return TBN_ERR_ARG;
  memset(&c, 0, sizeof c);
  c.tasks = tbn_tasks(par);
  s = tbn_conv_pool_workspace(m, g, pool, c.tasks, &need);
  if (s == TBN_OK) s = tbn_epilogue_check(epi, g->oc);
  if (s != TBN_OK) return s;
  if (g->n == 0) return TBN_OK;
  if (!x || !y || !ws || ws_bytes < need) return !ws || ws_bytes < need ? TBN_ERR_WORKSPACE : TBN_ERR_ARG;
  a.base = (unsigned char *)ws + ((64u - ((uintptr_t)ws & 63u)) & 63u), a.used = 0;
  conv_layout(m, g, pool, c.tasks, &a, &c.p, &c.w);
  if (c.p.dense) return dense_conv(m, g, x, bias, epi, y, ws, ws_bytes, par);
  c.m = m, c.g = g, c.x = x, c.y = pool ? c.w.conv_out : y, c.pool = pool, c.pooled = y;
  if (m->mode == TBN_MODE_OUT_REUSE) tbn_post_init(&c.post, epi, c.p.mk, g->oc, m->alpha, m->ro, 1.0f, bias, c.w.post);
  else tbn_post_init(&c.post, epi, c.p.mk, g->oc, 0, 1, 1.0f, bias, c.w.post);
  /* tap kk = (channel in group, kernel row, kernel column), row-major like W: the offsets of
   * one channel's taps, then the same shifted by a channel for the others (no division per tap) */
  area = g->k[0] * g->k[1];
  for (kk = 0; kk < area; kk++) {
    const int64_t dh = (kk / g->k[1]) * g->dil[0], dw = (kk % g->k[1]) * g->dil[1];
    if (c.p.use_col) c.w.off[kk] = dh * c.p.wph + dw;
    else c.w.off[kk] = ((dh % c.p.sh) * c.p.sw + dw % c.p.sw) * c.p.hph * c.p.wph + (dh / c.p.sh) * c.p.wph + dw / c.p.sw;
  }
  for (kk = area; kk < c.p.k; kk++) c.w.off[kk] = c.w.off[kk - area] + c.p.chan;
  for (kk = 0; kk < c.p.kx; kk++) c.w.coloff[kk] = kk * c.p.mk->conv_pb;
  c.units = (size_t)(g->n * g->group * c.p.nchblk * c.p.nposblk);
  if (!tbn_mul(g->n, c.p.image_work, &work)) work = INT64_MAX;
  if (c.p.batch) {
    c.tasks = tbn_tasks_for(par, (size_t)g->n, work);
    tbn_for_shared(par, &c.share, c.w.share, c.tasks, (size_t)g->n, batch_task, &c);
    return TBN_OK;
  }
  if (c.p.copy) {
    /* a copied float costs about as much as 8 multiply-accumulates (memory-bound) */
    c.tasks = tbn_tasks_for(par, (size_t)(g->n * g->c), 8 * g->n * g->c * c.p.chan);
    tbn_for(par, c.tasks, copy_task, &c);
    c.xbase = c.w.xpad;
  }
  c.tasks = tbn_tasks_for(par, c.units, work);
  tbn_for_shared(par, &c.share, c.w.share, c.tasks, c.units, unit_task, &c);
  return pool ? tbn_maxpool_run(pool, c.w.conv_out, y, par) : TBN_OK;
}

tbn_status tbn_conv_run(const tbn_matrix *m, const tbn_conv_geom *g, const float *x, const float *bias,
                        const tbn_epilogue *epi, float *y, void *ws, size_t ws_bytes, const tbn_parallel *par) {
  return tbn_conv_pool_run(m, g, 0, x, bias, epi, y, ws, ws_bytes, par);
}
