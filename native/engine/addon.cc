// addon.cc — the N-API surface of tbn_engine.node, declared in src/engine/native-binding.ts.
// Every method is [sync] and throws a JS Error ("tbn native: …") on a bad argument, a freed
// handle or a geometry that does not fit its buffers. Buffers are numeric handles (h).
//   kernelPaths(): string[]; kernelPath(): string; setKernelPath(name)
//   threads(): number; setThreads(n)
//   opNames(): {unary, binary, reduce: string[]}    op codes are indices into these lists
//   alloc(dtype 0 f32 | 1 i64 | 2 bool, size): h;  free(h);  fill(h, value)
//   write(h, data: Float32Array | Float64Array | Uint8Array of the buffer's type, offset)
//   read(h): a new typed array of the buffer's type;  stats(): Float64Array [buffers, bytes, cached]
//   unary(op, x, out, p0, p1); binary(op, a, b, out, g, p0, p1); where(c, a, b, out, g)
//   cast(x, out); copy(src, dst, g, accumulate)
//   reduce(op, x, out, outer, size, inner); argReduce(isMax, x, out, outer, size, inner, last)
//   matmul(a, b, out, g); conv(pass 0 fwd | 1 data | 2 filter, in0, in1, out, g)
//   maxPool(x, out, argmax | -1, g); maxPoolBackward(dy, argmax, dx, g); avgPool(x, out, g);
//   avgPoolBackward(dy, dx, g); softmax(x, out, outer, size, inner, log);
//   softmaxBackward(y, dy, dx, outer, size, inner, log); layerNorm(x, out, inv, rows, cols, eps);
//   layerNormBackward(xhat, inv, dy, dx, rows, cols); gather(t, idx, out, outer, len, inner);
//   channelAffine(x, scale, shift, out, outer, channels, inner, relu);
//   channelAffineBackward(x, scale, shift, dy, dx | -1, dscale | -1, dshift | -1, outer, channels, inner, relu);
//   gatherBackward(dy, idx, dt, outer, len, inner); adam(w, g, m, v, geom);
//   tileForward(w, a | -1, out, alpha, signs, g); tileBackward(gy, a, alpha, signs, dw, da | -1, g)
// `g` is a Float64Array of integers laid out as src/engine/backends/native.ts writes it.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <string>

#include "buffers.h"
#include "cpu.h"
#include "elementwise.h"
#include "kernels.h"
#include "thread_pool.h"

