// tile.cc — the TBN parametrisation (src/tbn/parametrize.ts) as two kernels, with the JS
// reference's arithmetic step for step:
//   stream s = W (axis 0) or Wᵀ of W viewed as [rows, cols] (axis 1); q = N/p
//   t_j = sign(Σ_r s[r·q + j]) (0 → −1);  α_r = mean_{k∈r} |A_k| (one α over all of A per layer)
//   B̂ = α_r · t_j at stream position r·q + j
//   dW = dB̂ · α (straight-through); dα_r = Σ dB̂·t;  dA_k = dα_r · sign(A_k) / |region|
// Sums run in float64 in a fixed order (a region's sums in 32 interleaved lanes, lane j mod 32,
// added in lane order, as the reference does); α is rounded to float where the reference
// stores it.
// Axis 1 transposes its operands into stream order first (blocked), so both axes run the same
// contiguous loops.
#include <cmath>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"

namespace tbn {

namespace {

struct Stream {
  int64_t rows, cols, n, q, p;
  int axis;
};

Stream stream(const TileGeom &g) {
  if (g.rows < 1 || g.cols < 1 || g.p < 1) fail("tile: invalid geometry");
  if (g.axis != 0 && g.axis != 1) fail("tile: axis must be 0 or 1");
  const int64_t n = mul_checked(g.rows, g.cols, "tile");
  if (n % g.p) fail("tile: p does not divide the weight");
  return {g.rows, g.cols, n, n / g.p, g.p, g.axis};
}

/** dst[c·rows + r] = src[r·cols + c] (a [rows, cols] matrix transposed), in 32×32 blocks. */
void transpose(const float *src, float *dst, int64_t rows, int64_t cols) {
  constexpr int64_t B = 32;
  const int64_t rb = (rows + B - 1) / B;
  parallel_for(rb, grain_for(rb, cols >= 4096 ? 1 : 4096 / cols + 1), [&](int64_t b, int64_t e) {
    for (int64_t r0 = b * B; r0 < e * B && r0 < rows; r0 += B) {
      const int64_t r1 = r0 + B < rows ? r0 + B : rows;
      for (int64_t c0 = 0; c0 < cols; c0 += B) {
        const int64_t c1 = c0 + B < cols ? c0 + B : cols;
        for (int64_t r = r0; r < r1; r++)
          for (int64_t c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
      }
    }
  });
}

// The caller thread's stream-order copies (axis 1), kept across steps: two operands in, two out.
thread_local std::vector<float> t_in0, t_in1, t_out0, t_out1;

/** The operand in stream order: itself (axis 0) or its transpose in `tmp`. */
const float *in_stream(const Stream &s, const float *x, std::vector<float> &tmp) {
  if (s.axis == 0) return x;
  float *t = scratch(tmp, s.n);
  transpose(x, t, s.rows, s.cols);
  return t;
}

constexpr int64_t kJBlock = 1024;
constexpr int kLanes = 32;


/** Σ_j |a[j]| over j < q in kLanes interleaved float64 lanes, added in lane order. */
TBN_WIDE double lane_sum_abs(const float *a, int64_t q) {
  double acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= q; j += kLanes)
    for (int l = 0; l < kLanes; l++) acc[l] += static_cast<double>(std::fabs(a[j + l]));
  for (int l = 0; j < q; j++, l++) acc[l] += static_cast<double>(std::fabs(a[j]));
  double v = 0;
  for (int l = 0; l < kLanes; l++) v += acc[l];
  return v;
}

/** Σ_j g[j]·t[j] over j < q (t = ±1), in the lanes of lane_sum_abs. */
TBN_WIDE double lane_sum_dot(const float *g, const float *t, int64_t q) {
  double acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= q; j += kLanes)
    for (int l = 0; l < kLanes; l++) acc[l] += static_cast<double>(g[j + l]) * t[j + l];
  for (int l = 0; j < q; j++, l++) acc[l] += static_cast<double>(g[j]) * t[j];
  double v = 0;
  for (int l = 0; l < kLanes; l++) v += acc[l];
  return v;
}

/** t[j] = sign(Σ_r s[r·q + j]) (0 → −1) for j < len, regions added in order in float64. */
TBN_WIDE void signs_block(const float *s, int64_t q, int64_t p, int64_t len, float *t) {
  double sum[kJBlock];
  for (int64_t j = 0; j < len; j++) sum[j] = 0;
  for (int64_t r = 0; r < p; r++) {
    const float *row = s + r * q;
    for (int64_t j = 0; j < len; j++) sum[j] += row[j];
  }
  for (int64_t j = 0; j < len; j++) t[j] = sum[j] > 0 ? 1.f : -1.f;
}

TBN_WIDE void scaled_signs(const float *t, int64_t q, float alpha, float *out) {
  for (int64_t j = 0; j < q; j++) out[j] = alpha * t[j];
}

/** One region of the backward pass: dw = g·α (+ da when da is null), da = ±d by the sign of a. */
TBN_WIDE void region_backward(const float *__restrict g, const float *__restrict a, int64_t q, float alpha, float up,
                              float *__restrict dw, float *__restrict da) {
  for (int64_t k = 0; k < q; k++) {
    const float v = a[k];
    const float dak = v > 0 ? up : v < 0 ? -up : 0.f;
    const float dwk = g[k] * alpha;
    if (da) {
      dw[k] = dwk;
      da[k] = dak;
    } else {
      dw[k] = dwk + dak;
    }
  }
}

/** acc[r] = f(r) for every region, regions in parallel. */
template <class F>
void per_region(const Stream &s, std::vector<double> &acc, F f) {
  acc.assign(static_cast<size_t>(s.p), 0.0);
  parallel_for(s.p, grain_for(s.p, s.q >= 32768 ? 1 : 32768 / s.q + 1), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) acc[static_cast<size_t>(r)] = f(r);
  });
}

}  // namespace

