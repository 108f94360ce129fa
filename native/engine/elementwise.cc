// elementwise.cc — loops of the element-wise kernels. Axes every operand walks contiguously are
// merged and size-1 axes dropped (as the JS backend's collapse()); the remaining iteration is
// cut into segments of at most kSeg elements of one row, which the pool runs in parallel.
// float32 ops of the "fast" set run in float with unit/zero-stride inner loops the compiler
// vectorises; every other dtype/op combination converts blocks to double, applies the double
// formula (what the JS backend computes) and converts back with typed-array store semantics.
#include "elementwise.h"

#include <cmath>
#include <cstring>

#include "thread_pool.h"

namespace tbn {

#define TBN_NAME_ENTRY(id, name) name,
const char *const kUnaryNames[] = {TBN_UNARY_OPS(TBN_NAME_ENTRY) nullptr};
const char *const kBinaryNames[] = {TBN_BINARY_OPS(TBN_NAME_ENTRY) nullptr};
#undef TBN_NAME_ENTRY

namespace {

constexpr int64_t kSeg = 16384;   // longest piece of a row one task handles
constexpr int64_t kBlock = 256;   // elements converted at a time on the double path

struct Iter {
  int rank = 0;  // outer axes (the last one, `n` long, is the inner row)
  int ops = 0;
  int64_t dims[kMaxRank] = {};
  int64_t st[4][kMaxRank] = {};
  int64_t n = 1;
  int64_t inner[4] = {};
  int64_t rows = 0;
};

Iter collapse(int rank, const int64_t *shape, const int64_t *const *strides, int ops) {
  if (rank > kMaxRank) fail("element-wise op over more than 32 axes");
  Iter it;
  it.ops = ops;
  int r = 0;
  for (int i = 0; i < rank; i++) {
    const int64_t d = shape[i];
    if (d == 1) continue;
    bool merge = r > 0;
    for (int k = 0; k < ops && merge; k++) merge = it.st[k][r - 1] == strides[k][i] * d;
    if (merge) {
      it.dims[r - 1] *= d;
      for (int k = 0; k < ops; k++) it.st[k][r - 1] = strides[k][i];
    } else {
      it.dims[r] = d;
      for (int k = 0; k < ops; k++) it.st[k][r] = strides[k][i];
      r++;
    }
  }
  if (r == 0) {
    it.dims[0] = 1;
    for (int k = 0; k < ops; k++) it.st[k][0] = 0;
    r = 1;
  }
  it.rank = r - 1;
  it.n = it.dims[r - 1];
  for (int k = 0; k < ops; k++) it.inner[k] = it.st[k][r - 1];
  int64_t total = 1;
  for (int i = 0; i < r; i++) total *= it.dims[i];
  it.rows = it.n == 0 ? 0 : total / it.n;
  return it;
}

/**
 * Calls body(offsets, len) for every row segment; offsets[k] is operand k's element offset of
 * the segment's first element (walking `inner[k]` per element). Parallel over segments.
 */
template <class Body>
void for_segments(const Iter &it, const int64_t *base, Body body) {
  if (it.rows == 0 || it.n == 0) return;
  const int64_t seg = it.n < kSeg ? it.n : kSeg;
  const int64_t per_row = (it.n + seg - 1) / seg;
  const int64_t total = it.rows * per_row;
  const int64_t grain = grain_for(total, (65536 + seg - 1) / seg);
  parallel_for(total, grain, [&](int64_t s0, int64_t s1) {
    int64_t row = s0 / per_row;
    int64_t idx[kMaxRank];
    int64_t offs[4];
    int64_t rem = row;
    for (int k = 0; k < it.ops; k++) offs[k] = base[k];
    for (int d = it.rank - 1; d >= 0; d--) {
      idx[d] = rem % it.dims[d];
      rem /= it.dims[d];
      for (int k = 0; k < it.ops; k++) offs[k] += idx[d] * it.st[k][d];
    }
    for (int64_t s = s0; s < s1;) {
      const int64_t cur_row = s / per_row;
      for (; s < s1 && s / per_row == cur_row; s++) {
        const int64_t j0 = (s % per_row) * seg;
        const int64_t len = it.n - j0 < seg ? it.n - j0 : seg;
        int64_t o[4];
        for (int k = 0; k < it.ops; k++) o[k] = offs[k] + j0 * it.inner[k];
        body(o, len);
      }
      for (int d = it.rank - 1; d >= 0; d--) {  // next row
        for (int k = 0; k < it.ops; k++) offs[k] += it.st[k][d];
        if (++idx[d] < it.dims[d]) break;
        for (int k = 0; k < it.ops; k++) offs[k] -= it.st[k][d] * it.dims[d];
        idx[d] = 0;
      }
    }
  });
}

// ---- conversions on the double path ------------------------------------------------------

inline void load(const Buf &b, int64_t off, int64_t stride, int64_t n, double *dst) {
  switch (b.dtype) {
    case DType::f32: {
      const float *p = static_cast<const float *>(b.data) + off;
      for (int64_t i = 0; i < n; i++) dst[i] = p[i * stride];
      break;
    }
    case DType::i64: {
      const double *p = static_cast<const double *>(b.data) + off;
      for (int64_t i = 0; i < n; i++) dst[i] = p[i * stride];
      break;
    }
    case DType::b8: {
      const uint8_t *p = static_cast<const uint8_t *>(b.data) + off;
      for (int64_t i = 0; i < n; i++) dst[i] = p[i * stride];
      break;
    }
  }
}

/** ToUint8: what storing a number into a Uint8Array does. */
inline uint8_t to_u8(double v) {
  if (!std::isfinite(v)) return 0;
  double m = std::fmod(std::trunc(v), 256.0);
  if (m < 0) m += 256.0;
  return static_cast<uint8_t>(m);
}

inline void store(const Buf &b, int64_t off, int64_t n, const double *src) {
  switch (b.dtype) {
    case DType::f32: {
      float *p = static_cast<float *>(b.data) + off;
      for (int64_t i = 0; i < n; i++) p[i] = static_cast<float>(src[i]);
      break;
    }
    case DType::i64:
      std::memcpy(static_cast<double *>(b.data) + off, src, sizeof(double) * n);
      break;
    case DType::b8: {
      uint8_t *p = static_cast<uint8_t *>(b.data) + off;
      for (int64_t i = 0; i < n; i++) p[i] = to_u8(src[i]);
      break;
    }
  }
}

// ---- unary ---------------------------------------------------------------------------------

template <UnaryOp OP>
void unary_fast(const float *x, float *o, int64_t n, float p0, float p1) {
  parallel_for(n, grain_for(n, 65536), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) o[i] = ew::unary<OP, float>(x[i], p0, p1);
  });
}

