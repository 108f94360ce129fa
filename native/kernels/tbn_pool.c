/* tbn_pool.c — the MaxPool of TbnConvMaxPool, on the conv's output (NCHW float). Plain C: a
 * pool reads each value about once, so it runs at memory speed; the common 2×2 stride-2 window
 * is written as two passes over a pair of rows (plane_2x2). Tasks take runs of whole channel
 * planes. */
#include <float.h>

#include "tbn_internal.h"

/* Axis a's attributes: a kernel, stride and pads that make windows, each pad under the kernel
 * (a window of pads only would have no value). */
static tbn_status axis_attrs(const tbn_pool_geom *g, int a) {
  if (g->in[a] < 1 || g->k[a] < 1 || g->stride[a] < 1 || g->pad0[a] < 0 || g->pad1[a] < 0) return TBN_ERR_ATTR;
  if (g->in[a] > TBN_MAX_ELEMENTS || g->k[a] > TBN_MAX_ELEMENTS || g->stride[a] > TBN_MAX_ELEMENTS) return TBN_ERR_OVERFLOW;
  if (g->pad0[a] >= g->k[a] || g->pad1[a] >= g->k[a]) return TBN_ERR_ATTR;
  if (g->in[a] + g->pad0[a] + g->pad1[a] < g->k[a]) return TBN_ERR_SHAPE;
  return TBN_OK;
}

static tbn_status pool_axis(tbn_pool_geom *g, int a, int ceil_mode) {
  int64_t num, out;
  const tbn_status st = axis_attrs(g, a);
  if (st != TBN_OK) return st;
  num = g->in[a] + g->pad0[a] + g->pad1[a] - g->k[a];
  out = num / g->stride[a] + 1 + (ceil_mode && num % g->stride[a] != 0);
  /* the last window starts inside the input or its leading pad (onnx/onnx#5741) */
  if (ceil_mode && (out - 1) * g->stride[a] >= g->in[a] + g->pad0[a]) out--;
  g->out[a] = out;
  return TBN_OK;
}

tbn_status tbn_pool_check(const tbn_pool_geom *g) {
  int a;
  int64_t t;
  if (!g) return TBN_ERR_ARG;
  if (g->n < 0 || g->c < 1) return TBN_ERR_SHAPE;
  for (a = 0; a < 2; a++) {
    const tbn_status st = axis_attrs(g, a);
    if (st != TBN_OK) return st;
    /* every window starts inside the input or its leading pad, and none starts past the end */
    if (g->out[a] < 1 || g->out[a] - 1 > (g->in[a] + g->pad0[a] - 1) / g->stride[a]) return TBN_ERR_SHAPE;
  }
  if (!tbn_mul(g->n, g->c, &t) || !tbn_mul(t, g->in[0], &t) || !tbn_mul(t, g->in[1], &t)) return TBN_ERR_OVERFLOW;
  if (!tbn_mul(g->n, g->c, &t) || !tbn_mul(t, g->out[0], &t) || !tbn_mul(t, g->out[1], &t)) return TBN_ERR_OVERFLOW;
  return TBN_OK;
}

tbn_status tbn_pool_geometry(int spatial, const int64_t *x_shape, const int64_t *kernel, const int64_t *strides,
                             const int64_t *pads, int ceil_mode, tbn_pool_geom *g) {
  int s, a;
  tbn_status st;
  if (!x_shape || !kernel || !g || (spatial != 1 && spatial != 2) || (ceil_mode != 0 && ceil_mode != 1)) return TBN_ERR_ARG;
  g->n = x_shape[0], g->c = x_shape[1];
  if (g->n < 0 || g->c < 1) return TBN_ERR_SHAPE;
  for (a = 0; a < 2; a++) g->in[a] = g->k[a] = g->stride[a] = 1, g->pad0[a] = g->pad1[a] = 0, g->out[a] = 1;
  for (s = 0; s < spatial; s++) {
    a = s + 2 - spatial;
    g->in[a] = x_shape[2 + s], g->k[a] = kernel[s];
    if (strides) g->stride[a] = strides[s];
    if (pads) g->pad0[a] = pads[s], g->pad1[a] = pads[spatial + s];
  }
  for (a = 0; a < 2; a++) {
    st = pool_axis(g, a, ceil_mode);
    if (st != TBN_OK) return st;
  }
  return tbn_pool_check(g);
}