namespace tbn {
namespace {

BufferTable &table(const Napi::Env &env) {
  BufferTable *t = env.GetInstanceData<BufferTable>();
  if (!t) fail("engine not initialised");
  return *t;
}

double num(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (i >= info.Length() || !info[i].IsNumber()) fail(std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t int_arg(const Napi::CallbackInfo &info, size_t i, const char *what) {
  const double v = num(info, i, what);
  if (v != std::floor(v) || std::fabs(v) > 9007199254740991.0) fail(std::string(what) + " must be an integer");
  return static_cast<int64_t>(v);
}

bool bool_arg(const Napi::CallbackInfo &info, size_t i) {
  return i < info.Length() && info[i].ToBoolean().Value();
}

Buf buf(const Napi::CallbackInfo &info, size_t i, const char *what) {
  return table(info.Env()).get(num(info, i, what), what);
}

/** Reads the integer geometry array. */
class Geom {
 public:
  Geom(const Napi::CallbackInfo &info, size_t i) {
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
  void ints(int64_t *out, int n) {
    for (int k = 0; k < n; k++) out[k] = next();
  }

 private:
  const double *p_ = nullptr;
  size_t n_ = 0, i_ = 0;
};

template <Napi::Value (*F)(const Napi::CallbackInfo &)>
Napi::Value guarded(const Napi::CallbackInfo &info) {
  try {
    return F(info);
  } catch (const Napi::Error &) {
    throw;
  } catch (const std::bad_alloc &) {
    throw Napi::Error::New(info.Env(), "tbn native: out of memory");
  } catch (const std::exception &e) {
    throw Napi::Error::New(info.Env(), std::string("tbn native: ") + e.what());
  }
}

// ---- runtime ---------------------------------------------------------------------------------

Napi::Value KernelPaths(const Napi::CallbackInfo &info) {
  const auto paths = kernel_paths();
  Napi::Array a = Napi::Array::New(info.Env(), paths.size());
  for (size_t i = 0; i < paths.size(); i++) a.Set(static_cast<uint32_t>(i), paths[i]);
  return a;
}
Napi::Value KernelPath(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), kernel_path()); }
Napi::Value SetKernelPath(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsString()) fail("setKernelPath: name must be a string");
  set_kernel_path(info[0].As<Napi::String>().Utf8Value());
  return info.Env().Undefined();
}
Napi::Value Threads(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), pool_threads()); }
Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  const int64_t n = int_arg(info, 0, "threads");
  if (n < 1 || n > 256) fail("threads must be in 1…256");
  pool_set_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Array names(const Napi::Env &env, const char *const *list) {
  Napi::Array a = Napi::Array::New(env);
  for (uint32_t i = 0; list[i]; i++) a.Set(i, list[i]);
  return a;
}
Napi::Value OpNames(const Napi::CallbackInfo &info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("unary", names(info.Env(), kUnaryNames));
  o.Set("binary", names(info.Env(), kBinaryNames));
  o.Set("reduce", names(info.Env(), kReduceNames));
  return o;
}

// ---- memory ----------------------------------------------------------------------------------

DType dtype_arg(const Napi::CallbackInfo &info, size_t i) {
  const int64_t d = int_arg(info, i, "dtype");
  if (d < 0 || d > 2) fail("dtype must be 0 (float32), 1 (int64) or 2 (bool)");
  return static_cast<DType>(d);
}

Napi::Value Alloc(const Napi::CallbackInfo &info) {
  const DType t = dtype_arg(info, 0);
  return Napi::Number::New(info.Env(), table(info.Env()).alloc(t, int_arg(info, 1, "size")));
}
Napi::Value Free(const Napi::CallbackInfo &info) {
  table(info.Env()).release(num(info, 0, "buffer"));
  return info.Env().Undefined();
}
Napi::Value Fill(const Napi::CallbackInfo &info) {
  fill(buf(info, 0, "fill"), num(info, 1, "value"));
  return info.Env().Undefined();
}

napi_typedarray_type array_type(DType t) {
  return t == DType::f32 ? napi_float32_array : t == DType::i64 ? napi_float64_array : napi_uint8_array;
}

Napi::Value Write(const Napi::CallbackInfo &info) {
  const Buf b = buf(info, 0, "write");
  if (info.Length() < 2 || !info[1].IsTypedArray()) fail("write: data must be a typed array");
  const Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != array_type(b.dtype)) fail(std::string("write: data must be the typed array of ") + dtype_name(b.dtype));
  const int64_t offset = int_arg(info, 2, "offset");
  const int64_t n = static_cast<int64_t>(ta.ElementLength());
  if (offset < 0 || offset + n > b.size) {
    fail("write of " + std::to_string(n) + " values at " + std::to_string(offset) + " into a buffer of " + std::to_string(b.size));
  }
  const size_t es = dtype_bytes(b.dtype);
  const uint8_t *src = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (n) std::memcpy(static_cast<uint8_t *>(b.data) + static_cast<size_t>(offset) * es, src, static_cast<size_t>(n) * es);
  return info.Env().Undefined();
}

Napi::Value Read(const Napi::CallbackInfo &info) {
  const Buf b = buf(info, 0, "read");
  const size_t bytes = static_cast<size_t>(b.size) * dtype_bytes(b.dtype);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes) std::memcpy(ab.Data(), b.data, bytes);
  const size_t n = static_cast<size_t>(b.size);
  switch (b.dtype) {
    case DType::f32: return Napi::Float32Array::New(info.Env(), n, ab, 0);
    case DType::i64: return Napi::Float64Array::New(info.Env(), n, ab, 0);
    case DType::b8: return Napi::Uint8Array::New(info.Env(), n, ab, 0);
  }
  return info.Env().Undefined();
}

