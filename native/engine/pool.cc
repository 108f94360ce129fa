// pool.cc — max and average pooling (1-D to 3-D through one 3-D loop nest) and their backward
// passes, following the JS backend tap for tap: max keeps the first maximum (a NaN wins and
// ends its row of taps), records its flat index over the whole input; average divides by the
// taps inside the input, or inside the padded input with count_include_pad. Parallel over
// planes (batch × channels), which own disjoint parts of every buffer.
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"

namespace tbn {

namespace {

struct PGeo {
  int64_t D, H, W, KD, KH, KW, OD, OH, OW, sd, sh, sw, pd, ph, pw, dd, dh, dw, ed, eh, ew;
  int64_t isp, osp;
};

PGeo pgeo(const PoolGeom &g) {
  if (g.rank < 1 || g.rank > 3) fail("pool: 1 to 3 spatial dimensions");
  if (g.planes < 0) fail("pool: negative plane count");
  int64_t v[7][3];
  const int64_t *src[7] = {g.in, g.kernel, g.out, g.stride, g.pad_begin, g.dil, g.pad_end};
  for (int a = 0; a < 7; a++) {
    const int64_t fill = a == 4 || a == 6 ? 0 : 1;
    for (int i = 0; i < 3; i++) v[a][i] = i < 3 - g.rank ? fill : src[a][i - (3 - g.rank)];
  }
  for (int i = 0; i < 3; i++) {
    for (int a = 0; a < 7; a++)
      if (v[a][i] > (int64_t(1) << 31) || v[a][i] < -(int64_t(1) << 31)) fail("pool: geometry out of range");
    if (v[0][i] < 1 || v[1][i] < 1 || v[2][i] < 1) fail("pool: sizes must be ≥ 1");
    if (v[3][i] < 1 || v[5][i] < 1) fail("pool: strides and dilations must be ≥ 1");
  }
  PGeo p{v[0][0], v[0][1], v[0][2], v[1][0], v[1][1], v[1][2], v[2][0], v[2][1], v[2][2], v[3][0], v[3][1], v[3][2],
         v[4][0], v[4][1], v[4][2], v[5][0], v[5][1], v[5][2], v[6][0], v[6][1], v[6][2], 0, 0};
  p.isp = numel(v[0], 3, "pool");
  p.osp = numel(v[2], 3, "pool");
  return p;
}

/** Window taps of output o along one axis that land in [lo, hi). */
inline int64_t taps(int64_t o, int64_t s, int64_t pad, int64_t k, int64_t dil, int64_t lo, int64_t hi) {
  int64_t c = 0;
  for (int64_t t = 0; t < k; t++) {
    const int64_t i = o * s - pad + t * dil;
    if (i >= lo && i < hi) c++;
  }
  return c;
}

/** Per output index along one axis, the taps [lo, hi) whose input coordinate is in [0, len). */
struct TapRange {
  int64_t lo, hi;
};

void tap_ranges(int64_t outs, int64_t s, int64_t pad, int64_t k, int64_t dil, int64_t len, TapRange *out) {
  for (int64_t o = 0; o < outs; o++) {
    int64_t lo = 0, hi = 0;
    bool seen = false;
    for (int64_t t = 0; t < k; t++) {
      const int64_t i = o * s - pad + t * dil;
      if (i >= 0 && i < len) {
        if (!seen) lo = t;
        seen = true;
        hi = t + 1;
      }
    }
    out[o] = {lo, seen ? hi : lo};
  }
}

int64_t plane_grain(const PGeo &g, int64_t planes) {
  const int64_t work = g.osp * g.KD * g.KH * g.KW + g.isp;
  return grain_for(planes, work >= 16384 ? 1 : 16384 / (work + 1) + 1);
}

/** Average pooling forward (src x → dst out) or backward (src dy → dst dx, zeroed here). */
void avg_pass(const float *src, float *dst, const PGeo &g, int64_t planes, bool include_pad, bool backward) {
  parallel_for(planes, plane_grain(g, planes), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const int64_t base = pl * g.isp;
      int64_t o = pl * g.osp;
      if (backward) std::memset(dst + base, 0, sizeof(float) * g.isp);
      for (int64_t od = 0; od < g.OD; od++) {
        const int64_t cd = include_pad ? taps(od, g.sd, g.pd, g.KD, g.dd, -g.pd, g.D + g.ed) : taps(od, g.sd, g.pd, g.KD, g.dd, 0, g.D);
        for (int64_t oh = 0; oh < g.OH; oh++) {
          const int64_t ch = include_pad ? taps(oh, g.sh, g.ph, g.KH, g.dh, -g.ph, g.H + g.eh) : taps(oh, g.sh, g.ph, g.KH, g.dh, 0, g.H);
          for (int64_t ow = 0; ow < g.OW; ow++, o++) {
            const int64_t cw = include_pad ? taps(ow, g.sw, g.pw, g.KW, g.dw, -g.pw, g.W + g.ew) : taps(ow, g.sw, g.pw, g.KW, g.dw, 0, g.W);
            const double div = static_cast<double>(cd * ch * cw);
            const double share = backward && div != 0 ? src[o] / div : 0;
            double sum = 0;
            for (int64_t kd = 0; kd < g.KD; kd++) {
              const int64_t id = od * g.sd - g.pd + kd * g.dd;
              if (id < 0 || id >= g.D) continue;
              for (int64_t kh = 0; kh < g.KH; kh++) {
                const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
                if (ih < 0 || ih >= g.H) continue;
                const int64_t row = base + (id * g.H + ih) * g.W;
                for (int64_t kw = 0; kw < g.KW; kw++) {
                  const int64_t iw = ow * g.sw - g.pw + kw * g.dw;
                  if (iw < 0 || iw >= g.W) continue;
                  if (backward) dst[row + iw] = static_cast<float>(dst[row + iw] + share);
                  else sum += src[row + iw];
                }
              }
            }
            if (!backward) dst[o] = static_cast<float>(div != 0 ? sum / div : 0);
          }
        }
      }
    }
  });
}

}  // namespace