typedef struct pool_ctx {
  const tbn_pool_geom *g;
  const float *x;
  float *y;
  size_t tasks;
} pool_ctx;

/* The running max of a window, in row-major order from -FLT_MAX: a NaN never replaces it, and
 * of equal values (+0 and −0) the first stays. Every path and the CUDA kernel take a window's
 * values in this order, so they give the same bits. */
static inline float max_step(float m, float v) { return v > m ? v : m; }

/* 2×2, stride 2, no pads: the first row's pair of each window over the whole row, then the
 * second row's pair on top (the general path's order, in two passes the compiler vectorises). */
static void plane_2x2(const tbn_pool_geom *g, const float *x, float *y) {
  const int64_t w = g->in[1], ow = g->out[1];
  float top[64];
  int64_t i, j, j0;
  for (i = 0; i < g->out[0]; i++) {
    const float *r0 = x + 2 * i * w, *r1 = r0 + w;
    float *d = y + i * ow;
    for (j0 = 0; j0 < ow; j0 += 64) {
      const int64_t n = ow - j0 < 64 ? ow - j0 : 64;
      const float *a = r0 + 2 * j0, *b = r1 + 2 * j0;
      for (j = 0; j < n; j++) top[j] = max_step(max_step(-FLT_MAX, a[2 * j]), a[2 * j + 1]);
      for (j = 0; j < n; j++) d[j0 + j] = max_step(max_step(top[j], b[2 * j]), b[2 * j + 1]);
    }
  }
}

static void plane_general(const tbn_pool_geom *g, const float *x, float *y) {
  int64_t oh, ow, h, w;
  for (oh = 0; oh < g->out[0]; oh++) {
    const int64_t h0 = oh * g->stride[0] - g->pad0[0];
    const int64_t hs = h0 < 0 ? 0 : h0, he = h0 + g->k[0] < g->in[0] ? h0 + g->k[0] : g->in[0];
    for (ow = 0; ow < g->out[1]; ow++) {
      const int64_t w0 = ow * g->stride[1] - g->pad0[1];
      const int64_t ws = w0 < 0 ? 0 : w0, we = w0 + g->k[1] < g->in[1] ? w0 + g->k[1] : g->in[1];
      float m = -FLT_MAX;
      for (h = hs; h < he; h++)
        for (w = ws; w < we; w++) m = max_step(m, x[h * g->in[1] + w]);
      y[oh * g->out[1] + ow] = m;
    }
  }
}

void tbn_maxpool_planes(const tbn_pool_geom *g, const float *x, float *y, int64_t p0, int64_t p1) {
  const int64_t in_plane = g->in[0] * g->in[1], out_plane = g->out[0] * g->out[1];
  const int fast = g->k[0] == 2 && g->k[1] == 2 && g->stride[0] == 2 && g->stride[1] == 2 && g->pad0[0] == 0 &&
                   g->pad0[1] == 0 && 2 * g->out[0] <= g->in[0] && 2 * g->out[1] <= g->in[1];
  int64_t u;
  for (u = p0; u < p1; u++) {
    if (fast) plane_2x2(g, x + u * in_plane, y + u * out_plane);
    else plane_general(g, x + u * in_plane, y + u * out_plane);
  }
}

static void pool_task(void *arg, size_t t) {
  const pool_ctx *c = (const pool_ctx *)arg;
  size_t u0, u1;
  range_of(t, c->tasks, (size_t)(c->g->n * c->g->c), &u0, &u1);
  tbn_maxpool_planes(c->g, c->x, c->y, (int64_t)u0, (int64_t)u1);
}

tbn_status tbn_maxpool_run(const tbn_pool_geom *g, const float *x, float *y, const tbn_parallel *par) {
  pool_ctx c;
  int64_t planes, work;
  const tbn_status st = tbn_pool_check(g);
  if (st != TBN_OK) return st;
  planes = g->n * g->c;
  if (planes == 0) return TBN_OK;
  if (!x || !y) return TBN_ERR_ARG;
  /* a value compared costs about as little as a multiply-add: one unit of task work each */
  if (!tbn_mul(planes, g->in[0] * g->in[1], &work)) work = INT64_MAX;
  c.g = g, c.x = x, c.y = y;
  c.tasks = tbn_tasks_for(par, (size_t)planes, work);
  tbn_for(par, c.tasks, pool_task, &c);
  return TBN_OK;
}