template <UnaryOp OP>
void unary_slow(const Buf &x, const Buf &out, int64_t n, double p0, double p1) {
  parallel_for(n, grain_for(n, 32768), [&](int64_t b, int64_t e) {
    double t[kBlock];
    for (int64_t i = b; i < e; i += kBlock) {
      const int64_t len = e - i < kBlock ? e - i : kBlock;
      load(x, i, 1, len, t);
      for (int64_t j = 0; j < len; j++) t[j] = ew::unary<OP, double>(t[j], p0, p1);
      store(out, i, len, t);
    }
  });
}

template <UnaryOp OP>
void unary_op(const Buf &x, const Buf &out, int64_t n, double p0, double p1) {
  if constexpr (ew::unary_fast(OP)) {
    if (x.dtype == DType::f32 && out.dtype == DType::f32) {
      unary_fast<OP>(static_cast<const float *>(x.data), static_cast<float *>(out.data), n, static_cast<float>(p0),
                     static_cast<float>(p1));
      return;
    }
  }
  unary_slow<OP>(x, out, n, p0, p1);
}

// ---- binary --------------------------------------------------------------------------------

template <BinaryOp OP>
void binary_fast_row(const float *a, int64_t sa, const float *b, int64_t sb, float *o, int64_t n, float p0, float p1) {
  if (sa == 1 && sb == 1) {
    for (int64_t j = 0; j < n; j++) o[j] = ew::binary<OP, float>(a[j], b[j], p0, p1);
  } else if (sa == 1 && sb == 0) {
    const float y = b[0];
    for (int64_t j = 0; j < n; j++) o[j] = ew::binary<OP, float>(a[j], y, p0, p1);
  } else if (sa == 0 && sb == 1) {
    const float x = a[0];
    for (int64_t j = 0; j < n; j++) o[j] = ew::binary<OP, float>(x, b[j], p0, p1);
  } else if (sa == 0 && sb == 0) {
    const float v = ew::binary<OP, float>(a[0], b[0], p0, p1);
    for (int64_t j = 0; j < n; j++) o[j] = v;
  } else {
    for (int64_t j = 0; j < n; j++) o[j] = ew::binary<OP, float>(a[j * sa], b[j * sb], p0, p1);
  }
}

/** The JS backend's integer division: int64 ÷ int64 truncates, and ÷ 0 gives 0. */
inline double int_div(double x, double y) { return y == 0 ? 0 : std::trunc(x / y); }