namespace {

/**
 * Max over whole windows for outputs [v0, v1) of one output row whose windows start at
 * origin + ow·sw: the first strictly greater tap wins. K > 0: a K×K 2-D window unrolled; K = 0:
 * any window through the tap offsets. nan[ow] is set where a window held a NaN (redone exactly).
 */
template <int K>
void window_row(const float *px, int64_t origin, int64_t v0, int64_t v1, const PGeo &g, const int64_t *off, float *po, double *pa,
                uint8_t *nan) {
  const int64_t taps = K > 0 ? K * K : g.KD * g.KH * g.KW;
  for (int64_t ow = v0; ow < v1; ow++) {
    const int64_t w = origin + ow * g.sw;
    const float *src = px + w;
    bool bad = false;
    float best;
    int64_t at;
    if constexpr (K > 0) {
      // Branch-free (real data makes the comparisons unpredictable): the running max, then
      // the first tap equal to it — the tap where "first strictly greater" stops.
      float v[K * K];
      for (int kh = 0; kh < K; kh++)
        for (int kw = 0; kw < K; kw++) v[kh * K + kw] = src[kh * g.dh * g.W + kw * g.dw];
      best = v[0];
      for (int t = 0; t < K * K; t++) {
        bad |= v[t] != v[t];
        best = v[t] > best ? v[t] : best;  // maxss
      }
      // Compared as bits (the max is one of the taps; ±0 then still pick the right one), so
      // the compiler emits integer selects instead of NaN-aware float branches.
      uint32_t bits[K * K], target;
      std::memcpy(bits, v, sizeof bits);
      std::memcpy(&target, &best, sizeof target);
      int first = K * K - 1;
      for (int t = K * K - 1; t >= 0; t--) first = bits[t] == target ? t : first;
      at = off[first];
    } else {
      best = src[0];
      at = 0;
      bad = best != best;
      for (int64_t t = 1; t < taps; t++) {
        const float v = src[off[t]];
        bad |= v != v;
        const bool take = v > best;
        at = take ? off[t] : at;
        best = take ? v : best;
      }
    }
    nan[ow] = bad;
    po[ow] = best;
    if (pa) pa[ow] = static_cast<double>(w + at);
  }
}

}  // namespace

