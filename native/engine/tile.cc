// tile.cc — the TBN parametrisation (src/tbn/parametrize.ts) as two kernels, with the JS
// reference's arithmetic step for step:
//   stream s = W (axis 0) or Wᵀ of W viewed as [rows, cols] (axis 1); q = N/p
//   t_j = sign(Σ_r s[r·q + j]) (0 → −1);  α_r = mean_{k∈r} |A_k| (one α over all of A per layer)
//   B̂ = α_r · t_j at stream position r·q + j
//   dW = dB̂ · α (straight-through); dα_r = Σ dB̂·t;  dA_k = dα_r · sign(A_k) / |region|
// Sums run in float64 in a fixed order; α is rounded to float where the reference stores it.
#include <cmath>
#include <memory>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"

namespace tbn {

namespace {

struct Stream {
  int64_t rows, cols, n, q, p;
  int axis;
  /** Index into W (row-major) of stream position k. */
  int64_t at(int64_t k) const { return axis == 0 ? k : (k % rows) * cols + k / rows; }
};

Stream stream(const TileGeom &g) {
  if (g.rows < 1 || g.cols < 1 || g.p < 1) fail("tile: invalid geometry");
  if (g.axis != 0 && g.axis != 1) fail("tile: axis must be 0 or 1");
  const int64_t n = mul_checked(g.rows, g.cols, "tile");
  if (n % g.p) fail("tile: p does not divide the weight");
  return {g.rows, g.cols, n, n / g.p, g.p, g.axis};
}

constexpr int64_t kJBlock = 1024;

}  // namespace

void tile_forward(const Buf &w, const Buf *a, const Buf &out, const Buf &alpha, const Buf &signs, const TileGeom &g) {
  const Stream s = stream(g);
  const float *pw = w.f32("tile weight");
  const float *pa = a ? a->f32("tile alpha source") : pw;
  float *po = out.f32("tile output");
  float *pal = alpha.f32("tile alpha");
  float *pt = signs.f32("tile signs");
  need_size(w, s.n, "tileForward", "weight");
  if (a) need_size(*a, s.n, "tileForward", "alpha source");
  need_size(out, s.n, "tileForward", "output");
  need_size(alpha, g.per_layer ? 1 : s.p, "tileForward", "alpha");
  need_size(signs, s.q, "tileForward", "signs");
  // Tile signs: blocks of tile positions, each summing its regions in region order.
  const int64_t blocks = (s.q + kJBlock - 1) / kJBlock;
  parallel_for(blocks, grain_for(blocks, s.p * kJBlock >= 32768 ? 1 : 32768 / (s.p * kJBlock) + 1), [&](int64_t b, int64_t e) {
    double sum[kJBlock];
    for (int64_t blk = b; blk < e; blk++) {
      const int64_t j0 = blk * kJBlock, len = s.q - j0 < kJBlock ? s.q - j0 : kJBlock;
      for (int64_t j = 0; j < len; j++) sum[j] = 0;
      for (int64_t r = 0; r < s.p; r++)
        for (int64_t j = 0; j < len; j++) sum[j] += pw[s.at(r * s.q + j0 + j)];
      for (int64_t j = 0; j < len; j++) pt[j0 + j] = sum[j] > 0 ? 1.f : -1.f;
    }
  });
  // α: Σ|A| per region in float64, stored as the reference's Float32Array does.
  std::vector<double> acc(static_cast<size_t>(s.p));
  parallel_for(s.p, grain_for(s.p, s.q >= 32768 ? 1 : 32768 / s.q + 1), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      double v = 0;
      for (int64_t j = 0; j < s.q; j++) v += std::fabs(pa[s.at(r * s.q + j)]);
      acc[static_cast<size_t>(r)] = v;
    }
  });
  if (g.per_layer) {
    float a0 = 0;
    for (int64_t r = 0; r < s.p; r++) a0 = static_cast<float>(static_cast<double>(a0) + acc[static_cast<size_t>(r)]);
    pal[0] = static_cast<float>(static_cast<double>(a0) / static_cast<double>(s.q * s.p));
  } else {
    for (int64_t r = 0; r < s.p; r++)
      pal[r] = static_cast<float>(static_cast<double>(static_cast<float>(acc[static_cast<size_t>(r)])) / static_cast<double>(s.q));
  }
  parallel_for(s.n, grain_for(s.n, 32768), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; k++) po[s.at(k)] = pal[g.per_layer ? 0 : k / s.q] * pt[k % s.q];
  });
}

void tile_backward(const Buf &gy, const Buf &a, const Buf &alpha, const Buf &signs, const Buf &dw, const Buf *da,
                   const TileGeom &g) {
  const Stream s = stream(g);
  const float *pg = gy.f32("tile gradient");
  const float *pa = a.f32("tile alpha source");
  const float *pal = alpha.f32("tile alpha");
  const float *pt = signs.f32("tile signs");
  float *pdw = dw.f32("tile weight gradient");
  float *pda = da ? da->f32("tile alpha-source gradient") : nullptr;
  need_size(gy, s.n, "tileBackward", "gradient");
  need_size(a, s.n, "tileBackward", "alpha source");
  need_size(alpha, g.per_layer ? 1 : s.p, "tileBackward", "alpha");
  need_size(signs, s.q, "tileBackward", "signs");
  need_size(dw, s.n, "tileBackward", "weight gradient");
  if (da) need_size(*da, s.n, "tileBackward", "alpha-source gradient");
  std::vector<double> acc(static_cast<size_t>(s.p));
  parallel_for(s.p, grain_for(s.p, s.q >= 32768 ? 1 : 32768 / s.q + 1), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      double v = 0;
      for (int64_t j = 0; j < s.q; j++) v += static_cast<double>(pg[s.at(r * s.q + j)]) * pt[j];
      acc[static_cast<size_t>(r)] = v;
    }
  });
  // dα per α (summed over its regions in region order), then spread over A's signs.
  const int64_t na = g.per_layer ? 1 : s.p;
  std::vector<double> dalpha(static_cast<size_t>(na), 0.0);
  for (int64_t r = 0; r < s.p; r++) dalpha[static_cast<size_t>(g.per_layer ? 0 : r)] += acc[static_cast<size_t>(r)];
  const double region = static_cast<double>(g.per_layer ? s.n : s.q);
  parallel_for(s.n, grain_for(s.n, 32768), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; k++) {
      const int64_t i = s.at(k), ai = g.per_layer ? 0 : k / s.q;
      const float dwk = pg[i] * pal[ai];
      const double d = dalpha[static_cast<size_t>(ai)] / region;
      const float v = pa[i];
      const float dak = static_cast<float>(v > 0 ? d : v < 0 ? -d : 0.0);
      if (pda) {
        pdw[i] = dwk;
        pda[i] = dak;
      } else {
        pdw[i] = dwk + dak;
      }
    }
  });
}

}  // namespace tbn
