// conv.cc — convolution (1-D to 3-D, groups, strides, pads, dilations) as im2col + GEMM, the
// three passes of training:
//   forward      y[n,g] = W[g] · cols(x[n,g])                  per (image chunk, group), in parallel
//   data         dx[n,g] = col2im(W[g]ᵀ · dy[n,g])             per (image chunk, group), in parallel
//   filter       dW[g] = Σ_n dy[n,g] · cols(x[n,g])ᵀ           long-k GEMMs over image chunks, in lanes
// Small feature maps put several images side by side in one GEMM (≥ 256 columns), so the
// microkernel's tiles are not mostly padding; a 1×1 kernel with unit strides and no padding
// reads x directly. The filter pass lays the images side by side too, so its GEMM runs over
// N·P columns at once. Chunks are sized from the shapes alone, so the summation order — and
// the result — does not depend on the thread count.
#include <cstring>
#include <memory>
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"

namespace tbn {

namespace {

struct Geo {
  int64_t D, H, W, KD, KH, KW, OD, OH, OW, sd, sh, sw, pd, ph, pw, dd, dh, dw;
  int64_t isp, osp, kvol;
};

Geo geo3(const ConvGeom &g) {
  if (g.rank < 1 || g.rank > 3) fail("conv: 1 to 3 spatial dimensions");
  int64_t v[6][3];
  const int64_t *src[6] = {g.in, g.kernel, g.out, g.stride, g.pad, g.dil};
  for (int a = 0; a < 6; a++) {
    const int64_t fill = a == 4 ? 0 : 1;
    for (int i = 0; i < 3; i++) v[a][i] = i < 3 - g.rank ? fill : src[a][i - (3 - g.rank)];
  }
  for (int i = 0; i < 3; i++) {
    if (v[0][i] < 1 || v[1][i] < 1 || v[2][i] < 1) fail("conv: spatial sizes must be ≥ 1");
    if (v[3][i] < 1 || v[5][i] < 1) fail("conv: strides and dilations must be ≥ 1");
    if (v[4][i] < -(int64_t(1) << 31) || v[4][i] > (int64_t(1) << 31)) fail("conv: padding out of range");
    if (v[0][i] > (int64_t(1) << 31) || v[1][i] > (int64_t(1) << 31) || v[2][i] > (int64_t(1) << 31) ||
        v[3][i] > (int64_t(1) << 31) || v[5][i] > (int64_t(1) << 31))
      fail("conv: geometry out of range");
  }
  Geo G{v[0][0], v[0][1], v[0][2], v[1][0], v[1][1], v[1][2], v[2][0], v[2][1], v[2][2], v[3][0], v[3][1], v[3][2],
        v[4][0], v[4][1], v[4][2], v[5][0], v[5][1], v[5][2], 0, 0, 0};
  G.isp = numel(v[0], 3, "conv");
  G.osp = numel(v[2], 3, "conv");
  G.kvol = numel(v[1], 3, "conv");
  return G;
}

struct Layout {
  Geo g;
  int64_t cg, og, K;
  bool direct;
};

Layout layout(const ConvGeom &c, const Buf &x, const Buf &w, const Buf &y, const char *op, const char *xn,
              const char *yn) {
  x.f32(op);
  w.f32(op);
  y.f32(op);
  if (c.batch < 0 || c.in_c < 1 || c.out_c < 1 || c.group < 1) fail(std::string(op) + ": invalid channel counts");
  if (c.in_c % c.group || c.out_c % c.group) fail(std::string(op) + ": group does not divide the channels");
  Layout L{geo3(c), c.in_c / c.group, c.out_c / c.group, 0, false};
  L.K = mul_checked(L.cg, L.g.kvol, op);
  need_size(x, mul_checked(mul_checked(c.batch, c.in_c, op), L.g.isp, op), op, xn);
  need_size(w, mul_checked(c.out_c, L.K, op), op, "weight");
  need_size(y, mul_checked(mul_checked(c.batch, c.out_c, op), L.g.osp, op), op, yn);
  const Geo &g = L.g;
  L.direct = g.kvol == 1 && g.sd * g.sh * g.sw == 1 && g.pd == 0 && g.ph == 0 && g.pw == 0 && g.isp == g.osp;
  return L;
}

/** [lo, hi) of output positions whose input coordinate o·s + off falls inside [0, len). */
inline void valid_range(int64_t off, int64_t s, int64_t len, int64_t outs, int64_t &lo, int64_t &hi) {
  lo = off < 0 ? (-off + s - 1) / s : 0;
  const int64_t t = len - 1 - off;
  hi = t < 0 ? 0 : t / s + 1;
  if (hi > outs) hi = outs;
  if (lo > outs) lo = outs;
  if (hi < lo) hi = lo;
}

/**
 * cols[r·ld + (od·OH + oh)·OW + ow] = x[c, id, ih, iw] (0 outside) for r = (c, kd, kh, kw); or,
 * with `reverse`, x[…] += cols[…] (col2im). x points at the first of `channels` channels.
 */
void im2col(float *x, int64_t channels, const Geo &g, float *cols, int64_t ld, bool reverse) {
  int64_t r = 0;
  for (int64_t c = 0; c < channels; c++) {
    for (int64_t kd = 0; kd < g.KD; kd++) {
      for (int64_t kh = 0; kh < g.KH; kh++) {
        for (int64_t kw = 0; kw < g.KW; kw++, r++) {
          const int64_t off = kw * g.dw - g.pw;
          int64_t lo, hi;
          valid_range(off, g.sw, g.W, g.OW, lo, hi);
          float *row = cols + r * ld;
          for (int64_t od = 0; od < g.OD; od++) {
            const int64_t id = od * g.sd - g.pd + kd * g.dd;
            for (int64_t oh = 0; oh < g.OH; oh++) {
              const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
              float *o = row + (od * g.OH + oh) * g.OW;
              const bool inside = id >= 0 && id < g.D && ih >= 0 && ih < g.H;
              if (reverse) {
                if (!inside) continue;
                float *src = x + ((c * g.D + id) * g.H + ih) * g.W + off;
                for (int64_t ow = lo; ow < hi; ow++) src[ow * g.sw] += o[ow];
                continue;
              }
              if (!inside) {
                std::memset(o, 0, sizeof(float) * g.OW);
                continue;
              }
              const float *src = x + ((c * g.D + id) * g.H + ih) * g.W + off;
              for (int64_t ow = 0; ow < lo; ow++) o[ow] = 0.f;
              if (g.sw == 1) {
                std::memcpy(o + lo, src + lo, sizeof(float) * (hi - lo));
              } else {
                for (int64_t ow = lo; ow < hi; ow++) o[ow] = src[ow * g.sw];
              }
              for (int64_t ow = hi; ow < g.OW; ow++) o[ow] = 0.f;
            }
          }
        }
      }
    }
  }
}

thread_local std::vector<float> t_cols;
thread_local std::vector<float> t_mat;
thread_local std::vector<float> t_partial;  // the calling thread's filter-gradient lanes (kept warm)

/** Images per GEMM: enough that the product is ≥ ~256 columns wide (small feature maps). */
int64_t images_per_gemm(const ConvGeom &c, const Geo &g) {
  int64_t n = (256 + g.osp - 1) / g.osp;
  return n < 1 ? 1 : n > c.batch ? (c.batch < 1 ? 1 : c.batch) : n;
}

/**
 * Runs body(group, first image, image count) over every (group, image chunk): in parallel when
 * there are enough chunks, else serially (the GEMM inside then uses the pool).
 */
template <class F>
void per_chunk(const ConvGeom &c, int64_t per, F &&body) {
  const int64_t chunks = (c.batch + per - 1) / per;
  const int64_t tasks = chunks * c.group;
  auto run = [&](int64_t t) {
    const int64_t gr = t % c.group, n0 = (t / c.group) * per;
    body(gr, n0, c.batch - n0 < per ? c.batch - n0 : per);
  };
  if (pool_threads() > 1 && tasks >= pool_threads()) {
    parallel_for(tasks, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; t++) run(t);
    });
  } else {
    for (int64_t t = 0; t < tasks; t++) run(t);
  }
}

}  // namespace

