// op_conv.cc — TbnConv: ONNX Conv (1-D or 2-D, NCHW) whose weight is the tile, and TbnConvNhwc,
// the same on channels-last tensors (2-D). Attribute lengths and ranges are checked at
// creation; the geometry against X at each run. Version 2: the fused epilogue per channel.
#include "ops.h"
#include "tbn_op_schema.h"

namespace tbn {

ConvKernel::ConvKernel(const OrtKernelInfo *info, bool channels_last)
    : c_(info, channels_last),
      weight_(info, c_.tile, c_.tile.shape[0], c_.tile.numel / c_.tile.shape[0], 1, TBN_INPUT_BITS,
              c_.dense_product() ? TBN_USE_DENSE : TBN_USE_CONV) {}

void ConvKernel::compute(OrtKernelContext *ctx) const {
  const ConvInputs in = conv_inputs(c_, ctx);
  const tbn_conv_geom &g = in.g;
  const EpilogueInputs epi = epilogue_inputs(c_.epi, ctx, TBN_INPUT_EPILOGUE_CONV, g.oc, in.ydims);
  const TensorView y = output(ctx, 0, in.ydims);
  if (g.n == 0) return;
  std::unique_ptr<MatrixPlan> local;
  const tbn_matrix *m = weight_.get(ctx, &local);
  const tbn_parallel par = parallel_for(ctx);
  size_t bytes = 0;
  check(tbn_conv_workspace(m, &g, par.max_tasks, &bytes), c_.tile.op);
  const WorkspacePool::Lease ws = shared_workspaces().acquire(bytes);
  check(tbn_conv_run(m, &g, static_cast<const float *>(in.x.data), in.bias, epi.get(),
                     static_cast<float *>(y.data), ws.data(), ws.size(), &par),
        c_.tile.op);
}

}  // namespace tbn