Napi::Value Stats(const Napi::CallbackInfo &info) {
  const BufferTable &t = table(info.Env());
  Napi::Float64Array a = Napi::Float64Array::New(info.Env(), 3);
  a[0] = static_cast<double>(t.live_buffers());
  a[1] = static_cast<double>(t.live_bytes());
  a[2] = static_cast<double>(t.cached_bytes());
  return a;
}

// ---- element-wise ----------------------------------------------------------------------------

Napi::Value Unary(const Napi::CallbackInfo &info) {
  const int64_t op = int_arg(info, 0, "op");
  if (op < 0 || op >= static_cast<int64_t>(UnaryOp::count)) fail("unknown unary op");
  unary(static_cast<UnaryOp>(op), buf(info, 1, "unary input"), buf(info, 2, "unary output"), num(info, 3, "p0"), num(info, 4, "p1"));
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo &info) {
  const int64_t op = int_arg(info, 0, "op");
  if (op < 0 || op >= static_cast<int64_t>(BinaryOp::count)) fail("unknown binary op");
  Geom g(info, 4);
  const int r = g.rank(kMaxRank);
  int64_t shape[kMaxRank], sa[kMaxRank], sb[kMaxRank];
  g.ints(shape, r);
  g.ints(sa, r);
  g.ints(sb, r);
  binary(static_cast<BinaryOp>(op), buf(info, 1, "binary input"), buf(info, 2, "binary input"), buf(info, 3, "binary output"), r, shape,
         sa, sb, num(info, 5, "p0"), num(info, 6, "p1"));
  return info.Env().Undefined();
}

Napi::Value Where(const Napi::CallbackInfo &info) {
  Geom g(info, 4);
  const int r = g.rank(kMaxRank);
  int64_t shape[kMaxRank], sc[kMaxRank], sa[kMaxRank], sb[kMaxRank];
  g.ints(shape, r);
  g.ints(sc, r);
  g.ints(sa, r);
  g.ints(sb, r);
  where(buf(info, 0, "where condition"), buf(info, 1, "where input"), buf(info, 2, "where input"), buf(info, 3, "where output"), r,
        shape, sc, sa, sb);
  return info.Env().Undefined();
}

Napi::Value Cast(const Napi::CallbackInfo &info) {
  cast(buf(info, 0, "cast input"), buf(info, 1, "cast output"));
  return info.Env().Undefined();
}

Napi::Value Copy(const Napi::CallbackInfo &info) {
  Geom g(info, 2);
  const int r = g.rank(kMaxRank);
  int64_t shape[kMaxRank], ss[kMaxRank], ds[kMaxRank];
  g.ints(shape, r);
  const int64_t s0 = g.next();
  g.ints(ss, r);
  const int64_t d0 = g.next();
  g.ints(ds, r);
  copy(buf(info, 0, "copy source"), s0, ss, buf(info, 1, "copy destination"), d0, ds, r, shape, bool_arg(info, 3));
  return info.Env().Undefined();
}

// ---- reductions, rows --------------------------------------------------------------------------

Napi::Value Reduce(const Napi::CallbackInfo &info) {
  const int64_t op = int_arg(info, 0, "op");
  if (op < 0 || op > 3) fail("unknown reduce op");
  reduce(static_cast<ReduceOp>(op), buf(info, 1, "reduce input"), buf(info, 2, "reduce output"), int_arg(info, 3, "outer"),
         int_arg(info, 4, "size"), int_arg(info, 5, "inner"));
  return info.Env().Undefined();
}

