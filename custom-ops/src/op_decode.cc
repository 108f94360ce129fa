// op_decode.cc — TbnDecode: (bits, scales) → W of weight_shape, for consumers the fused ops do
// not cover (an embedding table read by Gather, a MatMul whose weight comes first). Decoding is
// the op's purpose, so it writes the full weight, in the scales' type (a float16/bfloat16
// weight is decoded in float and rounded: ±α is exact in its own type).
// onnxruntime does not constant-fold a custom op, so the weight would be decoded in every run;
// when bits and scales are constant and W is small (kDecodeCacheBytes), it is decoded once at
// creation and each run copies it (memory traded for time: such a table is held in fp32 like
// an untiled one). A larger W is decoded every run: holding it would give back what the tile
// saves.
#include <cstring>

#include "float_types.h"
#include "ops.h"
#include "tbn_op_schema.h"

namespace tbn {

namespace {
constexpr size_t kDecodeCacheBytes = size_t(4) << 20;

// W in the scales' type into out (numel values of that type).
void decode_into(const tbn_tile &t, ONNXTensorElementDataType type, int64_t numel, void *out, const std::string &op) {
  if (type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    check(tbn_decode(&t, static_cast<float *>(out), numel), op);
    return;
  }
  std::vector<float> decoded(static_cast<size_t>(numel));
  check(tbn_decode(&t, decoded.data(), numel), op);
  from_float(decoded.data(), type, out, numel);
}
}  // namespace

DecodeKernel::DecodeKernel(const OrtKernelInfo *info) : attrs_(info, TBN_OP_DECODE) {
  TensorView bits, scales;
  if (!constant_input(info, TBN_INPUT_BITS_DECODE, &bits) || !constant_input(info, TBN_INPUT_SCALES_DECODE, &scales)) return;
  if (!is_op_float_type(scales.type) || static_cast<size_t>(attrs_.numel) > kDecodeCacheBytes / float_type_bytes(scales.type)) return;
  std::vector<float> converted;
  const tbn_tile t = attrs_.tile(bits, scales, &converted);
  cached_.resize(static_cast<size_t>(attrs_.numel) * float_type_bytes(scales.type));
  decode_into(t, scales.type, attrs_.numel, cached_.data(), attrs_.op);
}

void DecodeKernel::compute(OrtKernelContext *ctx) const {
  // A constant input keeps its type, so the cache is always of the output's type.
  if (!cached_.empty()) {
    const TensorView w = output(ctx, 0, attrs_.shape);
    std::memcpy(w.data, cached_.data(), cached_.size());
    return;
  }
  const TensorView bits = input(ctx, TBN_INPUT_BITS_DECODE), scales = input(ctx, TBN_INPUT_SCALES_DECODE);
  std::vector<float> converted;
  const tbn_tile t = attrs_.tile(bits, scales, &converted);
  const TensorView w = output(ctx, 0, attrs_.shape);
  decode_into(t, scales.type, attrs_.numel, w.data, attrs_.op);
}

}  // namespace tbn