void max_pool(const Buf &x, const Buf &out, const Buf *argmax, const PoolGeom &pg) {
  const PGeo g = pgeo(pg);
  const float *px = x.f32("maxPool input");
  float *po = out.f32("maxPool output");
  need_size(x, mul_checked(pg.planes, g.isp, "maxPool"), "maxPool", "input");
  need_size(out, mul_checked(pg.planes, g.osp, "maxPool"), "maxPool", "output");
  double *pa = nullptr;
  if (argmax) {
    pa = argmax->f64("maxPool indices");
    need_size(*argmax, mul_checked(pg.planes, g.osp, "maxPool"), "maxPool", "indices");
  }
  // Valid taps per output coordinate, so the window loops need no bounds tests. Taps between
  // lo and hi are all inside: with dilation ≥ 1 the valid taps of a window are contiguous.
  std::vector<TapRange> rd(static_cast<size_t>(g.OD)), rh(static_cast<size_t>(g.OH)), rw(static_cast<size_t>(g.OW));
  tap_ranges(g.OD, g.sd, g.pd, g.KD, g.dd, g.D, rd.data());
  tap_ranges(g.OH, g.sh, g.ph, g.KH, g.dh, g.H, rh.data());
  tap_ranges(g.OW, g.sw, g.pw, g.KW, g.dw, g.W, rw.data());
  // Offsets of every tap from its window's origin, and the outputs whose windows lie inside
  // the input along w (for the vector path).
  const int64_t taps_n = g.KD * g.KH * g.KW;
  std::vector<int64_t> tap_off(static_cast<size_t>(taps_n));
  for (int64_t kd = 0, t = 0; kd < g.KD; kd++)
    for (int64_t kh = 0; kh < g.KH; kh++)
      for (int64_t kw = 0; kw < g.KW; kw++, t++) tap_off[static_cast<size_t>(t)] = (kd * g.dd * g.H + kh * g.dh) * g.W + kw * g.dw;
  int64_t w_lo = g.OW, w_hi = g.OW;
  for (int64_t ow = 0; ow < g.OW; ow++) {
    const bool full = rw[static_cast<size_t>(ow)].lo == 0 && rw[static_cast<size_t>(ow)].hi == g.KW;
    if (full && w_lo == g.OW) w_lo = ow;
    if (full) w_hi = ow + 1;
  }
  for (int64_t ow = w_lo; ow < w_hi; ow++)
    if (rw[static_cast<size_t>(ow)].lo != 0 || rw[static_cast<size_t>(ow)].hi != g.KW) w_hi = w_lo;  // not one run: no vector path
  // One output by the JS backend's rule: the first maximum wins; a NaN wins and ends its row of taps.
  auto exact = [&](int64_t base, int64_t od, int64_t oh, int64_t ow, int64_t o) {
    const TapRange td = rd[static_cast<size_t>(od)], th = rh[static_cast<size_t>(oh)], tw = rw[static_cast<size_t>(ow)];
    const int64_t w0 = ow * g.sw - g.pw;
    float best = -INFINITY;
    int64_t at = -1;
    for (int64_t kd = td.lo; kd < td.hi; kd++) {
      const int64_t id = od * g.sd - g.pd + kd * g.dd;
      for (int64_t kh = th.lo; kh < th.hi; kh++) {
        const int64_t row = base + (id * g.H + oh * g.sh - g.ph + kh * g.dh) * g.W + w0;
        for (int64_t kw = tw.lo; kw < tw.hi; kw++) {
          const float v = px[row + kw * g.dw];
          if (v > best || at < 0 || v != v) {
            best = v;
            at = row + kw * g.dw;
            if (v != v) break;
          }
        }
      }
    }
    po[o] = best;
    if (pa) pa[o] = static_cast<double>(at);
  };
  parallel_for(pg.planes, plane_grain(g, pg.planes), [&](int64_t b, int64_t e) {
    std::vector<uint8_t> nan(static_cast<size_t>(g.OW));
    for (int64_t pl = b; pl < e; pl++) {
      const int64_t base = pl * g.isp;
      for (int64_t od = 0; od < g.OD; od++) {
        const bool full_d = rd[static_cast<size_t>(od)].lo == 0 && rd[static_cast<size_t>(od)].hi == g.KD;
        for (int64_t oh = 0; oh < g.OH; oh++) {
          const int64_t o = pl * g.osp + (od * g.OH + oh) * g.OW;
          const bool full = full_d && rh[static_cast<size_t>(oh)].lo == 0 && rh[static_cast<size_t>(oh)].hi == g.KH && w_lo < w_hi;
          const int64_t v0 = full ? w_lo : g.OW, v1 = full ? w_hi : g.OW;
          for (int64_t ow = 0; ow < v0; ow++) exact(base, od, oh, ow, o + ow);
          if (v0 < v1) {
            // Whole windows: taps in order with no bounds tests (unrolled for 2×2 and 3×3 2-D
            // windows); a window that met a NaN is redone exactly.
            const int64_t origin = base + ((od * g.sd - g.pd) * g.H + oh * g.sh - g.ph) * g.W - g.pw;
            if (g.KD == 1 && g.KH == 2 && g.KW == 2) window_row<2>(px, origin, v0, v1, g, tap_off.data(), po + o, pa ? pa + o : nullptr, nan.data());
            else if (g.KD == 1 && g.KH == 3 && g.KW == 3) window_row<3>(px, origin, v0, v1, g, tap_off.data(), po + o, pa ? pa + o : nullptr, nan.data());
            else window_row<0>(px, origin, v0, v1, g, tap_off.data(), po + o, pa ? pa + o : nullptr, nan.data());
            for (int64_t ow = v0; ow < v1; ow++)
              if (nan[static_cast<size_t>(ow)]) exact(base, od, oh, ow, o + ow);
          }
          for (int64_t ow = v1; ow < g.OW; ow++) exact(base, od, oh, ow, o + ow);
        }
      }
    }
  });
}

