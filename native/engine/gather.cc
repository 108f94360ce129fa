// gather.cc — gather along one axis of [outer, axisLen, inner] with int64 (float64-held)
// indices, negative ones counting from the end, and its adjoint (scatter-add into a zeroed
// table). Every index is checked before anything is written; the scatter runs in parallel over
// (outer, column block) so repeated indices still add in index order.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "kernels.h"
#include "thread_pool.h"

namespace tbn {

namespace {

/** Resolved indices (negatives wrapped), or an error naming the first bad one. */
void resolve(const Buf &idx, int64_t axis_len, int64_t *out) {
  const double *p = idx.f64("gather indices");
  for (int64_t j = 0; j < idx.size; j++) {
    const double v = p[j];
    const double i = v < 0 ? v + static_cast<double>(axis_len) : v;
    if (!(i >= 0 && i < static_cast<double>(axis_len)) || i != std::floor(i)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      fail(std::string("gather index ") + buf + " out of range for an axis of " + std::to_string(axis_len));
    }
    out[j] = static_cast<int64_t>(i);
  }
}

struct Indices {
  int64_t *p = nullptr;
  explicit Indices(int64_t n) : p(new int64_t[n > 0 ? n : 1]) {}
  ~Indices() { delete[] p; }
  Indices(const Indices &) = delete;
  Indices &operator=(const Indices &) = delete;
};

}  // namespace

void gather(const Buf &table, const Buf &idx, const Buf &out, int64_t outer, int64_t axis_len, int64_t inner) {
  const int64_t n = idx.size;
  need_size(table, mul_checked(mul_checked(outer, axis_len, "gather"), inner, "gather"), "gather", "table");
  need_size(out, mul_checked(mul_checked(outer, n, "gather"), inner, "gather"), "gather", "output");
  if (table.dtype != out.dtype) fail("gather: table and output of different types");
  Indices ix(n);
  resolve(idx, axis_len, ix.p);
  const size_t es = dtype_bytes(table.dtype);
  const uint8_t *src = static_cast<const uint8_t *>(table.data);
  uint8_t *dst = static_cast<uint8_t *>(out.data);
  const int64_t rows = outer * n;
  parallel_for(rows, grain_for(rows, inner >= 4096 ? 1 : 4096 / (inner + 1) + 1), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const int64_t o = r / n, j = r % n;
      std::memcpy(dst + static_cast<size_t>(r * inner) * es, src + static_cast<size_t>((o * axis_len + ix.p[j]) * inner) * es,
                  static_cast<size_t>(inner) * es);
    }
  });
}

void gather_backward(const Buf &dy, const Buf &idx, const Buf &d_table, int64_t outer, int64_t axis_len, int64_t inner) {
  const int64_t n = idx.size;
  const float *g = dy.f32("gatherBackward dy");
  float *t = d_table.f32("gatherBackward table gradient");
  need_size(dy, mul_checked(mul_checked(outer, n, "gatherBackward"), inner, "gatherBackward"), "gatherBackward", "dy");
  need_size(d_table, mul_checked(mul_checked(outer, axis_len, "gatherBackward"), inner, "gatherBackward"), "gatherBackward",
            "table gradient");
  Indices ix(n);
  resolve(idx, axis_len, ix.p);
  constexpr int64_t kCols = 256;
  const int64_t blocks = (inner + kCols - 1) / kCols;
  const int64_t tasks = outer * blocks;
  parallel_for(tasks, grain_for(tasks, 1), [&](int64_t b, int64_t e) {
    for (int64_t task = b; task < e; task++) {
      const int64_t o = task / blocks, c0 = (task % blocks) * kCols;
      const int64_t len = inner - c0 < kCols ? inner - c0 : kCols;
      for (int64_t j = 0; j < n; j++) {
        float *d = t + (o * axis_len + ix.p[j]) * inner + c0;
        const float *s = g + (o * n + j) * inner + c0;
        for (int64_t i = 0; i < len; i++) d[i] += s[i];
      }
    }
  });
}

}  // namespace tbn