Napi::Value ArgReduce(const Napi::CallbackInfo &info) {
  arg_reduce(bool_arg(info, 0), buf(info, 1, "argReduce input"), buf(info, 2, "argReduce output"), int_arg(info, 3, "outer"),
             int_arg(info, 4, "size"), int_arg(info, 5, "inner"), bool_arg(info, 6));
  return info.Env().Undefined();
}

Napi::Value Softmax(const Napi::CallbackInfo &info) {
  softmax(buf(info, 0, "softmax input"), buf(info, 1, "softmax output"), int_arg(info, 2, "outer"), int_arg(info, 3, "size"),
          int_arg(info, 4, "inner"), bool_arg(info, 5));
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo &info) {
  softmax_backward(buf(info, 0, "softmaxBackward y"), buf(info, 1, "softmaxBackward dy"), buf(info, 2, "softmaxBackward dx"),
                   int_arg(info, 3, "outer"), int_arg(info, 4, "size"), int_arg(info, 5, "inner"), bool_arg(info, 6));
  return info.Env().Undefined();
}

Napi::Value ChannelAffine(const Napi::CallbackInfo &info) {
  channel_affine(buf(info, 0, "channelAffine x"), buf(info, 1, "channelAffine scale"), buf(info, 2, "channelAffine shift"),
                 buf(info, 3, "channelAffine output"), int_arg(info, 4, "outer"), int_arg(info, 5, "channels"),
                 int_arg(info, 6, "inner"), bool_arg(info, 7));
  return info.Env().Undefined();
}

Napi::Value ChannelAffineBackward(const Napi::CallbackInfo &info) {
  const auto optional = [&](size_t i, const char *what, Buf &slot) -> const Buf * {
    if (num(info, i, what) < 0) return nullptr;
    slot = buf(info, i, what);
    return &slot;
  };
  Buf dx, ds, db;
  channel_affine_backward(buf(info, 0, "channelAffineBackward x"), buf(info, 1, "channelAffineBackward scale"),
                          buf(info, 2, "channelAffineBackward shift"), buf(info, 3, "channelAffineBackward dy"),
                          optional(4, "channelAffineBackward dx", dx), optional(5, "channelAffineBackward dscale", ds),
                          optional(6, "channelAffineBackward dshift", db), int_arg(info, 7, "outer"),
                          int_arg(info, 8, "channels"), int_arg(info, 9, "inner"), bool_arg(info, 10));
  return info.Env().Undefined();
}

Napi::Value LayerNorm(const Napi::CallbackInfo &info) {
  layer_norm(buf(info, 0, "layerNorm input"), buf(info, 1, "layerNorm output"), buf(info, 2, "layerNorm invStd"),
             int_arg(info, 3, "rows"), int_arg(info, 4, "cols"), num(info, 5, "eps"));
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo &info) {
  layer_norm_backward(buf(info, 0, "layerNormBackward xhat"), buf(info, 1, "layerNormBackward invStd"),
                      buf(info, 2, "layerNormBackward dy"), buf(info, 3, "layerNormBackward dx"), int_arg(info, 4, "rows"),
                      int_arg(info, 5, "cols"));
  return info.Env().Undefined();
}

Napi::Value Gather(const Napi::CallbackInfo &info) {
  gather(buf(info, 0, "gather table"), buf(info, 1, "gather indices"), buf(info, 2, "gather output"), int_arg(info, 3, "outer"),
         int_arg(info, 4, "axisLen"), int_arg(info, 5, "inner"));
  return info.Env().Undefined();
}

Napi::Value GatherBackward(const Napi::CallbackInfo &info) {
  gather_backward(buf(info, 0, "gatherBackward dy"), buf(info, 1, "gatherBackward indices"), buf(info, 2, "gatherBackward table"),
                  int_arg(info, 3, "outer"), int_arg(info, 4, "axisLen"), int_arg(info, 5, "inner"));
  return info.Env().Undefined();
}

