// reduce.cc — reductions over the middle axis of [outer, size, inner] and arg-max/min, with the
// JS backend's semantics: float64 accumulators, NaN propagating through max/min, ties going to
// the first (or last) index, results stored in the output buffer's type. Parallel over
// independent outputs only, so each result is the same for every thread count.
#include <cmath>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernels.h"
#include "thread_pool.h"

namespace tbn {

const char *const kReduceNames[] = {"sum", "max", "min", "prod", nullptr};

namespace {

constexpr int64_t kInnerBlock = 512;

inline double ld(const Buf &b, int64_t i) {
  switch (b.dtype) {
    case DType::f32: return static_cast<const float *>(b.data)[i];
    case DType::i64: return static_cast<const double *>(b.data)[i];
    case DType::b8: return static_cast<const uint8_t *>(b.data)[i];
  }
  return 0;
}

inline void st(const Buf &b, int64_t i, double v) {
  switch (b.dtype) {
    case DType::f32: static_cast<float *>(b.data)[i] = static_cast<float>(v); break;
    case DType::i64: static_cast<double *>(b.data)[i] = v; break;
    case DType::b8: {
      double m = std::isfinite(v) ? std::fmod(std::trunc(v), 256.0) : 0;
      if (m < 0) m += 256;
      static_cast<uint8_t *>(b.data)[i] = static_cast<uint8_t>(m);
      break;
    }
  }
}

template <ReduceOp OP> inline double step(double acc, double v) {
  if constexpr (OP == ReduceOp::sum) return acc + v;
  else if constexpr (OP == ReduceOp::prod) return acc * v;
  else if constexpr (OP == ReduceOp::max) return (v > acc || v != v) ? v : acc;
  else return (v < acc || v != v) ? v : acc;
}

template <ReduceOp OP> constexpr double init() {
  return OP == ReduceOp::sum ? 0.0 : OP == ReduceOp::prod ? 1.0 : OP == ReduceOp::max ? -INFINITY : INFINITY;
}

/** Σ of a contiguous float row in float64, eight chains (sum only). */
inline double sum_row(const float *x, int64_t n) {
  int64_t i = 0;
  double t = 0;
#if defined(__SSE2__)
  __m128d s0 = _mm_setzero_pd(), s1 = _mm_setzero_pd(), s2 = _mm_setzero_pd(), s3 = _mm_setzero_pd();
  for (; i + 8 <= n; i += 8) {
    const __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
    s0 = _mm_add_pd(s0, _mm_cvtps_pd(a));
    s1 = _mm_add_pd(s1, _mm_cvtps_pd(_mm_movehl_ps(a, a)));
    s2 = _mm_add_pd(s2, _mm_cvtps_pd(b));
    s3 = _mm_add_pd(s3, _mm_cvtps_pd(_mm_movehl_ps(b, b)));
  }
  double lanes[2];
  _mm_storeu_pd(lanes, _mm_add_pd(_mm_add_pd(s0, s1), _mm_add_pd(s2, s3)));
  t = lanes[0] + lanes[1];
#endif
  for (; i < n; i++) t += x[i];
  return t;
}

template <ReduceOp OP>
void reduce_op(const Buf &x, const Buf &out, int64_t outer, int64_t size, int64_t inner) {
  if (inner == 1) {
    parallel_for(outer, grain_for(outer, size >= 4096 ? 1 : 4096 / (size + 1) + 1), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; o++) {
        double acc = init<OP>();
        if (OP == ReduceOp::sum && x.dtype == DType::f32) {
          acc = sum_row(static_cast<const float *>(x.data) + o * size, size);
        } else {
          for (int64_t s = 0; s < size; s++) acc = step<OP>(acc, ld(x, o * size + s));
        }
        st(out, o, acc);
      }
    });
    return;
  }
  const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  const int64_t tasks = outer * blocks;
  parallel_for(tasks, grain_for(tasks, size * kInnerBlock >= 65536 ? 1 : 65536 / (size * kInnerBlock + 1) + 1),
               [&](int64_t b, int64_t e) {
    double acc[kInnerBlock];
    for (int64_t t = b; t < e; t++) {
      const int64_t o = t / blocks, i0 = (t % blocks) * kInnerBlock;
      const int64_t len = inner - i0 < kInnerBlock ? inner - i0 : kInnerBlock;
      for (int64_t i = 0; i < len; i++) acc[i] = init<OP>();
      const int64_t base = o * size * inner + i0;
      if (x.dtype == DType::f32) {
        const float *p = static_cast<const float *>(x.data) + base;
        for (int64_t s = 0; s < size; s++, p += inner)
          for (int64_t i = 0; i < len; i++) acc[i] = step<OP>(acc[i], p[i]);
      } else {
        for (int64_t s = 0; s < size; s++)
          for (int64_t i = 0; i < len; i++) acc[i] = step<OP>(acc[i], ld(x, base + s * inner + i));
      }
      for (int64_t i = 0; i < len; i++) st(out, o * inner + i0 + i, acc[i]);
    }
  });
}

}  // namespace

void reduce(ReduceOp op, const Buf &x, const Buf &out, int64_t outer, int64_t size, int64_t inner) {
  const int64_t n = mul_checked(mul_checked(outer, size, "reduce"), inner, "reduce");
  need_size(x, n, "reduce", "input");
  need_size(out, mul_checked(outer, inner, "reduce"), "reduce", "output");
  switch (op) {
    case ReduceOp::sum: reduce_op<ReduceOp::sum>(x, out, outer, size, inner); return;
    case ReduceOp::max: reduce_op<ReduceOp::max>(x, out, outer, size, inner); return;
    case ReduceOp::min: reduce_op<ReduceOp::min>(x, out, outer, size, inner); return;
    case ReduceOp::prod: reduce_op<ReduceOp::prod>(x, out, outer, size, inner); return;
  }
  fail("unknown reduce op");
}

void arg_reduce(bool max, const Buf &x, const Buf &out, int64_t outer, int64_t size, int64_t inner, bool select_last) {
  const int64_t n = mul_checked(mul_checked(outer, size, "argReduce"), inner, "argReduce");
  need_size(x, n, "argReduce", "input");
  double *o = out.f64("argReduce output");
  const int64_t lines = mul_checked(outer, inner, "argReduce");
  need_size(out, lines, "argReduce", "output");
  const double sign = max ? 1.0 : -1.0;
  parallel_for(lines, grain_for(lines, 1024), [&](int64_t b, int64_t e) {
    for (int64_t l = b; l < e; l++) {
      const int64_t base = (l / inner) * size * inner + l % inner;
      double best = -INFINITY;
      int64_t at = 0;
      for (int64_t s = 0; s < size; s++) {
        const double v = sign * ld(x, base + s * inner);
        if (v > best || (select_last && v == best)) {
          best = v;
          at = s;
        }
      }
      o[l] = static_cast<double>(at);
    }
  });
}

}  // namespace tbn
