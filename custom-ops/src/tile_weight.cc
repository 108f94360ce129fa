// tile_weight.cc — see tile_weight.h. Messages name the attribute and the values so a malformed
// model tells its author what is wrong; the kernels' own checks stay as the backstop.
#include "tile_weight.h"

#include "float_types.h"
#include "tbn_op_schema.h"

namespace tbn {

TileAttrs::TileAttrs(const OrtKernelInfo *info, const std::string &op_name) : op(op_name) {
  const int64_t default_axis = TBN_DEFAULT_TILE_AXIS;
  if (!attr_ints(info, TBN_ATTR_WEIGHT_SHAPE, &shape)) fail("missing attribute weight_shape");
  p = attr_int(info, TBN_ATTR_P, nullptr);
  tile_axis = attr_int(info, TBN_ATTR_TILE_AXIS, &default_axis);
  if (shape.empty()) fail("weight_shape is empty");
  for (int64_t d : shape) {
    if (d < 1) fail("weight_shape " + dims_str(shape) + " has a dimension < 1");
    if (numel > TBN_MAX_ELEMENTS / d) fail("weight_shape " + dims_str(shape) + " is too large");
    numel *= d;
  }
  if (p < 1 || numel % p != 0)
    fail("p = " + std::to_string(p) + " does not divide the " + std::to_string(numel) + " weights of weight_shape " +
         dims_str(shape));
  if (tile_axis != 0 && tile_axis != 1) fail("tile_axis = " + std::to_string(tile_axis) + " (must be 0 or 1)");
  q = numel / p;
}

tbn_tile TileAttrs::tile(const TensorView &bits, const TensorView &scales, std::vector<float> *converted) const {
  if (bits.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8) fail("bits must be a uint8 tensor");
  const bool narrow = converted && is_op_float_type(scales.type) && scales.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  if (scales.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && !narrow)
    fail(std::string("scales must be a float") + (converted ? ", float16 or bfloat16" : "") + " tensor");
  const int64_t nbits = bits.numel(), nscales = scales.numel();
  if (nbits != (q + 7) / 8)
    fail("bits has " + std::to_string(nbits) + " bytes; weight_shape " + dims_str(shape) + " at p = " +
         std::to_string(p) + " needs " + std::to_string((q + 7) / 8));
  if (nscales != p && nscales != 1)
    fail("scales has " + std::to_string(nscales) + " values; expected p = " + std::to_string(p) + " or 1");
  tbn_tile t;
  t.shape = shape.data();
  t.rank = shape.size();
  t.p = p;
  t.tile_axis = tile_axis;
  t.bits = static_cast<const uint8_t *>(bits.data);
  t.bits_len = nbits;
  t.scales = static_cast<const float *>(scales.data);
  if (narrow) {
    converted->resize(static_cast<size_t>(nscales));
    to_float(scales.data, scales.type, converted->data(), nscales);
    t.scales = converted->data();
  }
  t.scales_len = nscales;
  return t;
}

MatrixPlan::MatrixPlan(const tbn_tile &t, int64_t out, int64_t in, int w_out_first, tbn_isa isa, tbn_use use,
                       const std::string &op) {
  size_t bytes = 0;
  check(tbn_matrix_bytes(&t, out, in, w_out_first, isa, use, &bytes), op + " tile plan");
  mem_.reset(new Workspace(bytes));
  check(tbn_matrix_init(&m_, &t, out, in, w_out_first, isa, use, mem_->data(), mem_->size()), op + " tile plan");
}

TiledWeight::TiledWeight(const OrtKernelInfo *info, const TileAttrs &attrs, int64_t out, int64_t in,
                         int w_out_first, size_t bits_index, tbn_use use)
    : attrs_(attrs), out_(out), in_(in), w_out_first_(w_out_first), bits_index_(bits_index), isa_(choose_isa()),
      use_(use) {
  TensorView bits, scales;
  std::vector<float> converted;
  if (constant_input(info, bits_index, &bits) && constant_input(info, bits_index + 1, &scales))
    constant_.reset(new MatrixPlan(attrs.tile(bits, scales, &converted), out, in, w_out_first, isa_, use_, attrs.op));
}

const tbn_matrix *TiledWeight::get(OrtKernelContext *ctx, std::unique_ptr<MatrixPlan> *local) const {
  if (constant_) return constant_->get();
  const TensorView bits = input(ctx, bits_index_), scales = input(ctx, bits_index_ + 1);
  std::vector<float> converted;
  local->reset(new MatrixPlan(attrs_.tile(bits, scales, &converted), out_, in_, w_out_first_, isa_, use_, attrs_.op));
  return (*local)->get();
}

}  // namespace tbn
