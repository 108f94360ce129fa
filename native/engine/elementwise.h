// elementwise.h — element-wise kernels over whole buffers: unary ops, binary ops with NumPy
// broadcasting (shape + per-operand strides, 0 on broadcast axes; output contiguous), where,
// cast, strided copy (views, optionally accumulating) and fill. Each call checks every operand
// extent against its buffer and the dtypes against the op before touching memory.
#pragma once

#include <cstdint>

#include "common.h"
#include "elementwise_ops.h"

namespace tbn {

/** out[i] = op(x[i]) for i < out.size. */
void unary(UnaryOp op, const Buf &x, const Buf &out, double p0, double p1);
/** out (contiguous over shape) = op(a, b) read through strides sa, sb. a and b share a dtype. */
void binary(BinaryOp op, const Buf &a, const Buf &b, const Buf &out, int rank, const int64_t *shape,
            const int64_t *sa, const int64_t *sb, double p0, double p1);
void where(const Buf &cond, const Buf &a, const Buf &b, const Buf &out, int rank, const int64_t *shape,
           const int64_t *sc, const int64_t *sa, const int64_t *sb);
/** float → int64 truncates toward zero; anything → bool is x ≠ 0 (NaN included). */
void cast(const Buf &x, const Buf &out);
/** dst[d0 + Σ i·ds] (+)= src[s0 + Σ i·ss] over shape; src and dst share a dtype. */
void copy(const Buf &src, int64_t s0, const int64_t *ss, const Buf &dst, int64_t d0, const int64_t *ds, int rank,
          const int64_t *shape, bool accumulate);
/** Every element = value (already converted to the buffer's type by the caller's rules). */
void fill(const Buf &b, double value);

constexpr int kMaxRank = 32;

}  // namespace tbn
