// pool.cc — max and average pooling (1-D to 3-D through one 3-D loop nest) and their backward
// passes, following the JS backend tap for tap: max keeps the first maximum (a NaN wins and
// ends its row of taps), records its flat index over the whole input; average divides by the
// taps inside the input, or inside the padded input with count_include_pad. Parallel over
// planes (batch × channels), which own disjoint parts of every buffer.
#include <cmath>
#include <cstring>

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
  parallel_for(pg.planes, plane_grain(g, pg.planes), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      const int64_t base = pl * g.isp;
      int64_t o = pl * g.osp;
      for (int64_t od = 0; od < g.OD; od++) {
        for (int64_t oh = 0; oh < g.OH; oh++) {
          for (int64_t ow = 0; ow < g.OW; ow++, o++) {
            float best = -INFINITY;
            int64_t at = -1;
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
                  const float v = px[row + iw];
                  if (v > best || at < 0 || v != v) {
                    best = v;
                    at = row + iw;
                    if (v != v) break;
                  }
                }
              }
            }
            po[o] = best;
            if (pa) pa[o] = static_cast<double>(at);
          }
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
  // Each index must address dx; when each also lies in its own plane the planes run in parallel.
  bool planar = pg.rank >= 1 && pg.rank <= 3 && pg.planes >= 0;
  PGeo g{};
  if (planar) {
    g = pgeo(pg);
    planar = pg.planes * g.osp == n && pg.planes * g.isp == dx.size;
  }
  for (int64_t o = 0; o < n; o++) {
    const double at = pa[o];
    if (at < 0) continue;
    if (!(at < static_cast<double>(dx.size)) || at != std::floor(at)) fail("maxPoolBackward: index out of range");
    if (planar && static_cast<int64_t>(at) / g.isp != o / g.osp) planar = false;
  }
  if (!planar) {
    std::memset(pdx, 0, sizeof(float) * dx.size);
    for (int64_t o = 0; o < n; o++)
      if (pa[o] >= 0) pdx[static_cast<int64_t>(pa[o])] += pdy[o];
    return;
  }
  parallel_for(pg.planes, plane_grain(g, pg.planes), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; pl++) {
      std::memset(pdx + pl * g.isp, 0, sizeof(float) * g.isp);
      for (int64_t o = pl * g.osp; o < (pl + 1) * g.osp; o++)
        if (pa[o] >= 0) pdx[static_cast<int64_t>(pa[o])] += pdy[o];
    }
  });
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