void conv_forward(const Buf &x, const Buf &w, const Buf &y, const ConvGeom &c) {
  const Layout L = layout(c, x, w, y, "conv", "input", "output");
  const Geo &g = L.g;
  float *px = static_cast<float *>(x.data);
  const float *pw = static_cast<const float *>(w.data);
  float *py = static_cast<float *>(y.data);
  per_chunk(c, images_per_gemm(c, g), [&](int64_t gr, int64_t n0, int64_t cnt) {
    const int64_t ld = cnt * g.osp;
    GemmArgs a;
    a.m = L.og;
    a.n = ld;
    a.k = L.K;
    a.a = pw + gr * L.og * L.K;
    a.a_rs = L.K;
    a.a_cs = 1;
    a.b_cs = 1;
    float *x0 = px + (n0 * c.in_c + gr * L.cg) * g.isp;
    float *y0 = py + (n0 * c.out_c + gr * L.og) * g.osp;
    if (cnt == 1 && L.direct) {
      a.b = x0;
      a.b_rs = g.isp;
    } else {
      float *cols = scratch(t_cols, L.K * ld);
      for (int64_t i = 0; i < cnt; i++) im2col(x0 + i * c.in_c * g.isp, L.cg, g, cols + i * g.osp, ld, false);
      a.b = cols;
      a.b_rs = ld;
    }
    a.c = cnt == 1 ? y0 : scratch(t_mat, L.og * ld);
    a.c_rs = cnt == 1 ? g.osp : ld;
    gemm(a);
    if (cnt > 1) {
      for (int64_t i = 0; i < cnt; i++)
        for (int64_t m = 0; m < L.og; m++)
          std::memcpy(y0 + (i * c.out_c + m) * g.osp, a.c + m * ld + i * g.osp, sizeof(float) * g.osp);
    }
  });
}

