// op_conv.cc — TbnConv: ONNX Conv (1-D or 2-D, NCHW) whose weight is the tile, TbnConvNhwc,
// the same on channels-last tensors (2-D), and TbnConvMaxPool, TbnConv then MaxPool (the
// kernels pool each image as it is computed). Attribute lengths and ranges are checked at
// creation; the geometry against X at each run. Version 2: the fused epilogue per channel.
// float16/bfloat16: X, B and the epilogue inputs are converted to float into the run's
// workspace, the float kernel runs into float scratch and Y is rounded back (float_types.h);
// scratch is sized by the activations, never by W.
#include "float_types.h"
#include "ops.h"
#include "tbn_op_schema.h"

namespace tbn {

ConvKernel::ConvKernel(const OrtKernelInfo *info, bool channels_last, bool max_pool)
    : c_(info, channels_last, max_pool),
      weight_(info, c_.tile, c_.tile.shape[0], c_.tile.numel / c_.tile.shape[0], 1, TBN_INPUT_BITS,
              c_.dense_product() ? TBN_USE_DENSE : TBN_USE_CONV) {}

void ConvKernel::compute(OrtKernelContext *ctx) const {
  const ConvInputs in = conv_inputs(c_, ctx);
  const tbn_conv_geom &g = in.g;
  EpilogueInputs epi = epilogue_inputs(c_.epi, ctx, TBN_INPUT_EPILOGUE_CONV, g.oc, in.ydims, in.type, true, epilogue_shape(c_));
  const TensorView y = output(ctx, 0, in.out_dims());
  if (g.n == 0) return;
  std::unique_ptr<MatrixPlan> local;
  const tbn_matrix *m = weight_.get(ctx, &local);
  const tbn_parallel par = parallel_for(ctx);
  size_t bytes = 0;
  const tbn_pool_geom *pool = c_.pool.on ? &in.pool : nullptr;
  check(tbn_conv_pool_workspace(m, &g, pool, par.max_tasks, &bytes), c_.tile.op);
  const bool narrow = in.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  const int64_t x_len = in.x.numel(), y_len = TensorView{in.type, in.ydims, nullptr}.numel();
  const size_t ws_bytes = (bytes + 63) & ~size_t(63);
  const size_t narrow_bytes = narrow ? float_scratch_bytes(x_len) + float_scratch_bytes(g.oc) +
                                           float_scratch_bytes(y_len) + epi.widen_bytes()
                                     : 0;
  const WorkspacePool::Lease ws = shared_workspaces().acquire(ws_bytes + narrow_bytes);
  const float *x = static_cast<const float *>(in.x.data), *bias = in.bias;
  float *out = static_cast<float *>(y.data);
  if (narrow) {
    float *xf = reinterpret_cast<float *>(static_cast<unsigned char *>(ws.data()) + ws_bytes);
    float *bf = xf + float_scratch_bytes(x_len) / sizeof(float);
    out = bf + float_scratch_bytes(g.oc) / sizeof(float);
    to_float(in.x.data, in.type, xf, x_len);
    if (bias) to_float(bias, in.type, bf, g.oc), bias = bf;
    epi.widen(out + float_scratch_bytes(y_len) / sizeof(float));
    x = xf;
  }
  check(tbn_conv_pool_run(m, &g, pool, x, bias, epi.get(), out, ws.data(), bytes, &par), c_.tile.op);
  if (narrow) from_float(out, in.type, y.data, y.numel());
}

}  // namespace tbn
