// geometry.h — the geometry of each kernel call, as the TypeScript backend
// (src/engine/backends/native.ts) passes it: one Float64Array of numbers in a fixed order. The
// order is written here once. The readers below are generated from it, and so is the text that
// geometryLayouts() hands the TypeScript side, whose packer is built from that text at load
// (fields by name from its parameter objects). test/native/geometry.test.ts packs every layout
// and reads it back through geometryEcho(), name by name.
//
// A layout is a list of fields, each one of
//   INT(ts, c)        an integer                      REAL(ts, c)   a number
//   FLAG(ts, c)       0 or 1                          INTS(ts, c)   `rank` integers
//   RANK(ts, c, max)  an integer 0…max: the length of the INTS fields after it (the TypeScript
//                     side writes the length of the next one)
// where `ts` names the field in the TypeScript parameter object and `c` in the C++ struct.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "common.h"
#include "elementwise.h"
#include "kernels.h"

namespace tbn {

/** Shape and the two operands' strides (0 on broadcast axes) of a binary op. */
struct BroadcastGeom {
  int rank = 0;
  int64_t shape[kMaxRank] = {}, a[kMaxRank] = {}, b[kMaxRank] = {};
};
/** Shape and the condition's and operands' strides of where. */
struct WhereGeom {
  int rank = 0;
  int64_t shape[kMaxRank] = {}, cond[kMaxRank] = {}, a[kMaxRank] = {}, b[kMaxRank] = {};
};
/** A strided copy: shape, and each side's element offset and strides. */
struct CopyGeom {
  int rank = 0;
  int64_t shape[kMaxRank] = {}, src[kMaxRank] = {}, dst[kMaxRank] = {};
  int64_t src_offset = 0, dst_offset = 0;
};

#define TBN_LAYOUT_BROADCAST(INT, REAL, FLAG, RANK, INTS) \
  RANK(rank, rank, kMaxRank) INTS(shape, shape) INTS(aStrides, a) INTS(bStrides, b)
#define TBN_LAYOUT_WHERE(INT, REAL, FLAG, RANK, INTS) \
  RANK(rank, rank, kMaxRank) INTS(shape, shape) INTS(condStrides, cond) INTS(aStrides, a) INTS(bStrides, b)
#define TBN_LAYOUT_COPY(INT, REAL, FLAG, RANK, INTS)                                                      \
  RANK(rank, rank, kMaxRank) INTS(shape, shape) INT(srcOffset, src_offset) INTS(srcStrides, src) \
  INT(dstOffset, dst_offset) INTS(dstStrides, dst)
#define TBN_LAYOUT_ADAM(INT, REAL, FLAG, RANK, INTS)                                                           \
  REAL(lr, lr) REAL(beta1, beta1) REAL(beta2, beta2) REAL(eps, eps) REAL(step, step) REAL(weightDecay, weight_decay) \
  FLAG(decoupled, decoupled)
#define TBN_LAYOUT_MATMUL(INT, REAL, FLAG, RANK, INTS)                                                          \
  INT(m, m) INT(n, n) INT(k, k) FLAG(transA, trans_a) FLAG(transB, trans_b) RANK(batchRank, batch_rank, kMaxBatch) \
  INTS(batch, batch) INTS(aBatchStrides, a_strides) INTS(bBatchStrides, b_strides)
#define TBN_LAYOUT_CONV(INT, REAL, FLAG, RANK, INTS)                                                            \
  INT(batch, batch) INT(inChannels, in_c) INT(outChannels, out_c) INT(group, group) RANK(rank, rank, 3)       \
  INTS(inShape, in) INTS(kernel, kernel) INTS(outShape, out) INTS(strides, stride) INTS(padsBegin, pad) \
  INTS(dilations, dil)
#define TBN_LAYOUT_POOL(INT, REAL, FLAG, RANK, INTS)                                                    \
  INT(planes, planes) RANK(rank, rank, 3) INTS(inShape, in) INTS(kernel, kernel) INTS(outShape, out) \
  INTS(strides, stride) INTS(padsBegin, pad_begin) INTS(padsEnd, pad_end) INTS(dilations, dil)       \
  FLAG(countIncludePad, count_include_pad)
#define TBN_LAYOUT_TILE(INT, REAL, FLAG, RANK, INTS) \
  INT(rows, rows) INT(cols, cols) INT(p, p) INT(tileAxis, axis) FLAG(perLayer, per_layer)

/** Every layout: X(name, struct, layout). */
#define TBN_GEOMETRIES(X)                              \
  X(broadcast, BroadcastGeom, TBN_LAYOUT_BROADCAST) \
  X(where, WhereGeom, TBN_LAYOUT_WHERE)             \
  X(copy, CopyGeom, TBN_LAYOUT_COPY)                \
  X(adam, AdamGeom, TBN_LAYOUT_ADAM)                \
  X(matmul, MatMulGeom, TBN_LAYOUT_MATMUL)          \
  X(conv, ConvGeom, TBN_LAYOUT_CONV)                \
  X(pool, PoolGeom, TBN_LAYOUT_POOL)                \
  X(tile, TileGeom, TBN_LAYOUT_TILE)

/** Reads a geometry argument field by field, checking its length and that integers are integers. */
class GeomReader {
 public:
  GeomReader(const Napi::CallbackInfo &info, size_t i) {
    if (i >= info.Length() || !info[i].IsTypedArray()) fail("geometry must be a Float64Array");
    const Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_float64_array) fail("geometry must be a Float64Array");
    const Napi::Float64Array f = ta.As<Napi::Float64Array>();
    p_ = f.Data();
    n_ = f.ElementLength();
  }
  double real() {
    if (i_ >= n_) fail("geometry too short");
    return p_[i_++];
  }
  int64_t next() {
    const double v = real();
    if (v != std::floor(v) || std::fabs(v) > 9007199254740991.0) fail("geometry values must be integers");
    return static_cast<int64_t>(v);
  }
  int rank(int max) {
    const int64_t r = next();
    if (r < 0 || r > max) fail("geometry rank out of range");
    return static_cast<int>(r);
  }
  // A value for a field of type T: one that does not fit is refused, not narrowed (2^32 into an
  // int would read as 0).
  template <class T>
  T fitting(int64_t v) {
    if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) || v > static_cast<int64_t>(std::numeric_limits<T>::max()))
      fail("geometry value out of range");
    return static_cast<T>(v);
  }
  void ints(int64_t *out, int n) {
    for (int k = 0; k < n; k++) out[k] = next();
  }

 private:
  const double *p_ = nullptr;
  size_t n_ = 0, i_ = 0;
};