Napi::Value Adam(const Napi::CallbackInfo &info) {
  Geom g(info, 4);
  AdamGeom a;
  a.lr = g.real();
  a.beta1 = g.real();
  a.beta2 = g.real();
  a.eps = g.real();
  a.step = g.real();
  a.weight_decay = g.real();
  a.decoupled = g.real() != 0;
  adam(buf(info, 0, "adam parameter"), buf(info, 1, "adam gradient"), buf(info, 2, "adam m"), buf(info, 3, "adam v"), a);
  return info.Env().Undefined();
}

// ---- matmul, conv, pool, tile --------------------------------------------------------------------

Napi::Value MatMul(const Napi::CallbackInfo &info) {
  Geom g(info, 3);
  MatMulGeom m;
  m.m = g.next();
  m.n = g.next();
  m.k = g.next();
  m.trans_a = g.next() != 0;
  m.trans_b = g.next() != 0;
  m.batch_rank = g.rank(30);
  int64_t batch[30], as[30], bs[30];
  g.ints(batch, m.batch_rank);
  g.ints(as, m.batch_rank);
  g.ints(bs, m.batch_rank);
  m.batch = batch;
  m.a_strides = as;
  m.b_strides = bs;
  matmul(buf(info, 0, "matmul A"), buf(info, 1, "matmul B"), buf(info, 2, "matmul output"), m);
  return info.Env().Undefined();
}

Napi::Value Conv(const Napi::CallbackInfo &info) {
  const int64_t pass = int_arg(info, 0, "pass");
  Geom g(info, 4);
  ConvGeom c;
  c.batch = g.next();
  c.in_c = g.next();
  c.out_c = g.next();
  c.group = g.next();
  c.rank = g.rank(3);
  for (int64_t *a : {c.in, c.kernel, c.out, c.stride, c.pad, c.dil}) g.ints(a, c.rank);
  const Buf a0 = buf(info, 1, "conv operand"), a1 = buf(info, 2, "conv operand"), out = buf(info, 3, "conv output");
  if (pass == 0) conv_forward(a0, a1, out, c);
  else if (pass == 1) conv_backward_data(a0, a1, out, c);
  else if (pass == 2) conv_backward_filter(a0, a1, out, c);
  else fail("conv pass must be 0, 1 or 2");
  return info.Env().Undefined();
}

PoolGeom pool_geom(const Napi::CallbackInfo &info, size_t i) {
  Geom g(info, i);
  PoolGeom p;
  p.planes = g.next();
  p.rank = g.rank(3);
  for (int64_t *a : {p.in, p.kernel, p.out, p.stride, p.pad_begin, p.pad_end, p.dil}) g.ints(a, p.rank);
  p.count_include_pad = g.next() != 0;
  return p;
}

Napi::Value MaxPool(const Napi::CallbackInfo &info) {
  const PoolGeom p = pool_geom(info, 3);
  const bool with = num(info, 2, "argmax") >= 0;
  Buf arg;
  if (with) arg = buf(info, 2, "maxPool indices");
  max_pool(buf(info, 0, "maxPool input"), buf(info, 1, "maxPool output"), with ? &arg : nullptr, p);
  return info.Env().Undefined();
}

Napi::Value MaxPoolBackward(const Napi::CallbackInfo &info) {
  max_pool_backward(buf(info, 0, "maxPoolBackward dy"), buf(info, 1, "maxPoolBackward indices"), buf(info, 2, "maxPoolBackward dx"),
                    pool_geom(info, 3));
  return info.Env().Undefined();
}

Napi::Value AvgPool(const Napi::CallbackInfo &info) {
  avg_pool(buf(info, 0, "avgPool input"), buf(info, 1, "avgPool output"), pool_geom(info, 2));
  return info.Env().Undefined();
}

Napi::Value AvgPoolBackward(const Napi::CallbackInfo &info) {
  avg_pool_backward(buf(info, 0, "avgPoolBackward dy"), buf(info, 1, "avgPoolBackward dx"), pool_geom(info, 2));
  return info.Env().Undefined();
}

