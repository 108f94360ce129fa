// matmul.cc — the engine's batched, broadcasting matrix product on top of gemm.h: one GEMM per
// batch entry (operand offsets from the batch strides, 0 where an operand is broadcast), all
// handed to the pool together. Extents are checked for every operand before any product runs.
#include <vector>

#include "gemm.h"
#include "kernels.h"

namespace tbn {

void matmul(const Buf &a, const Buf &b, const Buf &out, const MatMulGeom &g) {
  const float *pa = a.f32("matmul A");
  const float *pb = b.f32("matmul B");
  float *pc = out.f32("matmul output");
  if (g.batch_rank < 0 || g.batch_rank > 30) fail("matmul: batch rank out of range");
  if (g.m < 0 || g.n < 0 || g.k < 0) fail("matmul: negative size");
  const int r = g.batch_rank;
  // A view: batch dims with their strides, then the matrix as one contiguous run of m·k.
  int64_t shape[32], sa[32], sb[32];
  for (int d = 0; d < r; d++) {
    shape[d] = g.batch[d];
    sa[d] = g.a_strides[d];
    sb[d] = g.b_strides[d];
  }
  shape[r] = mul_checked(g.m, g.k, "matmul");
  sa[r] = 1;
  need_view(a, 0, shape, sa, r + 1, "matmul", "A");
  shape[r] = mul_checked(g.k, g.n, "matmul");
  sb[r] = 1;
  need_view(b, 0, shape, sb, r + 1, "matmul", "B");
  const int64_t batches = numel(g.batch, r, "matmul");
  const int64_t per = mul_checked(g.m, g.n, "matmul");
  need_size(out, mul_checked(batches, per, "matmul"), "matmul", "output");
  if (batches == 0 || per == 0) return;

  std::vector<GemmArgs> list(static_cast<size_t>(batches));
  int64_t idx[32] = {};
  int64_t ao = 0, bo = 0;
  for (int64_t t = 0; t < batches; t++) {
    GemmArgs &x = list[static_cast<size_t>(t)];
    x.m = g.m;
    x.n = g.n;
    x.k = g.k;
    x.a = pa + ao;
    x.a_rs = g.trans_a ? 1 : g.k;
    x.a_cs = g.trans_a ? g.m : 1;
    x.b = pb + bo;
    x.b_rs = g.trans_b ? 1 : g.n;
    x.b_cs = g.trans_b ? g.k : 1;
    x.c = pc + t * per;
    x.c_rs = g.n;
    for (int d = r - 1; d >= 0; d--) {
      ao += g.a_strides[d];
      bo += g.b_strides[d];
      if (++idx[d] < g.batch[d]) break;
      ao -= g.a_strides[d] * g.batch[d];
      bo -= g.b_strides[d] * g.batch[d];
      idx[d] = 0;
    }
  }
  gemm_batch(list.data(), batches);
}

}  // namespace tbn