void conv_backward_data(const Buf &dy, const Buf &w, const Buf &dx, const ConvGeom &c) {
  const Layout L = layout(c, dx, w, dy, "convBackwardData", "input gradient", "output gradient");
  const Geo &g = L.g;
  const float *pdy = static_cast<const float *>(dy.data);
  const float *pw = static_cast<const float *>(w.data);
  float *pdx = static_cast<float *>(dx.data);
  per_chunk(c, images_per_gemm(c, g), [&](int64_t gr, int64_t n0, int64_t cnt) {
    const int64_t ld = cnt * g.osp;
    float *dx0 = pdx + (n0 * c.in_c + gr * L.cg) * g.isp;
    const float *dy0 = pdy + (n0 * c.out_c + gr * L.og) * g.osp;
    GemmArgs a;
    a.m = L.K;
    a.n = ld;
    a.k = L.og;
    a.a = pw + gr * L.og * L.K;
    a.a_rs = 1;
    a.a_cs = L.K;
    a.b_cs = 1;
    if (cnt == 1) {
      a.b = dy0;
      a.b_rs = g.osp;
    } else {
      float *m = scratch(t_mat, L.og * ld);
      for (int64_t i = 0; i < cnt; i++)
        for (int64_t o = 0; o < L.og; o++)
          std::memcpy(m + o * ld + i * g.osp, dy0 + (i * c.out_c + o) * g.osp, sizeof(float) * g.osp);
      a.b = m;
      a.b_rs = ld;
    }
    const bool straight = cnt == 1 && L.direct;
    a.c = straight ? dx0 : scratch(t_cols, L.K * ld);
    a.c_rs = straight ? g.isp : ld;
    gemm(a);
    if (!straight) {
      for (int64_t i = 0; i < cnt; i++) {
        float *dxi = dx0 + i * c.in_c * g.isp;
        std::memset(dxi, 0, sizeof(float) * L.cg * g.isp);
        im2col(dxi, L.cg, g, a.c + i * g.osp, ld, true);
      }
    }
  });
}