TileGeom tile_geom(const Napi::CallbackInfo &info, size_t i) {
  Geom g(info, i);
  TileGeom t;
  t.rows = g.next();
  t.cols = g.next();
  t.p = g.next();
  t.axis = static_cast<int>(g.next());
  t.per_layer = g.next() != 0;
  return t;
}

Napi::Value TileForward(const Napi::CallbackInfo &info) {
  const TileGeom t = tile_geom(info, 5);
  const bool with = num(info, 1, "alpha source") >= 0;
  Buf a;
  if (with) a = buf(info, 1, "tile alpha source");
  tile_forward(buf(info, 0, "tile weight"), with ? &a : nullptr, buf(info, 2, "tile output"), buf(info, 3, "tile alpha"),
               buf(info, 4, "tile signs"), t);
  return info.Env().Undefined();
}

Napi::Value TileBackward(const Napi::CallbackInfo &info) {
  const TileGeom t = tile_geom(info, 6);
  const bool with = num(info, 5, "alpha-source gradient") >= 0;
  Buf da;
  if (with) da = buf(info, 5, "tile alpha-source gradient");
  tile_backward(buf(info, 0, "tile gradient"), buf(info, 1, "tile alpha source"), buf(info, 2, "tile alpha"),
                buf(info, 3, "tile signs"), buf(info, 4, "tile weight gradient"), with ? &da : nullptr, t);
  return info.Env().Undefined();
}

template <Napi::Value (*F)(const Napi::CallbackInfo &)>
void add(Napi::Env env, Napi::Object exports, const char *name) {
  exports.Set(name, Napi::Function::New(env, guarded<F>, name));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<BufferTable>(new BufferTable());
  exports.Set("abi", Napi::Number::New(env, 2));
  add<KernelPaths>(env, exports, "kernelPaths");
  add<KernelPath>(env, exports, "kernelPath");
  add<SetKernelPath>(env, exports, "setKernelPath");
  add<Threads>(env, exports, "threads");
  add<SetThreads>(env, exports, "setThreads");
  add<OpNames>(env, exports, "opNames");
  add<Alloc>(env, exports, "alloc");
  add<Free>(env, exports, "free");
  add<Fill>(env, exports, "fill");
  add<Write>(env, exports, "write");
  add<Read>(env, exports, "read");
  add<Stats>(env, exports, "stats");
  add<Unary>(env, exports, "unary");
  add<Binary>(env, exports, "binary");
  add<Where>(env, exports, "where");
  add<Cast>(env, exports, "cast");
  add<Copy>(env, exports, "copy");
  add<Reduce>(env, exports, "reduce");
  add<ArgReduce>(env, exports, "argReduce");
  add<Softmax>(env, exports, "softmax");
  add<SoftmaxBackward>(env, exports, "softmaxBackward");
  add<ChannelAffine>(env, exports, "channelAffine");
  add<ChannelAffineBackward>(env, exports, "channelAffineBackward");
  add<LayerNorm>(env, exports, "layerNorm");
  add<LayerNormBackward>(env, exports, "layerNormBackward");
  add<Gather>(env, exports, "gather");
  add<GatherBackward>(env, exports, "gatherBackward");
  add<Adam>(env, exports, "adam");
  add<MatMul>(env, exports, "matmul");
  add<Conv>(env, exports, "conv");
  add<MaxPool>(env, exports, "maxPool");
  add<MaxPoolBackward>(env, exports, "maxPoolBackward");
  add<AvgPool>(env, exports, "avgPool");
  add<AvgPoolBackward>(env, exports, "avgPoolBackward");
  add<TileForward>(env, exports, "tileForward");
  add<TileBackward>(env, exports, "tileBackward");
  return exports;
}

}  // namespace
}  // namespace tbn

static Napi::Object InitEngine(Napi::Env env, Napi::Object exports) { return tbn::Init(env, exports); }
NODE_API_MODULE(tbn_engine, InitEngine)
