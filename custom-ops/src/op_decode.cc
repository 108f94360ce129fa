// op_decode.cc — TbnDecode: (bits, scales) → W of weight_shape, for consumers the fused ops do
// not cover. Decoding is the op's purpose, so it writes the full weight, in the scales' type
// (a float16/bfloat16 weight is decoded in float and rounded: ±α is exact in its own type).
#include "float_types.h"
#include "ops.h"
#include "tbn_op_schema.h"

namespace tbn {

DecodeKernel::DecodeKernel(const OrtKernelInfo *info) : attrs_(info, TBN_OP_DECODE) {}

void DecodeKernel::compute(OrtKernelContext *ctx) const {
  const TensorView bits = input(ctx, TBN_INPUT_BITS_DECODE), scales = input(ctx, TBN_INPUT_SCALES_DECODE);
  std::vector<float> converted;
  const tbn_tile t = attrs_.tile(bits, scales, &converted);
  const TensorView w = output(ctx, 0, attrs_.shape);
  if (scales.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    check(tbn_decode(&t, static_cast<float *>(w.data), attrs_.numel), attrs_.op);
    return;
  }
  std::vector<float> decoded(static_cast<size_t>(attrs_.numel));
  check(tbn_decode(&t, decoded.data(), attrs_.numel), attrs_.op);
  from_float(decoded.data(), scales.type, w.data, attrs_.numel);
}

}  // namespace tbn
