// channel.cc — the per-channel affine of BatchNormalization (running statistics folded into
// scale and shift), optionally followed by ReLU, one pass each way over x viewed as
// [outer, channels, inner]:
//   forward   y = x·s[c] + b[c]               (relu: 0 where negative, as the relu op)
//   backward  g = dy (relu: dy where x·s[c] + b[c] > 0, recomputed from x, else 0)
//             dx = g·s[c];  ds[c] = Σ g·x;  db[c] = Σ g
// Channel sums run per channel in a fixed order (16 float lanes per [inner] row, rows added in
// float64), so they do not depend on the thread count. x·s + b is rounded twice, never fused,
// as the JS reference computes it (the build passes -ffp-contract=off).
#include "kernels.h"
#include "thread_pool.h"


namespace tbn {

namespace {

void check(const char *op, int64_t outer, int64_t channels, int64_t inner, std::initializer_list<const Buf *> full,
           std::initializer_list<const Buf *> per_channel) {
  if (outer < 0 || channels < 0 || inner < 0) fail(std::string(op) + ": negative size");
  const int64_t n = mul_checked(mul_checked(outer, channels, op), inner, op);
  for (const Buf *b : full) {
    b->f32(op);
    need_size(*b, n, op, "operand");
  }
  for (const Buf *b : per_channel) {
    b->f32(op);
    need_size(*b, channels, op, "per-channel operand");
  }
}

TBN_WIDE void affine_row(const float *__restrict x, float *__restrict y, int64_t n, float s, float b, bool relu) {
  if (relu) {
    for (int64_t i = 0; i < n; i++) {
      const float v = x[i] * s + b;
      y[i] = v < 0.f ? 0.f : v;  // as the relu op: NaN and −0 pass
    }
  } else {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * s + b;
  }
}

/** One [inner] row of the backward pass: writes dx (when given), returns Σ g·x and Σ g. */
TBN_WIDE void backward_row(const float *__restrict x, const float *__restrict dy, float *__restrict dx, int64_t n,
                           float s, float b, bool relu, double &sum_gx, double &sum_g) {
  constexpr int L = 16;
  float gx[L] = {}, gs[L] = {};
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    for (int l = 0; l < L; l++) {
      const float xv = x[i + l];
      const float g = relu && !(xv * s + b > 0.f) ? 0.f : dy[i + l];
      if (dx) dx[i + l] = g * s;
      gx[l] += g * xv;
      gs[l] += g;
    }
  }
  for (int l = 0; i < n; i++, l++) {
    const float xv = x[i];
    const float g = relu && !(xv * s + b > 0.f) ? 0.f : dy[i];
    if (dx) dx[i] = g * s;
    gx[l] += g * xv;
    gs[l] += g;
  }
  double a = 0, c = 0;
  for (int l = 0; l < L; l++) a += gx[l], c += gs[l];
  sum_gx += a;
  sum_g += c;
}

}  // namespace

void channel_affine(const Buf &x, const Buf &scale, const Buf &shift, const Buf &y, int64_t outer, int64_t channels,
                    int64_t inner, bool relu) {
  check("channelAffine", outer, channels, inner, {&x, &y}, {&scale, &shift});
  const float *px = static_cast<const float *>(x.data), *ps = static_cast<const float *>(scale.data),
              *pb = static_cast<const float *>(shift.data);
  float *py = static_cast<float *>(y.data);
  const int64_t rows = outer * channels;
  parallel_for(rows, grain_for(rows, inner >= 4096 ? 1 : 4096 / (inner + 1) + 1), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const int64_t c = r % channels;
      affine_row(px + r * inner, py + r * inner, inner, ps[c], pb[c], relu);
    }
  });
}

void channel_affine_backward(const Buf &x, const Buf &scale, const Buf &shift, const Buf &dy, const Buf *dx,
                             const Buf *dscale, const Buf *dshift, int64_t outer, int64_t channels, int64_t inner,
                             bool relu) {
  check("channelAffineBackward", outer, channels, inner, {&x, &dy}, {&scale, &shift});
  if (dx) check("channelAffineBackward", outer, channels, inner, {dx}, {});
  if (dscale) check("channelAffineBackward", outer, channels, inner, {}, {dscale});
  if (dshift) check("channelAffineBackward", outer, channels, inner, {}, {dshift});
  const float *px = static_cast<const float *>(x.data), *ps = static_cast<const float *>(scale.data),
              *pb = static_cast<const float *>(shift.data), *pdy = static_cast<const float *>(dy.data);
  float *pdx = dx ? static_cast<float *>(dx->data) : nullptr;
  float *pds = dscale ? static_cast<float *>(dscale->data) : nullptr;
  float *pdb = dshift ? static_cast<float *>(dshift->data) : nullptr;
  parallel_for(channels, grain_for(channels, outer * inner >= 4096 ? 1 : 4096 / (outer * inner + 1) + 1),
               [&](int64_t b, int64_t e) {
                 for (int64_t c = b; c < e; c++) {
                   double sum_gx = 0, sum_g = 0;
                   for (int64_t o = 0; o < outer; o++) {
                     const int64_t at = (o * channels + c) * inner;
                     backward_row(px + at, pdy + at, pdx ? pdx + at : nullptr, inner, ps[c], pb[c], relu, sum_gx, sum_g);
                   }
                   if (pds) pds[c] = static_cast<float>(sum_gx);
                   if (pdb) pdb[c] = static_cast<float>(sum_g);
                 }
               });
}

}  // namespace tbn
