// op_dense.cc — TbnGemm and TbnMatMul. Gemm: A 2-D (transA), W 2-D (transB), optional C
// broadcast to [M, N] (rank 0, [N], [1], [M,1], [1,N], [M,N]). MatMul: A of any rank ≥ 1
// (leading dims are batch, the 2-D W broadcasts over them), y = A · W.
#include "ops.h"
#include "tbn_op_schema.h"

namespace tbn {

namespace {

struct Dims {
  int64_t out, in;
  int w_out_first;
};

Dims dense_dims(const TileAttrs &a, bool gemm, int64_t trans_b) {
  if (a.shape.size() != 2) fail("weight_shape " + dims_str(a.shape) + " must be 2-D");
  if (gemm && trans_b) return {a.shape[0], a.shape[1], 1};
  return {a.shape[1], a.shape[0], 0};
}

}  // namespace

DenseKernel::DenseKernel(const OrtKernelInfo *info, bool gemm)
    : gemm_(gemm),
      attrs_(info, gemm ? TBN_OP_GEMM : TBN_OP_MATMUL),
      alpha_(gemm ? attr_float(info, TBN_ATTR_ALPHA, TBN_DEFAULT_ALPHA) : 1.0f),
      beta_(gemm ? attr_float(info, TBN_ATTR_BETA, TBN_DEFAULT_BETA) : 1.0f),
      trans_a_(flag_attr(info, gemm, TBN_ATTR_TRANS_A, TBN_DEFAULT_TRANS_A)),
      trans_b_(flag_attr(info, gemm, TBN_ATTR_TRANS_B, TBN_DEFAULT_TRANS_B)),
      out_(dense_dims(attrs_, gemm, trans_b_).out),
      in_(dense_dims(attrs_, gemm, trans_b_).in),
      weight_(info, attrs_, out_, in_, dense_dims(attrs_, gemm, trans_b_).w_out_first, TBN_INPUT_BITS) {}

void DenseKernel::compute(OrtKernelContext *ctx) const {
  const TensorView a = input(ctx, 0);
  require_float(a, "A");
  int64_t rows = 0, k = 0;
  std::vector<int64_t> ydims;
  if (gemm_) {
    if (a.dims.size() != 2) fail("A " + dims_str(a.dims) + " must be 2-D");
    rows = trans_a_ ? a.dims[1] : a.dims[0];
    k = trans_a_ ? a.dims[0] : a.dims[1];
    ydims = {rows, out_};
  } else {
    if (a.dims.empty()) fail("A must have rank >= 1");
    k = a.dims.back();
    ydims.assign(a.dims.begin(), a.dims.end() - 1);
    rows = TensorView{ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, ydims, nullptr}.numel();
    ydims.push_back(out_);
  }
  if (k != in_)
    fail("A " + dims_str(a.dims) + " has " + std::to_string(k) + " features; weight_shape " + dims_str(attrs_.shape) +
         " takes " + std::to_string(in_));
  tbn_dense_args args{};
  args.rows = rows;
  args.alpha = alpha_;
  args.beta = beta_;
  if (gemm_) {
    bool has_c = false;
    const TensorView c = input(ctx, 3, &has_c);
    if (has_c) {
      require_float(c, "C");
      const size_t r = c.dims.size();
      args.c_rows = r == 2 ? c.dims[0] : 1;
      args.c_cols = r == 0 ? 1 : c.dims[r - 1];
      if (r > 2 || (args.c_rows != 1 && args.c_rows != rows) || (args.c_cols != 1 && args.c_cols != out_))
        fail("C " + dims_str(c.dims) + " does not broadcast to " + dims_str(ydims));
      args.c = static_cast<const float *>(c.data);
    }
  }
  const TensorView y = output(ctx, 0, ydims);
  if (rows == 0) return;
  args.y = static_cast<float *>(y.data);
  args.x = static_cast<const float *>(a.data);
  std::unique_ptr<MatrixPlan> local;
  const tbn_matrix *m = weight_.get(ctx, &local);
  const tbn_parallel par = parallel_for(ctx);
  size_t bytes = 0;
  check(tbn_dense_workspace(m, rows, par.max_tasks, &bytes), attrs_.op);
  // transA: A is [k][rows]; the kernels take x as [rows][k], transposed after their workspace.
  const size_t at_bytes = trans_a_ ? static_cast<size_t>(rows * k) * sizeof(float) : 0;
  const WorkspacePool::Lease ws = pool_.acquire(bytes + at_bytes + 64);
  if (trans_a_) {
    float *at = reinterpret_cast<float *>(static_cast<unsigned char *>(ws.data()) + ((bytes + 63) & ~size_t(63)));
    check(tbn_transpose(args.x, k, rows, at), attrs_.op + " transA");
    args.x = at;
  }
  check(tbn_dense_run(m, &args, ws.data(), bytes, &par), attrs_.op);
}

}  // namespace tbn