template <BinaryOp OP>
void binary_op(const Buf &a, const Buf &b, const Buf &out, const Iter &it, double p0, double p1) {
  const int64_t base[3] = {0, 0, 0};
  if constexpr (ew::binary_fast(OP)) {
    if (a.dtype == DType::f32 && out.dtype == DType::f32) {
      const float *pa = static_cast<const float *>(a.data), *pb = static_cast<const float *>(b.data);
      float *po = static_cast<float *>(out.data);
      const float f0 = static_cast<float>(p0), f1 = static_cast<float>(p1);
      for_segments(it, base, [&](const int64_t *o, int64_t len) {
        binary_fast_row<OP>(pa + o[0], it.inner[0], pb + o[1], it.inner[1], po + o[2], len, f0, f1);
      });
      return;
    }
  }
  const bool int_div_rule = OP == BinaryOp::div && a.dtype == DType::i64 && out.dtype == DType::i64;
  for_segments(it, base, [&](const int64_t *o, int64_t len) {
    double x[kBlock], y[kBlock];
    for (int64_t j = 0; j < len; j += kBlock) {
      const int64_t m = len - j < kBlock ? len - j : kBlock;
      load(a, o[0] + j * it.inner[0], it.inner[0], m, x);
      load(b, o[1] + j * it.inner[1], it.inner[1], m, y);
      if (int_div_rule) {
        for (int64_t i = 0; i < m; i++) x[i] = int_div(x[i], y[i]);
      } else {
        for (int64_t i = 0; i < m; i++) x[i] = ew::binary<OP, double>(x[i], y[i], p0, p1);
      }
      store(out, o[2] + j, m, x);
    }
  });
}

// ---- where / copy by element size ----------------------------------------------------------

template <class T>
void where_typed(const uint8_t *c, const T *a, const T *b, T *out, const Iter &it) {
  const int64_t base[4] = {0, 0, 0, 0};
  for_segments(it, base, [&](const int64_t *o, int64_t len) {
    const uint8_t *cc = c + o[0];
    const T *aa = a + o[1];
    const T *bb = b + o[2];
    T *oo = out + o[3];
    const int64_t sc = it.inner[0], sa = it.inner[1], sb = it.inner[2];
    for (int64_t j = 0; j < len; j++) oo[j] = cc[j * sc] ? aa[j * sa] : bb[j * sb];
  });
}

template <class T>
void copy_typed(const T *src, int64_t s0, T *dst, int64_t d0, const Iter &it, bool acc) {
  const int64_t base[2] = {s0, d0};
  for_segments(it, base, [&](const int64_t *o, int64_t len) {
    const T *s = src + o[0];
    T *d = dst + o[1];
    const int64_t ss = it.inner[0], ds = it.inner[1];
    if (acc) {
      for (int64_t j = 0; j < len; j++) d[j * ds] = static_cast<T>(d[j * ds] + s[j * ss]);
    } else if (ss == 1 && ds == 1) {
      std::memcpy(d, s, sizeof(T) * len);
    } else {
      for (int64_t j = 0; j < len; j++) d[j * ds] = s[j * ss];
    }
  });
}

void contiguous_strides(int rank, const int64_t *shape, int64_t *out) {
  int64_t acc = 1;
  for (int i = rank - 1; i >= 0; i--) {
    out[i] = acc;
    acc *= shape[i];
  }
}

}  // namespace

void unary(UnaryOp op, const Buf &x, const Buf &out, double p0, double p1) {
  const int64_t n = out.size;
  need_size(x, n, "unary", "input");
  switch (op) {
#define TBN_CASE(id, name)                    \
  case UnaryOp::id:                           \
    unary_op<UnaryOp::id>(x, out, n, p0, p1); \
    return;
    TBN_UNARY_OPS(TBN_CASE)
#undef TBN_CASE
    default:
      fail("unknown unary op");
  }
}

void binary(BinaryOp op, const Buf &a, const Buf &b, const Buf &out, int rank, const int64_t *shape,
            const int64_t *sa, const int64_t *sb, double p0, double p1) {
  if (rank < 0 || rank > kMaxRank) fail("binary: rank out of range");
  if (a.dtype != b.dtype) fail("binary: operands of different types");
  const int64_t n = numel(shape, rank, "binary");
  int64_t so[kMaxRank];
  contiguous_strides(rank, shape, so);
  need_view(a, 0, shape, sa, rank, "binary", "first input");
  need_view(b, 0, shape, sb, rank, "binary", "second input");
  need_size(out, n, "binary", "output");
  const int64_t *strides[3] = {sa, sb, so};
  const Iter it = collapse(rank, shape, strides, 3);
  switch (op) {
#define TBN_CASE(id, name)                          \
  case BinaryOp::id:                                \
    binary_op<BinaryOp::id>(a, b, out, it, p0, p1); \
    return;
    TBN_BINARY_OPS(TBN_CASE)
#undef TBN_CASE
    default:
      fail("unknown binary op");
  }
}

