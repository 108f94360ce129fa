// tile_math_check.cc — prints what native/kernels/tbn_tile_math.h computes for the tiles it is
// given, so test/gpu/tile-math.test.ts can compare it with src/tbn/tile.ts. The same source is
// built with the host C++ compiler and, when nvcc is there, as CUDA (where every function is
// __host__ __device__): both builds must agree with the TypeScript definition.
// stdin:  count, then per case: rank dims… p axis nbytes bytes… nscales scales…
// stdout: per case the lines decode / s2i / i2s / bits / win / plan / conv described below.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "tbn_tile_math.h"

namespace {

struct Case {
  std::vector<int64_t> shape;
  int64_t p = 1, axis = 0, n = 1, q = 1;
  std::vector<uint8_t> bits;
  std::vector<float> scales;
};

bool read_case(Case &c) {
  long long rank = 0, v = 0;
  if (std::scanf("%lld", &rank) != 1) return false;
  for (long long d = 0; d < rank; d++) {
    if (std::scanf("%lld", &v) != 1) return false;
    c.shape.push_back(v), c.n *= v;
  }
  long long p = 0, axis = 0, nbytes = 0, nscales = 0;
  if (std::scanf("%lld %lld %lld", &p, &axis, &nbytes) != 3) return false;
  c.p = p, c.axis = axis, c.q = c.n / p;
  for (long long i = 0; i < nbytes; i++) {
    if (std::scanf("%lld", &v) != 1) return false;
    c.bits.push_back(static_cast<uint8_t>(v));
  }
  if (std::scanf("%lld", &nscales) != 1) return false;
  for (long long i = 0; i < nscales; i++) {
    float s = 0;
    if (std::scanf("%f", &s) != 1) return false;
    c.scales.push_back(s);
  }
  return true;
}

void run(const Case &c) {
  const int64_t m = c.shape[0], kc = c.n / m, nbytes = static_cast<int64_t>(c.bits.size());
  const int64_t ns = static_cast<int64_t>(c.scales.size());
  const uint8_t *bits = c.bits.data();
  const float *scales = c.scales.data();
  // decode: W in row-major order, each value from its stream position.
  std::printf("decode");
  for (int64_t idx = 0; idx < c.n; idx++)
    std::printf(" %.9g", tbn_stream_value(bits, scales, ns, c.q, tbn_index_to_stream(idx, c.axis, m, kc)));
  std::printf("\ns2i");
  for (int64_t k = 0; k < c.n; k++) std::printf(" %lld", static_cast<long long>(tbn_stream_to_index(k, c.axis, m, kc)));
  std::printf("\ni2s");
  for (int64_t idx = 0; idx < c.n; idx++)
    std::printf(" %lld", static_cast<long long>(tbn_index_to_stream(idx, c.axis, m, kc)));
  std::printf("\nbits");
  for (int64_t j = 0; j < c.q; j++) std::printf(" %d", tbn_tile_bit(bits, j));
  // win: 32-bit windows at every 5th position and the last one (pos:value).
  std::printf("\nwin");
  for (int64_t pos = 0; pos < c.q; pos = pos + 5 < c.q || pos == c.q - 1 ? pos + 5 : c.q - 1)
    std::printf(" %lld:%lu", static_cast<long long>(pos), static_cast<unsigned long>(tbn_tile_window32(bits, nbytes, pos)));
  std::printf("\n");
  // plan: W as [out][in] with shape[0] the output (w_out_first = 1) or the input axis, rebuilt
  // from the strategy's decomposition (tile rows reused with region scales, combined input
  // chunks, or per element).
  for (int wof = 0; wof < 2; wof++) {
    const int64_t out = wof ? m : kc, in = wof ? kc : m;
    const int om = tbn_out_major(wof, c.axis);
    int64_t ro = 0, ri = 0;
    const int mode = tbn_plan_mode(om, out, in, c.p, &ro, &ri);
    std::printf("plan %d %d %d %lld %lld", wof, om, mode, static_cast<long long>(ro), static_cast<long long>(ri));
    for (int64_t o = 0; o < out; o++)
      for (int64_t i = 0; i < in; i++) {
        float w;
        if (mode == TBN_TILE_OUT_REUSE) {
          const int64_t j = tbn_reuse_row(o, ro), r = tbn_reuse_region(o, ro);
          w = tbn_signed(tbn_tile_bit(bits, tbn_tile_bit_index(mode, ri, out, j, i)), tbn_region_scale(scales, ns, r));
        } else if (mode == TBN_TILE_IN_COMBINE) {
          const int64_t r = i / ri, ii = i - r * ri;
          w = tbn_signed(tbn_tile_bit(bits, tbn_tile_bit_index(mode, ri, out, o, ii)), tbn_region_scale(scales, ns, r));
        } else {
          w = tbn_stream_value(bits, scales, ns, c.q, tbn_matrix_stream_pos(om, out, in, o, i));
        }
        std::printf(" %.9g", w);
      }
    std::printf("\n");
  }
  // conv: with shape[0] = output channels in OUT_REUSE, for every group count dividing them:
  // per group, each computed row's tile row and the channels it feeds ("|" between rows, "/"
  // between groups).
  int64_t ro = 0, ri = 0;
  if (tbn_plan_mode(tbn_out_major(1, c.axis), m, kc, c.p, &ro, &ri) != TBN_TILE_OUT_REUSE) return;
  for (int64_t groups = 1; groups <= m; groups++) {
    if (m % groups) continue;
    const int64_t ocg = m / groups, nrows = ocg > ro ? ro : ocg;
    std::printf("conv %lld", static_cast<long long>(groups));
    for (int64_t g = 0; g < groups; g++) {
      const int64_t c0 = g * ocg;
      std::printf(" /");
      for (int64_t t = 0; t < nrows; t++) {
        const int64_t j = tbn_conv_reuse_row(ocg, ro, c0, t);
        std::printf(" | %lld:", static_cast<long long>(j));
        for (int64_t oc = tbn_conv_first_channel(c0, ro, j); oc < c0 + ocg; oc += ro)
          std::printf(" %lld", static_cast<long long>(oc));
      }
    }
    std::printf("\n");
  }
}

}  // namespace

int main() {
  long long count = 0;
  if (std::scanf("%lld", &count) != 1) return 2;
  for (long long i = 0; i < count; i++) {
    Case c;
    if (!read_case(c)) return 2;
    std::printf("case %lld\n", i);
    run(c);
  }
  return 0;
}
