// op_attrs.cc — see op_attrs.h.
#include "op_attrs.h"

#include <cmath>
#include <limits>

#include "float_types.h"
#include "tbn_op_schema.h"

namespace tbn {

namespace {

int spatial_of(const TileAttrs &a) {
  if (a.shape.size() != 3 && a.shape.size() != 4)
    fail("weight_shape " + dims_str(a.shape) + " must be 3-D or 4-D (1-D or 2-D conv)");
  return static_cast<int>(a.shape.size()) - 2;
}

// The op's float type, from its activation input.
ONNXTensorElementDataType require_op_float(const TensorView &t, const char *what) {
  if (!is_op_float_type(t.type)) fail(std::string(what) + " must be a float, float16 or bfloat16 tensor");
  return t.type;
}

// An input that must have the op's float type T (that of the activations).
void require_type(const TensorView &t, ONNXTensorElementDataType type, const char *what) {
  if (t.type != type) fail(std::string(what) + " must be a " + float_type_name(type) + " tensor, as the activations are");
}

// A float attribute or NaN when absent.
float optional_float(const OrtKernelInfo *info, const char *name) {
  return attr_float(info, name, std::numeric_limits<float>::quiet_NaN());
}

// Input i as an epilogue vector: [channels] or a single value (its data, in type T); nullptr
// when absent.
const void *channel_vector(OrtKernelContext *ctx, size_t i, int64_t channels, ONNXTensorElementDataType type,
                           const char *what, int64_t *len) {
  bool present = false;
  const TensorView v = input(ctx, i, &present);
  *len = 0;
  if (!present) return nullptr;
  require_type(v, type, what);
  const int64_t n = v.numel();
  if (n != 1 && !(v.dims.size() == 1 && n == channels))
    fail(std::string(what) + " " + dims_str(v.dims) + " must be [" + std::to_string(channels) + "] or one value");
  *len = n;
  return v.data;
}

}  // namespace

EpilogueAttrs::EpilogueAttrs(const OrtKernelInfo *info, const std::string &op) {
  const int64_t none = TBN_DEFAULT_ACTIVATION;
  const int64_t code = attr_int(info, TBN_ATTR_ACTIVATION, &none);
  if (code < 0 || code >= TBN_ACT_COUNT)
    fail(op + ": activation = " + std::to_string(code) + " is not one of 0…" + std::to_string(TBN_ACT_COUNT - 1) + " (" +
         TBN_ACTIVATIONS + ")");
  act = static_cast<tbn_act>(code);
  alpha = optional_float(info, TBN_ATTR_ACTIVATION_ALPHA);
  beta = optional_float(info, TBN_ATTR_ACTIVATION_BETA);
  if (act == TBN_ACT_LEAKY_RELU && std::isnan(alpha)) alpha = 0.01f;  // LeakyRelu's own default
  if (act == TBN_ACT_CLIP && !(alpha <= beta))
    fail(op + ": Clip needs activation_alpha (min) ≤ activation_beta (max)");
  if (act == TBN_ACT_LEAKY_RELU && !std::isfinite(alpha)) fail(op + ": LeakyRelu needs a finite activation_alpha");
}

EpilogueInputs epilogue_inputs(const EpilogueAttrs &a, OrtKernelContext *ctx, size_t first, int64_t channels,
                               const std::vector<int64_t> &ydims, ONNXTensorElementDataType type, bool host,
                               const char *of) {
  EpilogueInputs r;
  r.type = type;
  r.e.act = a.act, r.e.alpha = a.alpha, r.e.beta = a.beta;
  r.scale = channel_vector(ctx, first, channels, type, "scale", &r.e.scale_len);
  r.shift = channel_vector(ctx, first + 1, channels, type, "shift", &r.e.shift_len);
  bool has_res = false;
  const TensorView res = input(ctx, first + 2, &has_res);
  if (has_res) {
    require_type(res, type, "residual");
    if (res.numel() != 1 && res.dims != ydims)
      fail("residual " + dims_str(res.dims) + " must have " + of + " " + dims_str(ydims) + " or be one value");
    r.residual = res.data, r.residual_len = res.numel();
    if (res.numel() == 1 && host) to_float(res.data, type, &r.e.add, 1), r.residual = nullptr, r.residual_len = 0;
  }
  r.any = r.scale || r.shift || has_res || a.act != TBN_ACT_NONE;
  if (!r.narrow()) {
    r.e.scale = static_cast<const float *>(r.scale), r.e.shift = static_cast<const float *>(r.shift);
    r.e.residual = static_cast<const float *>(r.residual);
  }
  return r;
}

bool EpilogueInputs::narrow() const { return type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }

size_t EpilogueInputs::widen_bytes() const {
  if (!narrow()) return 0;
  return float_scratch_bytes(scale ? e.scale_len : 0) + float_scratch_bytes(shift ? e.shift_len : 0) +
         float_scratch_bytes(residual_len);
}

void EpilogueInputs::widen(void *scratch) {
  if (!narrow()) return;
  float *f = static_cast<float *>(scratch);
  const auto take = [&](const void *src, int64_t n) -> const float * {
    if (!src) return nullptr;
    float *dst = f;
    to_float(src, type, dst, n);
    f += float_scratch_bytes(n) / sizeof(float);
    return dst;
  };
  e.scale = take(scale, e.scale_len);
  e.shift = take(shift, e.shift_len);
  e.residual = take(residual, residual_len);
  widened = true;
}

const tbn_epilogue *EpilogueInputs::get() const {
  if (!any) return nullptr;
  if (narrow() && !widened) fail("internal: a " + std::string(float_type_name(type)) + " epilogue was not widened to float");
  return &e;
}

DenseAttrs::DenseAttrs(const OrtKernelInfo *info, bool is_gemm)
    : gemm(is_gemm),
      tile(info, is_gemm ? TBN_OP_GEMM : TBN_OP_MATMUL),
      alpha(is_gemm ? attr_float(info, TBN_ATTR_ALPHA, TBN_DEFAULT_ALPHA) : 1.0f),
      beta(is_gemm ? attr_float(info, TBN_ATTR_BETA, TBN_DEFAULT_BETA) : 1.0f),
      trans_a(flag_attr(info, is_gemm, TBN_ATTR_TRANS_A, TBN_DEFAULT_TRANS_A)),
      trans_b(flag_attr(info, is_gemm, TBN_ATTR_TRANS_B, TBN_DEFAULT_TRANS_B)),
      epi(info, tile.op),
      epi_input(is_gemm ? TBN_INPUT_EPILOGUE_GEMM : TBN_INPUT_EPILOGUE_MATMUL) {
  if (tile.shape.size() != 2) fail("weight_shape " + dims_str(tile.shape) + " must be 2-D");
  w_out_first = gemm && trans_b ? 1 : 0;
  out = w_out_first ? tile.shape[0] : tile.shape[1];
  in = w_out_first ? tile.shape[1] : tile.shape[0];
}

DenseInputs dense_inputs(const DenseAttrs &d, OrtKernelContext *ctx) {
  DenseInputs r;
  r.a = input(ctx, 0);
  const TensorView &a = r.a;
  r.type = require_op_float(a, "A");
  if (d.gemm) {
    if (a.dims.size() != 2) fail("A " + dims_str(a.dims) + " must be 2-D");
    r.rows = d.trans_a ? a.dims[1] : a.dims[0];
    r.k = d.trans_a ? a.dims[0] : a.dims[1];
    r.ydims = {r.rows, d.out};
  } else {
    if (a.dims.empty()) fail("A must have rank >= 1");
    r.k = a.dims.back();
    r.ydims.assign(a.dims.begin(), a.dims.end() - 1);
    r.rows = TensorView{ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, r.ydims, nullptr}.numel();
    r.ydims.push_back(d.out);
  }
  if (r.k != d.in)
    fail("A " + dims_str(a.dims) + " has " + std::to_string(r.k) + " features; weight_shape " + dims_str(d.tile.shape) +
         " takes " + std::to_string(d.in));
  if (d.gemm) {
    bool has_c = false;
    const TensorView c = input(ctx, 3, &has_c);
    if (has_c) {
      if (c.type != r.type) fail(std::string("C must be a ") + float_type_name(r.type) + " tensor, as A is");
      const size_t n = c.dims.size();
      r.c_rows = n == 2 ? c.dims[0] : 1;
      r.c_cols = n == 0 ? 1 : c.dims[n - 1];
      if (n > 2 || (r.c_rows != 1 && r.c_rows != r.rows) || (r.c_cols != 1 && r.c_cols != d.out))
        fail("C " + dims_str(c.dims) + " does not broadcast to " + dims_str(r.ydims));
      r.c = static_cast<const float *>(c.data);
    }
  }
  return r;
}

namespace {
PoolAttrs pool_attrs(const OrtKernelInfo *info, size_t s) {
  PoolAttrs p;
  p.on = true;
  if (!ints_attr(info, TBN_ATTR_POOL_KERNEL_SHAPE, s, 1, &p.kernel)) fail("pool_kernel_shape is missing");
  p.has_strides = ints_attr(info, TBN_ATTR_POOL_STRIDES, s, 1, &p.strides);
  p.has_pads = ints_attr(info, TBN_ATTR_POOL_PADS, 2 * s, 0, &p.pads);
  const int64_t default_ceil = TBN_DEFAULT_POOL_CEIL_MODE;
  const int64_t ceil_mode = attr_int(info, TBN_ATTR_POOL_CEIL_MODE, &default_ceil);
  if (ceil_mode != 0 && ceil_mode != 1) fail("pool_ceil_mode = " + std::to_string(ceil_mode) + " must be 0 or 1");
  p.ceil_mode = static_cast<int>(ceil_mode);
  for (size_t i = 0; p.has_pads && i < 2 * s; i++)
    if (p.pads[i] >= p.kernel[i % s])
      fail("pool_pads " + dims_str(p.pads) + " must be smaller than pool_kernel_shape " + dims_str(p.kernel));
  return p;
}
}  // namespace

ConvAttrs::ConvAttrs(const OrtKernelInfo *info, bool nhwc, bool max_pool)
    : tile(info, nhwc ? TBN_OP_CONV_NHWC : max_pool ? TBN_OP_CONV_MAX_POOL : TBN_OP_CONV), channels_last(nhwc),
      epi(info, tile.op), spatial(spatial_of(tile)) {
  if (channels_last && spatial != 2) fail("weight_shape " + dims_str(tile.shape) + " must be 4-D (TbnConvNhwc is 2-D)");
  const int64_t default_group = TBN_DEFAULT_GROUP;
  const size_t s = static_cast<size_t>(spatial);
  group = attr_int(info, TBN_ATTR_GROUP, &default_group);
  if (group < 1 || tile.shape[0] % group != 0)
    fail("group = " + std::to_string(group) + " does not divide the " + std::to_string(tile.shape[0]) +
         " output channels");
  check(tbn_auto_pad_parse(attr_string(info, TBN_ATTR_AUTO_PAD, TBN_DEFAULT_AUTO_PAD).c_str(), &auto_pad),
        "auto_pad");
  has_kernel = ints_attr(info, TBN_ATTR_KERNEL_SHAPE, s, 1, &kernel);
  has_strides = ints_attr(info, TBN_ATTR_STRIDES, s, 1, &strides);
  has_dilations = ints_attr(info, TBN_ATTR_DILATIONS, s, 1, &dilations);
  has_pads = ints_attr(info, TBN_ATTR_PADS, 2 * s, 0, &pads);
  if (has_kernel)
    for (size_t i = 0; i < s; i++)
      if (kernel[i] != tile.shape[2 + i])
        fail("kernel_shape " + dims_str(kernel) + " does not match weight_shape " + dims_str(tile.shape));
  if (max_pool) pool = pool_attrs(info, s);
}

bool ConvAttrs::dense_product() const {
  const auto all = [](const std::vector<int64_t> &v, int64_t x) {
    for (int64_t e : v)
      if (e != x) return false;
    return true;
  };
  const bool k1 = tile.shape.size() == 4 && tile.shape[2] == 1 && tile.shape[3] == 1;
  const bool no_pads = auto_pad == TBN_PAD_VALID || (auto_pad == TBN_PAD_NOTSET && all(pads, 0)) ||
                       auto_pad == TBN_PAD_SAME_UPPER || auto_pad == TBN_PAD_SAME_LOWER;  // 1×1 stride 1: no padding
  // The table-lookup product wins from about 128 input channels; below, the conv kernels do.
  return channels_last && group == 1 && k1 && all(strides, 1) && no_pads && tile.shape[1] >= 128;
}

ConvInputs conv_inputs(const ConvAttrs &c, OrtKernelContext *ctx) {
  ConvInputs r;
  r.x = input(ctx, 0);
  const TensorView &x = r.x;
  r.type = require_op_float(x, "X");
  if (x.dims.size() != static_cast<size_t>(c.spatial + 2))
    fail("X " + dims_str(x.dims) + " must have rank " + std::to_string(c.spatial + 2));
  x.numel();  // rejects negative or overflowing dims
  // The geometry is worked out on the channels-first view of X.
  std::vector<int64_t> xdims = x.dims;
  if (c.channels_last) xdims = {x.dims[0], x.dims[3], x.dims[1], x.dims[2]};
  bool has_b = false;
  const TensorView b = input(ctx, 3, &has_b);
  if (has_b && (b.type != r.type || b.dims.size() != 1 || b.dims[0] != c.tile.shape[0]))
    fail("B " + dims_str(b.dims) + " must be a " + float_type_name(r.type) + " vector of " + std::to_string(c.tile.shape[0]) + " values");
  if (has_b) r.bias = static_cast<const float *>(b.data);
  const tbn_status st = tbn_conv_geometry(c.spatial, xdims.data(), c.tile.shape.data(), c.group,
                                          c.has_kernel ? c.kernel.data() : nullptr, c.has_strides ? c.strides.data() : nullptr,
                                          c.has_dilations ? c.dilations.data() : nullptr, c.has_pads ? c.pads.data() : nullptr,
                                          c.auto_pad, &r.g);
  if (st != TBN_OK)
    fail("X " + dims_str(x.dims) + " with weight_shape " + dims_str(c.tile.shape) + ", group " + std::to_string(c.group) +
         ": " + tbn_status_str(st));
  r.g.channels_last = c.channels_last ? 1 : 0;
  if (c.channels_last) r.ydims = {r.g.n, r.g.out[0], r.g.out[1], r.g.oc};
  else {
    r.ydims = {r.g.n, r.g.oc};
    if (c.spatial == 2) r.ydims.push_back(r.g.out[0]);
    r.ydims.push_back(r.g.out[1]);
  }
  if (c.pool.on) {
    const PoolAttrs &p = c.pool;
    const tbn_status ps = tbn_pool_geometry(c.spatial, r.ydims.data(), p.kernel.data(), p.has_strides ? p.strides.data() : nullptr,
                                            p.has_pads ? p.pads.data() : nullptr, p.ceil_mode, &r.pool);
    if (ps != TBN_OK)
      fail("the conv's output " + dims_str(r.ydims) + " with pool_kernel_shape " + dims_str(p.kernel) + ": " + tbn_status_str(ps));
    r.pooled_dims = {r.g.n, r.g.oc};
    if (c.spatial == 2) r.pooled_dims.push_back(r.pool.out[0]);
    r.pooled_dims.push_back(r.pool.out[1]);
  }
  return r;
}

}  // namespace tbn
