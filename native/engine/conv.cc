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

#include "cpu.h"
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
 * col2im: x[c, id, ih, iw] += cols[r·ld + (od·OH + oh)·OW + ow] for r = (c, kd, kh, kw), over
 * the positions inside x. x points at the first of `channels` channels. (The forward im2col
 * matrix is never stored: the GEMM reads it panel by panel, below.)
 */
void col2im_add(float *x, int64_t channels, const Geo &g, const float *cols, int64_t ld) {
  int64_t r = 0;
  for (int64_t c = 0; c < channels; c++) {
    for (int64_t kd = 0; kd < g.KD; kd++) {
      for (int64_t kh = 0; kh < g.KH; kh++) {
        for (int64_t kw = 0; kw < g.KW; kw++, r++) {
          const int64_t off = kw * g.dw - g.pw;
          int64_t lo, hi;
          valid_range(off, g.sw, g.W, g.OW, lo, hi);
          const float *row = cols + r * ld;
          for (int64_t od = 0; od < g.OD; od++) {
            const int64_t id = od * g.sd - g.pd + kd * g.dd;
            for (int64_t oh = 0; oh < g.OH; oh++) {
              const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
              if (id < 0 || id >= g.D || ih < 0 || ih >= g.H) continue;
              const float *o = row + (od * g.OH + oh) * g.OW;
              // off may be negative: index from the row start, never a pointer before x.
              float *dst = x + ((c * g.D + id) * g.H + ih) * g.W;
              for (int64_t ow = lo; ow < hi; ow++) dst[off + ow * g.sw] += o[ow];
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

/**
 * Images per GEMM: enough that the product is ≥ ~256 columns wide (small feature maps), evened
 * out over the chunks that makes (8 images at 6 per GEMM become 4 + 4, not 6 + 2).
 */
int64_t images_per_gemm(int64_t batch, int64_t osp) {
  if (batch < 1) return 1;
  int64_t n = (256 + osp - 1) / osp;
  if (n > batch) n = batch;
  const int64_t chunks = (batch + n - 1) / n;
  return (batch + chunks - 1) / chunks;
}

/**
 * Runs body(group, first image, image count) over every (group, image chunk): in parallel when
 * there are enough chunks, else serially (the GEMM inside then uses the pool).
 */
template <class F>
void per_chunk(int64_t batch, int64_t group, int64_t per, F &&body) {
  const int64_t chunks = (batch + per - 1) / per;
  const int64_t tasks = chunks * group;
  auto run = [&](int64_t t) {
    const int64_t gr = t % group, n0 = (t / group) * per;
    body(gr, n0, batch - n0 < per ? batch - n0 : per);
  };
  if (pool_threads() > 1 && tasks >= pool_threads()) {
    parallel_for(tasks, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; t++) run(t);
    });
  } else {
    for (int64_t t = 0; t < tasks; t++) run(t);
  }
}

/**
 * The im2col matrix of a forward convolution, produced panel by panel as the GEMM asks for it
 * (gemm.h PanelFn) and never stored: row p = (c, kd, kh, kw) of the kernel taps, column
 * j = (image, od, oh, ow) over consecutive images. The input of one image stays in cache while
 * its columns are packed, instead of a K × P copy going out to memory and back.
 */
struct ImplicitCols {
  const float *x;        // the group's first channel in the chunk's first image
  int64_t image_stride;  // floats from one image to the next
  const Geo *g;
};

thread_local std::vector<float> t_row;


/** dst[q·stride] = row[q·NR … q·NR + NR) for each panel q (a fixed size, so the copies inline). */
template <int NR>
void spread_panels(const float *row, int64_t panels, float *dst, int64_t stride) {
  for (int64_t q = 0; q < panels; q++) std::memcpy(dst + q * stride, row + q * NR, sizeof(float) * NR);
}

/** out[0 … len) = row p of the im2col matrix, columns j0 … j0 + len. */
/** A stride-1 2-D (or 1-D) convolution whose output has its input's size ("same" padding). */
bool same_size_plane(const Geo &g) {
  return g.D == 1 && g.KD == 1 && g.OD == 1 && g.sh == 1 && g.sw == 1 && g.OH == g.H && g.OW == g.W;
}

/**
 * fill_cols_row for same_size_plane: the row of tap (kh, kw) is the channel plane shifted by
 * delta = (kh·dh − ph)·W + kw·dw − pw, so each image's part is one block copy; then the output
 * rows that read above or below the plane, and the columns that wrapped around a row edge, are
 * zeroed.
 */
inline __attribute__((always_inline)) void fill_shifted_plane(const float *plane0, int64_t image_stride, const Geo &g, int64_t kh, int64_t kw, int64_t j0,
                        int64_t len, float *__restrict out) {
  const int64_t off = kw * g.dw - g.pw, dh = kh * g.dh - g.ph, delta = dh * g.W + off;
  int64_t lo, hi;
  valid_range(off, 1, g.W, g.OW, lo, hi);
  const int64_t row_lo = dh < 0 ? -dh : 0, row_hi = g.H - dh < g.OH ? (g.H - dh > 0 ? g.H - dh : 0) : g.OH;
  for (int64_t j = j0, end = j0 + len; j < end;) {
    const int64_t img = j / g.osp, s_a = j % g.osp, s_b = end - j < g.osp - s_a ? s_a + (end - j) : g.osp;
    float *o = out + (j - j0) - s_a;  // o[s] is spatial position s of this image
    const float *x = plane0 + img * image_stride;
    // The block copy, kept inside the plane: positions before or after it are zeroed below.
    int64_t c_a = s_a > row_lo * g.OW ? s_a : row_lo * g.OW, c_b = s_b < row_hi * g.OW ? s_b : row_hi * g.OW;
    if (c_a < -delta) c_a = -delta;
    if (c_b > g.osp - delta) c_b = g.osp - delta;
    if (c_b < c_a) c_b = c_a;
    for (int64_t s = s_a; s < c_a && s < s_b; s++) o[s] = 0.f;
    for (int64_t s = c_a; s < c_b; s++) o[s] = x[s + delta];
    for (int64_t s = c_b > s_a ? c_b : s_a; s < s_b; s++) o[s] = 0.f;
    if (lo > 0 || hi < g.OW) {
      for (int64_t r = s_a / g.OW; r * g.OW < s_b; r++) {
        const int64_t r0 = r * g.OW;
        for (int64_t q = 0; q < lo; q++)
          if (r0 + q >= s_a && r0 + q < s_b) o[r0 + q] = 0.f;
        for (int64_t q = hi; q < g.OW; q++)
          if (r0 + q >= s_a && r0 + q < s_b) o[r0 + q] = 0.f;
      }
    }
    j += s_b - s_a;
  }
}

TBN_WIDE void fill_cols_row(const ImplicitCols &ic, int64_t p, int64_t j0, int64_t len, float *out) {
  const Geo &g = *ic.g;
  const int64_t c = p / g.kvol, t = p % g.kvol;
  const int64_t kd = t / (g.KH * g.KW), kh = t / g.KW % g.KH, kw = t % g.KW;
  if (same_size_plane(g)) return fill_shifted_plane(ic.x + c * g.isp, ic.image_stride, g, kh, kw, j0, len, out);
  const int64_t off = kw * g.dw - g.pw;
  int64_t lo, hi;
  valid_range(off, g.sw, g.W, g.OW, lo, hi);
  // One output row (fixed image, od, oh) at a time.
  const int64_t s0 = j0 % g.osp;
  int64_t img = j0 / g.osp, ow = s0 % g.OW, oh = s0 / g.OW % g.OH, od = s0 / (g.OW * g.OH);
  for (float *end = out + len; out < end;) {
    const int64_t n = g.OW - ow < end - out ? g.OW - ow : end - out;
    const int64_t id = od * g.sd - g.pd + kd * g.dd, ih = oh * g.sh - g.ph + kh * g.dh;
    int64_t a = lo > ow ? lo : ow, b = hi < ow + n ? hi : ow + n;
    const bool inside = id >= 0 && id < g.D && ih >= 0 && ih < g.H && a < b;
    if (!inside) a = b = ow;
    const float *__restrict src = inside ? ic.x + img * ic.image_stride + ((c * g.D + id) * g.H + ih) * g.W + off : nullptr;
    float *__restrict o = out - ow;  // o[q] is output column q of this row
    for (int64_t q = ow; q < a; q++) o[q] = 0.f;
    if (g.sw == 1)
      for (int64_t q = a; q < b; q++) o[q] = src[q];
    else
      for (int64_t q = a; q < b; q++) o[q] = src[q * g.sw];
    for (int64_t q = b; q < ow + n; q++) o[q] = 0.f;
    out += n;
    ow += n;
    if (ow == g.OW) {
      ow = 0;
      if (++oh == g.OH) {
        oh = 0;
        if (++od == g.OD) od = 0, img++;
      }
    }
  }
}

/** The shifted-plane view of one kernel tap over a same_size_plane input (fill_shifted_plane). */
struct ShiftedTap {
  int64_t plane;         // offset of the tap's channel plane in an image
  int64_t delta;         // source = spatial position + delta
  int64_t row_lo, row_hi;  // output rows whose source row is inside the plane
  int64_t lo, hi;          // output columns whose source column is inside the row
};

thread_local std::vector<ShiftedTap> t_taps;

ShiftedTap shifted_tap(const Geo &g, int64_t p) {
  const int64_t c = p / g.kvol, t = p % g.kvol, kh = t / g.KW, kw = t % g.KW;
  const int64_t off = kw * g.dw - g.pw, dh = kh * g.dh - g.ph;
  ShiftedTap s{c * g.isp, dh * g.W + off, dh < 0 ? -dh : 0, g.H - dh < g.OH ? (g.H - dh > 0 ? g.H - dh : 0) : g.OH, 0, 0};
  valid_range(off, 1, g.W, g.OW, s.lo, s.hi);
  return s;
}

/**
 * pack_implicit_cols for same_size_plane geometry, one panel at a time so that its kc × NR
 * floats are written in order: each row of a panel is NR consecutive positions of one image,
 * copied as a block from the shifted plane, then the positions whose source fell outside a row
 * (a column that wrapped around) are zeroed. Panels that cross an image or the plane's top or
 * bottom edge take the per-element route.
 */
template <int NR>
TBN_WIDE void pack_shifted_panels(const ImplicitCols &ic, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float *dst) {
  const Geo &g = *ic.g;
  std::vector<ShiftedTap> &taps = t_taps;
  taps.resize(static_cast<size_t>(kc));
  for (int64_t r = 0; r < kc; r++) taps[static_cast<size_t>(r)] = shifted_tap(g, p0 + r);
  for (int64_t j = 0; j < nc; j += NR, dst += kc * NR) {
    const int64_t cols = nc - j < NR ? nc - j : NR;
    const int64_t first = j0 + j, img = first / g.osp, s0 = first % g.osp;
    const bool one_image = s0 + NR <= g.osp && cols == NR;
    const float *x = ic.x + img * ic.image_stride;
    const int64_t oh_a = s0 / g.OW, oh_b = (s0 + NR - 1) / g.OW;
    for (int64_t r = 0; r < kc; r++) {
      const ShiftedTap &t = taps[static_cast<size_t>(r)];
      float *d = dst + r * NR;
      const int64_t src0 = s0 + t.delta;
      if (one_image && oh_a >= t.row_lo && oh_b < t.row_hi && src0 >= 0 && src0 + NR <= g.osp) {
        std::memcpy(d, x + t.plane + src0, sizeof(float) * NR);
        if (t.lo > 0 || t.hi < g.OW) {
          for (int64_t row = oh_a; row <= oh_b; row++) {
            const int64_t base = row * g.OW - s0;
            for (int64_t q = 0; q < t.lo; q++)
              if (base + q >= 0 && base + q < NR) d[base + q] = 0.f;
            for (int64_t q = t.hi; q < g.OW; q++)
              if (base + q >= 0 && base + q < NR) d[base + q] = 0.f;
          }
        }
        continue;
      }
      for (int64_t i = 0; i < NR; i++) {
        if (i >= cols) {
          d[i] = 0.f;
          continue;
        }
        const int64_t col = first + i, s = col % g.osp, oh = s / g.OW, ow = s % g.OW;
        const bool in = oh >= t.row_lo && oh < t.row_hi && ow >= t.lo && ow < t.hi;
        d[i] = in ? ic.x[(col / g.osp) * ic.image_stride + t.plane + s + t.delta] : 0.f;
      }
    }
  }
}

/** PanelFn of B = the im2col matrix (B(p, j) = row p, column j): the forward product. */
void pack_implicit_cols(const void *ctx, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float *dst) {
  const ImplicitCols &ic = *static_cast<const ImplicitCols *>(ctx);
  if (same_size_plane(*ic.g) && (nr == 32 || nr == 16)) {
    if (nr == 32) pack_shifted_panels<32>(ic, p0, kc, j0, nc, dst);
    else pack_shifted_panels<16>(ic, p0, kc, j0, nc, dst);
    return;
  }
  const int64_t panels = (nc + nr - 1) / nr;
  float *row = scratch(t_row, panels * nr);
  for (int64_t j = nc; j < panels * nr; j++) row[j] = 0.f;
  for (int64_t p = p0; p < p0 + kc; p++) {
    fill_cols_row(ic, p, j0, nc, row);
    float *d = dst + (p - p0) * nr;
    switch (nr) {
      case 32: spread_panels<32>(row, panels, d, kc * nr); break;
      case 16: spread_panels<16>(row, panels, d, kc * nr); break;
      default:
        for (int64_t q = 0; q < panels; q++) std::memcpy(d + q * kc * nr, row + q * nr, sizeof(float) * nr);
    }
  }
}

/**
 * PanelFn of B = the im2col matrix transposed (B(p, j) = row j, column p): the filter gradient
 * dW = dyᵀ-rows · colsᵀ. Each panel's nr rows are filled over the k block, then transposed
 * into place by the kernel path's own packer.
 */
void pack_implicit_cols_t(const void *ctx, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float *dst) {
  const ImplicitCols &ic = *static_cast<const ImplicitCols *>(ctx);
  const MicroKernel &uk = micro_kernel();
  float *rows = scratch(t_row, nr * kc);
  for (int64_t j = 0; j < nc; j += nr, dst += kc * nr) {
    const int64_t cols = nc - j < nr ? nc - j : nr;
    for (int64_t t = 0; t < cols; t++) fill_cols_row(ic, j0 + j + t, p0, kc, rows + t * kc);
    uk.pack_b(rows, 1, kc, cols, kc, dst);
  }
}

/** y = conv(x, w) for validated operands (also the stride-1 data gradient, on flipped weights). */
void forward_core(const float *px, const float *pw, float *py, int64_t batch, int64_t in_c, int64_t out_c,
                  int64_t group, const Layout &L) {
  const Geo &g = L.g;
  per_chunk(batch, group, images_per_gemm(batch, g.osp), [&](int64_t gr, int64_t n0, int64_t cnt) {
    const int64_t ld = cnt * g.osp;
    GemmArgs a;
    a.m = L.og;
    a.n = ld;
    a.k = L.K;
    a.a = pw + gr * L.og * L.K;
    a.a_rs = L.K;
    a.a_cs = 1;
    const float *x0 = px + (n0 * in_c + gr * L.cg) * g.isp;
    float *y0 = py + (n0 * out_c + gr * L.og) * g.osp;
    const ImplicitCols cols{x0, in_c * g.isp, &g};
    if (cnt == 1 && L.direct) {
      a.b = x0;
      a.b_rs = g.isp;
      a.b_cs = 1;
    } else {
      a.b_panels = pack_implicit_cols;
      a.b_ctx = &cols;
    }
    a.c = cnt == 1 ? y0 : scratch(t_mat, L.og * ld);
    a.c_rs = cnt == 1 ? g.osp : ld;
    gemm(a);
    if (cnt > 1) {
      for (int64_t i = 0; i < cnt; i++)
        for (int64_t m = 0; m < L.og; m++)
          std::memcpy(y0 + (i * out_c + m) * g.osp, a.c + m * ld + i * g.osp, sizeof(float) * g.osp);
    }
  });
}

thread_local std::vector<float> t_flipped;

/**
 * The data gradient of a stride-1 convolution is itself a convolution: of dy, with each group's
 * weights transposed (in ↔ out channels) and flipped in space, padding d·(k − 1) − pad, onto
 * dx's shape. Run as one, it needs no col2im scatter. Returns false for other strides.
 */
bool backward_data_as_conv(const float *pdy, const float *pw, float *pdx, const ConvGeom &c, const Layout &L) {
  const Geo &g = L.g;
  if (g.sd != 1 || g.sh != 1 || g.sw != 1) return false;
  Layout T = L;
  Geo &t = T.g;
  t.D = g.OD, t.H = g.OH, t.W = g.OW;
  t.OD = g.D, t.OH = g.H, t.OW = g.W;
  t.pd = g.dd * (g.KD - 1) - g.pd, t.ph = g.dh * (g.KH - 1) - g.ph, t.pw = g.dw * (g.KW - 1) - g.pw;
  t.isp = g.osp, t.osp = g.isp;
  T.cg = L.og, T.og = L.cg, T.K = L.og * g.kvol;
  T.direct = L.direct;
  // flipped[gr][ci][o][kvol − 1 − tap] = w[gr·og + o][ci][tap]
  float *flipped = scratch(t_flipped, c.out_c * L.K);
  const int64_t rows = c.group * L.cg;  // (group, input channel): one row of the flipped weights each
  parallel_for(rows, grain_for(rows, 4), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; row++) {
      const int64_t gr = row / L.cg, ci = row % L.cg;
      float *dst = flipped + row * T.K + g.kvol - 1;
      for (int64_t o = 0; o < L.og; o++, dst += g.kvol) {
        const float *src = pw + ((gr * L.og + o) * L.cg + ci) * g.kvol;
        for (int64_t k = 0; k < g.kvol; k++) dst[-k] = src[k];
      }
    }
  });
  forward_core(pdy, flipped, pdx, c.batch, c.out_c, c.in_c, c.group, T);
  return true;
}

}  // namespace

void conv_forward(const Buf &x, const Buf &w, const Buf &y, const ConvGeom &c) {
  const Layout L = layout(c, x, w, y, "conv", "input", "output");
  forward_core(static_cast<const float *>(x.data), static_cast<const float *>(w.data), static_cast<float *>(y.data),
               c.batch, c.in_c, c.out_c, c.group, L);
}

void conv_backward_data(const Buf &dy, const Buf &w, const Buf &dx, const ConvGeom &c) {
  const Layout L = layout(c, dx, w, dy, "convBackwardData", "input gradient", "output gradient");
  const Geo &g = L.g;
  const float *pdy = static_cast<const float *>(dy.data);
  const float *pw = static_cast<const float *>(w.data);
  float *pdx = static_cast<float *>(dx.data);
  if (backward_data_as_conv(pdy, pw, pdx, c, L)) return;
  per_chunk(c.batch, c.group, images_per_gemm(c.batch, g.osp), [&](int64_t gr, int64_t n0, int64_t cnt) {
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
        col2im_add(dxi, L.cg, g, a.c + i * g.osp, ld);
      }
    }
  });
}

