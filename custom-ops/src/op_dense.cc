// op_dense.cc — TbnGemm and TbnMatMul. Gemm: A 2-D (transA), W 2-D (transB), optional C
// broadcast to [M, N] (rank 0, [N], [1], [M,1], [1,N], [M,N]). MatMul: A of any rank ≥ 1
// (leading dims are batch, the 2-D W broadcasts over them), y = A · W. Version 2: the fused
// epilogue (scale, shift, residual, activation) along the output features.
#include "ops.h"
#include "tbn_op_schema.h"

namespace tbn {

DenseKernel::DenseKernel(const OrtKernelInfo *info, bool gemm)
    : d_(info, gemm), weight_(info, d_.tile, d_.out, d_.in, d_.w_out_first, TBN_INPUT_BITS, TBN_USE_DENSE) {}

void DenseKernel::compute(OrtKernelContext *ctx) const {
  const DenseInputs in = dense_inputs(d_, ctx);
  const int64_t rows = in.rows, k = in.k;
  tbn_dense_args args{};
  args.rows = rows;
  args.alpha = d_.alpha;
  args.beta = d_.beta;
  if (in.c) args.c = in.c, args.c_rows = in.c_rows, args.c_cols = in.c_cols;
  const EpilogueInputs epi = epilogue_inputs(d_.epi, ctx, d_.epi_input, d_.out, in.ydims);
  args.epi = epi.get();
  const TensorView y = output(ctx, 0, in.ydims);
  if (rows == 0) return;
  args.y = static_cast<float *>(y.data);
  args.x = static_cast<const float *>(in.a.data);
  std::unique_ptr<MatrixPlan> local;
  const tbn_matrix *m = weight_.get(ctx, &local);
  const tbn_parallel par = parallel_for(ctx);
  size_t bytes = 0;
  check(tbn_dense_workspace(m, rows, par.max_tasks, &bytes), d_.tile.op);
  // transA: A is [k][rows]; the kernels take x as [rows][k], transposed after their workspace.
  const size_t at_bytes = d_.trans_a ? static_cast<size_t>(rows * k) * sizeof(float) : 0;
  const WorkspacePool::Lease ws = shared_workspaces().acquire(bytes + at_bytes + 64);
  if (d_.trans_a) {
    float *at = reinterpret_cast<float *>(static_cast<unsigned char *>(ws.data()) + ((bytes + 63) & ~size_t(63)));
    check(tbn_transpose(args.x, k, rows, at), d_.tile.op + " transA");
    args.x = at;
  }
  check(tbn_dense_run(m, &args, ws.data(), bytes, &par), d_.tile.op);
}

}  // namespace tbn