void tile_forward(const Buf &w, const Buf *a, const Buf &out, const Buf &alpha, const Buf &signs, const TileGeom &g) {
  const Stream s = stream(g);
  const float *pw = w.f32("tile weight");
  const float *pa = a ? a->f32("tile alpha source") : nullptr;
  float *po = out.f32("tile output");
  float *pal = alpha.f32("tile alpha");
  float *pt = signs.f32("tile signs");
  need_size(w, s.n, "tileForward", "weight");
  if (a) need_size(*a, s.n, "tileForward", "alpha source");
  need_size(out, s.n, "tileForward", "output");
  need_size(alpha, g.per_layer ? 1 : s.p, "tileForward", "alpha");
  need_size(signs, s.q, "tileForward", "signs");
  const float *sw = in_stream(s, pw, t_in0);
  const float *sa = a ? in_stream(s, pa, t_in1) : sw;
  // Tile signs: blocks of tile positions, each summing its regions in region order.
  const int64_t blocks = (s.q + kJBlock - 1) / kJBlock;
  parallel_for(blocks, grain_for(blocks, s.p * kJBlock >= 32768 ? 1 : 32768 / (s.p * kJBlock) + 1), [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; blk++) {
      const int64_t j0 = blk * kJBlock, len = s.q - j0 < kJBlock ? s.q - j0 : kJBlock;
      signs_block(sw + j0, s.q, s.p, len, pt + j0);
    }
  });
  // α: Σ|A| per region in float64, stored as the reference's Float32Array does.
  std::vector<double> acc;
  per_region(s, acc, [&](int64_t r) { return lane_sum_abs(sa + r * s.q, s.q); });
  if (g.per_layer) {
    float a0 = 0;
    for (int64_t r = 0; r < s.p; r++) a0 = static_cast<float>(static_cast<double>(a0) + acc[static_cast<size_t>(r)]);
    pal[0] = static_cast<float>(static_cast<double>(a0) / static_cast<double>(s.q * s.p));
  } else {
    for (int64_t r = 0; r < s.p; r++)
      pal[r] = static_cast<float>(static_cast<double>(static_cast<float>(acc[static_cast<size_t>(r)])) / static_cast<double>(s.q));
  }
  float *so = s.axis == 0 ? po : scratch(t_out0, s.n);
  parallel_for(s.p, grain_for(s.p, s.q >= 32768 ? 1 : 32768 / s.q + 1), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) scaled_signs(pt, s.q, pal[g.per_layer ? 0 : r], so + r * s.q);
  });
  if (s.axis == 1) transpose(so, po, s.cols, s.rows);
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
  const float *sg = in_stream(s, pg, t_in0);
  const float *sa = in_stream(s, pa, t_in1);
  std::vector<double> acc;
  per_region(s, acc, [&](int64_t r) { return lane_sum_dot(sg + r * s.q, pt, s.q); });
  // dα per α (summed over its regions in region order), then spread over A's signs.
  const int64_t na = g.per_layer ? 1 : s.p;
  std::vector<double> dalpha(static_cast<size_t>(na), 0.0);
  for (int64_t r = 0; r < s.p; r++) dalpha[static_cast<size_t>(g.per_layer ? 0 : r)] += acc[static_cast<size_t>(r)];
  const double region = static_cast<double>(g.per_layer ? s.n : s.q);
  float *sdw = s.axis == 0 ? pdw : scratch(t_out0, s.n);
  float *sda = !pda || s.axis == 0 ? pda : scratch(t_out1, s.n);
  parallel_for(s.p, grain_for(s.p, s.q >= 32768 ? 1 : 32768 / s.q + 1), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const int64_t ai = g.per_layer ? 0 : r;
      const float ar = pal[ai];
      const float up = static_cast<float>(dalpha[static_cast<size_t>(ai)] / region);
      const int64_t at = r * s.q;
      region_backward(sg + at, sa + at, s.q, ar, up, sdw + at, sda ? sda + at : nullptr);
    }
  });
  if (s.axis == 1) {
    transpose(sdw, pdw, s.cols, s.rows);
    if (pda) transpose(sda, pda, s.cols, s.rows);
  }
}

}  // namespace tbn
