// op_dense.cc — TbnGemm and TbnMatMul. Gemm: A 2-D (transA), W 2-D (transB), optional C
// broadcast to [M, N] (rank 0, [N], [1], [M,1], [1,N], [M,N]). MatMul: A of any rank ≥ 1
// (leading dims are batch, the 2-D W broadcasts over them), y = A · W. Version 2: the fused
// epilogue (scale, shift, residual, activation) along the output features.
// float16/bfloat16: A, C and the epilogue inputs are converted to float into the run's
// workspace, the float kernel runs into float scratch and Y is rounded back (float_types.h);
// scratch is sized by the activations, never by W.
#include "float_types.h"
#include "ops.h"
#include "tbn_op_schema.h"

namespace tbn {

DenseKernel::DenseKernel(const OrtKernelInfo *info, bool gemm)
    : d_(info, gemm), weight_(info, d_.tile, d_.out, d_.in, d_.w_out_first, TBN_INPUT_BITS, TBN_USE_DENSE) {}

void DenseKernel::compute(OrtKernelContext *ctx) const {
  const DenseInputs in = dense_inputs(d_, ctx);
  const int64_t rows = in.rows, k = in.k;
  const bool narrow = in.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  tbn_dense_args args{};
  args.rows = rows;
  args.alpha = d_.alpha;
  args.beta = d_.beta;
  if (in.c) args.c = in.c, args.c_rows = in.c_rows, args.c_cols = in.c_cols;
  EpilogueInputs epi = epilogue_inputs(d_.epi, ctx, d_.epi_input, d_.out, in.ydims, in.type);
  const TensorView y = output(ctx, 0, in.ydims);
  if (rows == 0) return;
  args.y = static_cast<float *>(y.data);
  args.x = static_cast<const float *>(in.a.data);
  std::unique_ptr<MatrixPlan> local;
  const tbn_matrix *m = weight_.get(ctx, &local);
  const tbn_parallel par = parallel_for(ctx);
  size_t bytes = 0;
  check(tbn_dense_workspace(m, rows, par.max_tasks, &bytes), d_.tile.op);
  // Scratch after the kernel's workspace: transA's copy of A, then float copies of A, C, Y and
  // the epilogue inputs.
  const int64_t c_len = in.c ? in.c_rows * in.c_cols : 0;
  const size_t ws_bytes = (bytes + 63) & ~size_t(63);
  const size_t at_bytes = d_.trans_a ? float_scratch_bytes(rows * k) : 0;
  const size_t narrow_bytes = narrow ? float_scratch_bytes(rows * k) + float_scratch_bytes(c_len) +
                                           float_scratch_bytes(rows * d_.out) + epi.widen_bytes()
                                     : 0;
  const WorkspacePool::Lease ws = shared_workspaces().acquire(ws_bytes + at_bytes + narrow_bytes + 64);
  unsigned char *scratch = static_cast<unsigned char *>(ws.data()) + ws_bytes;
  if (narrow) {
    float *xf = reinterpret_cast<float *>(scratch + at_bytes);
    float *cf = xf + float_scratch_bytes(rows * k) / sizeof(float);
    float *yf = cf + float_scratch_bytes(c_len) / sizeof(float);
    to_float(in.a.data, in.type, xf, rows * k);
    if (in.c) to_float(in.c, in.type, cf, c_len), args.c = cf;
    epi.widen(yf + float_scratch_bytes(rows * d_.out) / sizeof(float));
    args.x = xf, args.y = yf;
  }
  args.epi = epi.get();
  // transA: A is [k][rows]; the kernels take x as [rows][k], transposed after their workspace.
  if (d_.trans_a) {
    float *at = reinterpret_cast<float *>(scratch);
    check(tbn_transpose(args.x, k, rows, at), d_.tile.op + " transA");
    args.x = at;
  }
  check(tbn_dense_run(m, &args, ws.data(), bytes, &par), d_.tile.op);
  if (narrow) from_float(args.y, in.type, y.data, rows * d_.out);
}

}  // namespace tbn
