// norm.cc — softmax / log-softmax along the middle axis of [outer, size, inner] and layer
// normalisation of [rows, cols], each way, as the JS backend computes them (float64 sums,
// max-subtracted exponentials). Parallel over independent lines.
#include <cmath>

#include "kernels.h"
#include "thread_pool.h"

namespace tbn {

namespace {

void check_lines(const char *op, int64_t outer, int64_t size, int64_t inner, std::initializer_list<const Buf *> bufs) {
  const int64_t n = mul_checked(mul_checked(outer, size, op), inner, op);
  for (const Buf *b : bufs) {
    b->f32(op);
    need_size(*b, n, op, "operand");
  }
}

}  // namespace

void softmax(const Buf &x, const Buf &out, int64_t outer, int64_t size, int64_t inner, bool log) {
  check_lines("softmax", outer, size, inner, {&x, &out});
  const float *px = static_cast<const float *>(x.data);
  float *po = static_cast<float *>(out.data);
  const int64_t lines = outer * inner;
  parallel_for(lines, grain_for(lines, size >= 1024 ? 1 : 1024 / (size + 1) + 1), [&](int64_t b, int64_t e) {
    for (int64_t l = b; l < e; l++) {
      const int64_t base = (l / inner) * size * inner + l % inner;
      double mx = -INFINITY;
      for (int64_t s = 0; s < size; s++) {
        const double v = px[base + s * inner];
        mx = (v != v || mx != mx) ? NAN : (v > mx ? v : mx);
      }
      double sum = 0;
      for (int64_t s = 0; s < size; s++) sum += std::exp(px[base + s * inner] - mx);
      if (log) {
        const double lse = mx + std::log(sum);
        for (int64_t s = 0; s < size; s++) po[base + s * inner] = static_cast<float>(px[base + s * inner] - lse);
      } else {
        for (int64_t s = 0; s < size; s++) po[base + s * inner] = static_cast<float>(std::exp(px[base + s * inner] - mx) / sum);
      }
    }
  });
}

void softmax_backward(const Buf &y, const Buf &dy, const Buf &dx, int64_t outer, int64_t size, int64_t inner, bool log) {
  check_lines("softmaxBackward", outer, size, inner, {&y, &dy, &dx});
  const float *py = static_cast<const float *>(y.data), *pd = static_cast<const float *>(dy.data);
  float *po = static_cast<float *>(dx.data);
  const int64_t lines = outer * inner;
  parallel_for(lines, grain_for(lines, size >= 1024 ? 1 : 1024 / (size + 1) + 1), [&](int64_t b, int64_t e) {
    for (int64_t l = b; l < e; l++) {
      const int64_t base = (l / inner) * size * inner + l % inner;
      double dot = 0;
      for (int64_t s = 0; s < size; s++) {
        const int64_t k = base + s * inner;
        dot += log ? static_cast<double>(pd[k]) : static_cast<double>(pd[k]) * py[k];
      }
      for (int64_t s = 0; s < size; s++) {
        const int64_t k = base + s * inner;
        po[k] = static_cast<float>(log ? pd[k] - std::exp(static_cast<double>(py[k])) * dot : py[k] * (pd[k] - dot));
      }
    }
  });
}

void layer_norm(const Buf &x, const Buf &out, const Buf &inv_std, int64_t rows, int64_t cols, double eps) {
  check_lines("layerNorm", rows, cols, 1, {&x, &out});
  inv_std.f32("layerNorm invStd");
  need_size(inv_std, rows, "layerNorm", "invStd");
  const float *px = static_cast<const float *>(x.data);
  float *po = static_cast<float *>(out.data);
  float *pi = static_cast<float *>(inv_std.data);
  parallel_for(rows, grain_for(rows, cols >= 2048 ? 1 : 2048 / (cols + 1) + 1), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const float *xr = px + r * cols;
      double mean = 0;
      for (int64_t c = 0; c < cols; c++) mean += xr[c];
      mean /= static_cast<double>(cols);
      double v = 0;
      for (int64_t c = 0; c < cols; c++) {
        const double d = xr[c] - mean;
        v += d * d;
      }
      const double inv = 1.0 / std::sqrt(v / static_cast<double>(cols) + eps);
      pi[r] = static_cast<float>(inv);
      for (int64_t c = 0; c < cols; c++) po[r * cols + c] = static_cast<float>((xr[c] - mean) * inv);
    }
  });
}

void layer_norm_backward(const Buf &xhat, const Buf &inv_std, const Buf &dy, const Buf &dx, int64_t rows, int64_t cols) {
  check_lines("layerNormBackward", rows, cols, 1, {&xhat, &dy, &dx});
  inv_std.f32("layerNormBackward invStd");
  need_size(inv_std, rows, "layerNormBackward", "invStd");
  const float *ph = static_cast<const float *>(xhat.data), *pd = static_cast<const float *>(dy.data);
  const float *pi = static_cast<const float *>(inv_std.data);
  float *po = static_cast<float *>(dx.data);
  parallel_for(rows, grain_for(rows, cols >= 2048 ? 1 : 2048 / (cols + 1) + 1), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const int64_t o = r * cols;
      double m1 = 0, m2 = 0;
      for (int64_t c = 0; c < cols; c++) {
        m1 += pd[o + c];
        m2 += static_cast<double>(pd[o + c]) * ph[o + c];
      }
      m1 /= static_cast<double>(cols);
      m2 /= static_cast<double>(cols);
      const double inv = pi[r];
      for (int64_t c = 0; c < cols; c++) po[o + c] = static_cast<float>(inv * (pd[o + c] - m1 - ph[o + c] * m2));
    }
  });
}

}  // namespace tbn