void max_pool_backward(const Buf &dy, const Buf &argmax, const Buf &dx, const PoolGeom &pg) {
  const float *pdy = dy.f32("maxPoolBackward dy");
  const double *pa = argmax.f64("maxPoolBackward indices");
  float *pdx = dx.f32("maxPoolBackward dx");
  const int64_t n = dy.size;
  need_size(argmax, n, "maxPoolBackward", "indices");
  // Fast path: planes in parallel, each scattering into its own plane of dx. An index outside
  // its plane (or not an integer) sends everything to the checked serial path below.
  const PGeo g = pgeo(pg);
  std::atomic<bool> planar{mul_checked(pg.planes, g.osp, "maxPoolBackward") == n &&
                          mul_checked(pg.planes, g.isp, "maxPoolBackward") == dx.size};
  if (planar.load()) {
    parallel_for(pg.planes, plane_grain(g, pg.planes), [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e && planar.load(std::memory_order_relaxed); pl++) {
        float *plane = pdx + pl * g.isp;
        std::memset(plane, 0, sizeof(float) * g.isp);
        const double lo = static_cast<double>(pl * g.isp), hi = static_cast<double>((pl + 1) * g.isp);
        for (int64_t o = pl * g.osp; o < (pl + 1) * g.osp; o++) {
          const double at = pa[o];
          if (at < 0) continue;
          const int64_t i = static_cast<int64_t>(at);
          if (at < lo || at >= hi || static_cast<double>(i) != at) {
            planar.store(false, std::memory_order_relaxed);
            break;
          }
          pdx[i] += pdy[o];
        }
      }
    });
    if (planar.load()) return;
  }
  for (int64_t o = 0; o < n; o++) {
    const double at = pa[o];
    if (at >= 0 && (!(at < static_cast<double>(dx.size)) || at != std::floor(at))) fail("maxPoolBackward: index out of range");
  }
  std::memset(pdx, 0, sizeof(float) * dx.size);
  for (int64_t o = 0; o < n; o++)
    if (pa[o] >= 0) pdx[static_cast<int64_t>(pa[o])] += pdy[o];
}

void avg_pool(const Buf &x, const Buf &out, const PoolGeom &pg) {
  const PGeo g = pgeo(pg);
  const float *px = x.f32("avgPool input");
  float *po = out.f32("avgPool output");
  need_size(x, mul_checked(pg.planes, g.isp, "avgPool"), "avgPool", "input");
  need_size(out, mul_checked(pg.planes, g.osp, "avgPool"), "avgPool", "output");
  avg_pass(px, po, g, pg.planes, pg.count_include_pad, false);
}

void avg_pool_backward(const Buf &dy, const Buf &dx, const PoolGeom &pg) {
  const PGeo g = pgeo(pg);
  const float *pdy = dy.f32("avgPoolBackward dy");
  float *pdx = dx.f32("avgPoolBackward dx");
  need_size(dy, mul_checked(pg.planes, g.osp, "avgPoolBackward"), "avgPoolBackward", "dy");
  need_size(dx, mul_checked(pg.planes, g.isp, "avgPoolBackward"), "avgPoolBackward", "dx");
  avg_pass(pdy, pdx, g, pg.planes, pg.count_include_pad, true);
}

}  // namespace tbn
