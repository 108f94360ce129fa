// op_decode.cc — TbnDecode: (bits, scales) → W of weight_shape, for consumers the fused ops do
// not cover. Decoding is the op's purpose, so it writes the full fp32 weight.
#include "ops.h"
#include "tbn_op_schema.h"

namespace tbn {

DecodeKernel::DecodeKernel(const OrtKernelInfo *info) : attrs_(info, TBN_OP_DECODE) {}

void DecodeKernel::compute(OrtKernelContext *ctx) const {
  const TensorView bits = input(ctx, TBN_INPUT_BITS_DECODE), scales = input(ctx, TBN_INPUT_SCALES_DECODE);
  const tbn_tile t = attrs_.tile(bits, scales);
  const TensorView w = output(ctx, 0, attrs_.shape);
  check(tbn_decode(&t, static_cast<float *>(w.data), attrs_.numel), attrs_.op);
}

}  // namespace tbn
