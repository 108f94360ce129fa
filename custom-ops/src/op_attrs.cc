// op_attrs.cc — see op_attrs.h.
#include "op_attrs.h"

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

}  // namespace

DenseAttrs::DenseAttrs(const OrtKernelInfo *info, bool is_gemm)
    : gemm(is_gemm),
      tile(info, is_gemm ? TBN_OP_GEMM : TBN_OP_MATMUL),
      alpha(is_gemm ? attr_float(info, TBN_ATTR_ALPHA, TBN_DEFAULT_ALPHA) : 1.0f),
      beta(is_gemm ? attr_float(info, TBN_ATTR_BETA, TBN_DEFAULT_BETA) : 1.0f),
      trans_a(flag_attr(info, is_gemm, TBN_ATTR_TRANS_A, TBN_DEFAULT_TRANS_A)),
      trans_b(flag_attr(info, is_gemm, TBN_ATTR_TRANS_B, TBN_DEFAULT_TRANS_B)) {
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

ConvAttrs::ConvAttrs(const OrtKernelInfo *info) : tile(info, TBN_OP_CONV), spatial(spatial_of(tile)) {
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
}

ConvInputs conv_inputs(const ConvAttrs &c, OrtKernelContext *ctx) {
  ConvInputs r;
  r.x = input(ctx, 0);
  const TensorView &x = r.x;
  r.type = require_op_float(x, "X");
  if (x.dims.size() != static_cast<size_t>(c.spatial + 2))
    fail("X " + dims_str(x.dims) + " must have rank " + std::to_string(c.spatial + 2));
  x.numel();  // rejects negative or overflowing dims
  bool has_b = false;
  const TensorView b = input(ctx, 3, &has_b);
  if (has_b && (b.type != r.type || b.dims.size() != 1 || b.dims[0] != c.tile.shape[0]))
    fail("B " + dims_str(b.dims) + " must be a " + float_type_name(r.type) + " vector of " + std::to_string(c.tile.shape[0]) + " values");
  if (has_b) r.bias = static_cast<const float *>(b.data);
  const tbn_status st = tbn_conv_geometry(c.spatial, x.dims.data(), c.tile.shape.data(), c.group,
                                          c.has_kernel ? c.kernel.data() : nullptr, c.has_strides ? c.strides.data() : nullptr,
                                          c.has_dilations ? c.dilations.data() : nullptr, c.has_pads ? c.pads.data() : nullptr,
                                          c.auto_pad, &r.g);
  if (st != TBN_OK)
    fail("X " + dims_str(x.dims) + " with weight_shape " + dims_str(c.tile.shape) + ", group " + std::to_string(c.group) +
         ": " + tbn_status_str(st));
  r.ydims = {r.g.n, r.g.oc};
  if (c.spatial == 2) r.ydims.push_back(r.g.out[0]);
  r.ydims.push_back(r.g.out[1]);
  return r;
}

}  // namespace tbn