void conv_backward_filter(const Buf &x, const Buf &dy, const Buf &dw, const ConvGeom &c) {
  const Layout L = layout(c, x, dw, dy, "convBackwardFilter", "input", "output gradient");
  const Geo &g = L.g;
  const float *px = static_cast<const float *>(x.data);
  const float *pdy = static_cast<const float *>(dy.data);
  float *pdw = static_cast<float *>(dw.data);
  const int64_t wsize = c.out_c * L.K;
  if (c.batch == 0) {
    std::memset(pdw, 0, sizeof(float) * wsize);
    return;
  }
  // dW[og × K] (+)= dyT[og × L] · colsᵀ over chunks of images (L = the chunk's positions), the
  // columns packed straight from x by the GEMM (pack_implicit_cols_t). With fewer kernel taps
  // than filters (a 1×1 expansion, a first layer) the product is taken transposed instead,
  // dWᵀ = cols · dyTᵀ, over stored columns, so the microkernel's wide side runs over the filters.
  // Chunks hold about kChunkFloats floats of dyT (or of columns when transposed), so each GEMM
  // runs over a long k. A dW with enough microkernel tiles is split by the GEMM itself (one
  // lane). A small dW (a first layer, a depthwise or narrow conv) cannot keep the threads busy
  // that way: its chunks are dealt to at most kLanes lanes (chunk i to lane i mod lanes), each
  // accumulating its own partial dW, summed in lane order. Lanes and chunks follow from the
  // shapes alone, so the result does not depend on the thread count.
  constexpr int64_t kLanes = 8;
  constexpr int64_t kChunkFloats = int64_t(2) << 20;
  constexpr int64_t kSplitByGemm = int64_t(64) << 10;  // dW elements per group
  const bool transposed = L.K < L.og;
  const int64_t per_image = (transposed ? L.K + L.og : L.og) * g.osp;
  int64_t chunk = per_image > 0 ? kChunkFloats / per_image : c.batch;
  if (chunk < 1) chunk = 1;
  if (chunk > c.batch) chunk = c.batch;
  const int64_t chunks = (c.batch + chunk - 1) / chunk;
  const int64_t lanes = L.og * L.K >= kSplitByGemm ? 1 : chunks < kLanes ? chunks : kLanes;
  float *const partial = lanes > 1 || transposed ? scratch(t_partial, lanes * wsize) : nullptr;
  const bool inner_parallel = lanes * c.group == 1;  // one task: let the copies and the GEMM use the pool
  parallel_for(lanes * c.group, 1, [&](int64_t b, int64_t e) {
    for (int64_t task = b; task < e; task++) {
      const int64_t lane = task / c.group, gr = task % c.group;
      float *dyt = scratch(t_mat, chunk * L.og * g.osp);
      float *cols = transposed ? scratch(t_cols, chunk * L.K * g.osp) : nullptr;
      // This lane's dW of group gr: [og × K], or [K × og] when transposed.
      float *out = partial ? partial + lane * wsize + gr * L.og * L.K : pdw + gr * L.og * L.K;
      for (int64_t ci = lane, first = 1; ci < chunks; ci += lanes, first = 0) {
        const int64_t n0 = ci * chunk, cnt = c.batch - n0 < chunk ? c.batch - n0 : chunk;
        const int64_t ld = cnt * g.osp;
        const ImplicitCols icols{px + (n0 * c.in_c + gr * L.cg) * g.isp, c.in_c * g.isp, &g};
        // dyT (and the stored columns) of the chunk by (image, channel) rows.
        const int64_t per = transposed ? L.og + L.K : L.og, rows = cnt * per;
        const auto fill = [&](int64_t rb, int64_t re) {
          for (int64_t r = rb; r < re; r++) {
            const int64_t i = r / per, ch = r % per;
            if (ch < L.og)
              std::memcpy(dyt + ch * ld + i * g.osp, pdy + ((n0 + i) * c.out_c + gr * L.og + ch) * g.osp, sizeof(float) * g.osp);
            else
              fill_cols_row(icols, ch - L.og, i * g.osp, g.osp, cols + (ch - L.og) * ld + i * g.osp);
          }
        };
        if (inner_parallel) parallel_for(rows, grain_for(rows, 4), fill);
        else fill(0, rows);
        GemmArgs a;
        a.k = ld;
        if (transposed) {  // dWᵀ (+)= cols · dyTᵀ
          a.m = L.K, a.n = L.og;
          a.a = cols, a.a_rs = ld, a.a_cs = 1;
          a.b = dyt, a.b_rs = 1, a.b_cs = ld;
        } else {  // dW (+)= dyT · colsᵀ
          a.m = L.og, a.n = L.K;
          a.a = dyt, a.a_rs = ld, a.a_cs = 1;
          a.b_panels = pack_implicit_cols_t;
          a.b_ctx = &icols;
        }
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