void conv_backward_filter(const Buf &x, const Buf &dy, const Buf &dw, const ConvGeom &c) {
  const Layout L = layout(c, x, dw, dy, "convBackwardFilter", "input", "output gradient");
  const Geo &g = L.g;
  float *px = static_cast<float *>(x.data);
  const float *pdy = static_cast<const float *>(dy.data);
  float *pdw = static_cast<float *>(dw.data);
  const int64_t wsize = c.out_c * L.K;
  if (c.batch == 0) {
    std::memset(pdw, 0, sizeof(float) * wsize);
    return;
  }
  // Images per chunk: about 256K floats of columns (an L2-sized block). Chunks are dealt to at
  // most kLanes lanes (chunk i to lane i mod lanes); each lane accumulates its chunks into its
  // own partial dW and the partials are summed in lane order. All of it is fixed by the shapes,
  // so the result does not depend on the thread count, while the lanes run in parallel with no
  // product packed twice.
  constexpr int64_t kLanes = 8;
  const int64_t per_image = L.K * g.osp > 0 ? L.K * g.osp : 1;
  int64_t chunk = (int64_t(256) << 10) / per_image;
  if (chunk < 1) chunk = 1;
  if (chunk > c.batch) chunk = c.batch;
  const int64_t chunks = (c.batch + chunk - 1) / chunk;
  const int64_t lanes = chunks < kLanes ? chunks : kLanes;
  // With fewer kernel taps than filters (a first layer), the product is taken transposed
  // (dWᵀ = cols · dyᵀ) so the microkernel's wide side runs over the filters.
  const bool transposed = L.K < L.og;
  float *const partial = lanes > 1 || transposed ? scratch(t_partial, lanes * wsize) : nullptr;
  parallel_for(lanes * c.group, 1, [&](int64_t b, int64_t e) {
    for (int64_t task = b; task < e; task++) {
      const int64_t lane = task / c.group, gr = task % c.group;
      float *cols = scratch(t_cols, chunk * per_image);
      float *dyt = scratch(t_mat, chunk * L.og * g.osp);
      // This lane's dW of group gr: [og × K], or [K × og] when transposed.
      float *out = partial ? partial + lane * wsize + gr * L.og * L.K : pdw + gr * L.og * L.K;
      for (int64_t ci = lane, first = 1; ci < chunks; ci += lanes, first = 0) {
        const int64_t n0 = ci * chunk, cnt = c.batch - n0 < chunk ? c.batch - n0 : chunk;
        const int64_t ld = cnt * g.osp;
        for (int64_t i = 0; i < cnt; i++) {
          im2col(px + ((n0 + i) * c.in_c + gr * L.cg) * g.isp, L.cg, g, cols + i * g.osp, ld, false);
          for (int64_t m = 0; m < L.og; m++)
            std::memcpy(dyt + m * ld + i * g.osp, pdy + ((n0 + i) * c.out_c + gr * L.og + m) * g.osp, sizeof(float) * g.osp);
        }
        GemmArgs a;
        a.k = ld;
        a.m = transposed ? L.K : L.og;  // dW (+)= dyT · colsᵀ, or dWᵀ (+)= cols · dyTᵀ
        a.n = transposed ? L.og : L.K;
        a.a = transposed ? cols : dyt;
        a.b = transposed ? dyt : cols;
        a.a_rs = ld;
        a.a_cs = 1;
        a.b_rs = 1;
        a.b_cs = ld;
        a.c = out;
        a.c_rs = a.n;
        a.accumulate = !first;
        gemm(a);
      }
    }
  });
  if (!partial) return;
  // dW = Σ_lane partial (transposed back where the product was), in lane order; by filter rows.
  const int64_t rows = c.group * L.og;
  parallel_for(rows, grain_for(rows, L.K >= 4096 ? 1 : 4096 / L.K + 1), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; row++) {
      const int64_t gr = row / L.og, m = row % L.og;
      const float *src = partial + gr * L.og * L.K + (transposed ? m : m * L.K);
      const int64_t step = transposed ? L.og : 1;
      float *dst = pdw + row * L.K;
      for (int64_t r = 0; r < L.K; r++) dst[r] = src[r * step];
      for (int64_t l = 1; l < lanes; l++) {
        const float *lp = src + l * wsize;
        for (int64_t r = 0; r < L.K; r++) dst[r] += lp[r * step];
      }
    }
  });
}

}  // namespace tbn