#define TBN_READ_INT(ts, c) g.c = r.fitting<decltype(g.c)>(r.next());
#define TBN_READ_REAL(ts, c) g.c = r.real();
#define TBN_READ_FLAG(ts, c) g.c = r.next() != 0;
#define TBN_READ_RANK(ts, c, max) rank = g.c = r.rank(max);
#define TBN_READ_INTS(ts, c) r.ints(g.c, rank);
#define TBN_READER(name, T, LAYOUT)                                                                \
  inline T read_##name(const Napi::CallbackInfo &info, size_t i) {                                \
    GeomReader r(info, i);                                                                         \
    T g;                                                                                           \
    int rank = 0;                                                                                  \
    (void)rank;                                                                                    \
    LAYOUT(TBN_READ_INT, TBN_READ_REAL, TBN_READ_FLAG, TBN_READ_RANK, TBN_READ_INTS)               \
    return g;                                                                                      \
  }
TBN_GEOMETRIES(TBN_READER)

/** {name: "field:kind …"} for the TypeScript packer. */
inline Napi::Object geometry_layouts(Napi::Env env) {
#define TBN_TEXT_INT(ts, c) #ts ":int "
#define TBN_TEXT_REAL(ts, c) #ts ":real "
#define TBN_TEXT_FLAG(ts, c) #ts ":flag "
#define TBN_TEXT_RANK(ts, c, max) #ts ":rank "
#define TBN_TEXT_INTS(ts, c) #ts ":ints "
#define TBN_LAYOUT_TEXT(name, T, LAYOUT) \
  o.Set(#name, LAYOUT(TBN_TEXT_INT, TBN_TEXT_REAL, TBN_TEXT_FLAG, TBN_TEXT_RANK, TBN_TEXT_INTS));
  Napi::Object o = Napi::Object::New(env);
  TBN_GEOMETRIES(TBN_LAYOUT_TEXT)
  return o;
}

/** Reads geometry `name` as the kernels would and returns its fields by name (tests). */
inline Napi::Object geometry_echo(const Napi::CallbackInfo &info, const std::string &name, size_t i) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const auto ints = [&](const int64_t *v, int n) {
    Napi::Array a = Napi::Array::New(env, n);
    for (int k = 0; k < n; k++) a.Set(static_cast<uint32_t>(k), static_cast<double>(v[k]));
    return a;
  };
#define TBN_ECHO_INT(ts, c) o.Set(#ts, static_cast<double>(g.c));
#define TBN_ECHO_REAL(ts, c) o.Set(#ts, static_cast<double>(g.c));
#define TBN_ECHO_FLAG(ts, c) o.Set(#ts, static_cast<bool>(g.c));
#define TBN_ECHO_RANK(ts, c, max) rank = g.c;
#define TBN_ECHO_INTS(ts, c) o.Set(#ts, ints(g.c, rank));
#define TBN_ECHO(gname, T, LAYOUT)                                                        \
  if (name == #gname) {                                                                  \
    const T g = read_##gname(info, i);                                                   \
    int rank = 0;                                                                        \
    (void)rank;                                                                          \
    LAYOUT(TBN_ECHO_INT, TBN_ECHO_REAL, TBN_ECHO_FLAG, TBN_ECHO_RANK, TBN_ECHO_INTS)     \
    return o;                                                                            \
  }
  TBN_GEOMETRIES(TBN_ECHO)
  fail("unknown geometry '" + name + "'");
}

}  // namespace tbn