void where(const Buf &cond, const Buf &a, const Buf &b, const Buf &out, int rank, const int64_t *shape,
           const int64_t *sc, const int64_t *sa, const int64_t *sb) {
  if (rank < 0 || rank > kMaxRank) fail("where: rank out of range");
  const uint8_t *c = cond.u8("where condition");
  if (a.dtype != b.dtype || a.dtype != out.dtype) fail("where: branches and output must share a type");
  const int64_t n = numel(shape, rank, "where");
  int64_t so[kMaxRank];
  contiguous_strides(rank, shape, so);
  need_view(cond, 0, shape, sc, rank, "where", "condition");
  need_view(a, 0, shape, sa, rank, "where", "first branch");
  need_view(b, 0, shape, sb, rank, "where", "second branch");
  need_size(out, n, "where", "output");
  const int64_t *strides[4] = {sc, sa, sb, so};
  const Iter it = collapse(rank, shape, strides, 4);
  switch (a.dtype) {
    case DType::f32: where_typed(c, static_cast<const float *>(a.data), static_cast<const float *>(b.data), static_cast<float *>(out.data), it); break;
    case DType::i64: where_typed(c, static_cast<const double *>(a.data), static_cast<const double *>(b.data), static_cast<double *>(out.data), it); break;
    case DType::b8: where_typed(c, static_cast<const uint8_t *>(a.data), static_cast<const uint8_t *>(b.data), static_cast<uint8_t *>(out.data), it); break;
  }
}

void cast(const Buf &x, const Buf &out) {
  const int64_t n = out.size;
  need_size(x, n, "cast", "input");
  parallel_for(n, grain_for(n, 32768), [&](int64_t b, int64_t e) {
    double t[kBlock];
    for (int64_t i = b; i < e; i += kBlock) {
      const int64_t len = e - i < kBlock ? e - i : kBlock;
      load(x, i, 1, len, t);
      if (out.dtype == DType::b8) {
        uint8_t *o = static_cast<uint8_t *>(out.data) + i;
        for (int64_t j = 0; j < len; j++) o[j] = t[j] != 0 ? 1 : 0;  // NaN ≠ 0: true
        continue;
      }
      if (out.dtype == DType::i64 && x.dtype != DType::i64)
        for (int64_t j = 0; j < len; j++) t[j] = std::trunc(t[j]);
      store(out, i, len, t);
    }
  });
}

void copy(const Buf &src, int64_t s0, const int64_t *ss, const Buf &dst, int64_t d0, const int64_t *ds, int rank,
          const int64_t *shape, bool accumulate) {
  if (rank < 0 || rank > kMaxRank) fail("copy: rank out of range");
  if (src.dtype != dst.dtype) fail("copy: source and destination of different types");
  need_view(src, s0, shape, ss, rank, "copy", "source");
  need_view(dst, d0, shape, ds, rank, "copy", "destination");
  if (numel(shape, rank, "copy") == 0) return;
  const int64_t *strides[2] = {ss, ds};
  const Iter it = collapse(rank, shape, strides, 2);
  switch (src.dtype) {
    case DType::f32: copy_typed(static_cast<const float *>(src.data), s0, static_cast<float *>(dst.data), d0, it, accumulate); break;
    case DType::i64: copy_typed(static_cast<const double *>(src.data), s0, static_cast<double *>(dst.data), d0, it, accumulate); break;
    case DType::b8: copy_typed(static_cast<const uint8_t *>(src.data), s0, static_cast<uint8_t *>(dst.data), d0, it, accumulate); break;
  }
}

void fill(const Buf &b, double value) {
  const int64_t n = b.size;
  parallel_for(n, grain_for(n, 65536), [&](int64_t s, int64_t e) {
    switch (b.dtype) {
      case DType::f32: {
        float *p = static_cast<float *>(b.data);
        const float v = static_cast<float>(value);
        for (int64_t i = s; i < e; i++) p[i] = v;
        break;
      }
      case DType::i64: {
        double *p = static_cast<double *>(b.data);
        for (int64_t i = s; i < e; i++) p[i] = value;
        break;
      }
      case DType::b8:
        std::memset(static_cast<uint8_t *>(b.data) + s, to_u8(value), e - s);
        break;
    }
  });
}

}  // namespace tbn
