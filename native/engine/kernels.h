// kernels.h — the engine's native kernels other than the element-wise family (elementwise.h):
// matrix products, convolution, pooling, reductions, softmax, layer norm, gather, Adam and the
// TBN tile parametrisation. Plain C++ over Buf views (no N-API): every function checks the
// geometry it is given against the buffers' element counts and dtypes, throws tbn::Error on a
// mismatch, and only then computes (in parallel on the pool where the work is large).
#pragma once

#include <cstdint>

#include "common.h"

namespace tbn {

// ---- matrix products (matmul.cc) ------------------------------------------------------------
struct MatMulGeom {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  int batch_rank = 0;
  const int64_t *batch = nullptr;     // output batch dims
  const int64_t *a_strides = nullptr; // element stride of A per batch dim (0 = broadcast)
  const int64_t *b_strides = nullptr;
};
/** out[t] = op(A[t])·op(B[t]) per batch entry t; A is [m, k] (or [k, m] with trans_a), B [k, n] ([n, k]). */
void matmul(const Buf &a, const Buf &b, const Buf &out, const MatMulGeom &g);

// ---- convolution (conv.cc) -----------------------------------------------------------------
struct ConvGeom {
  int64_t batch = 0, in_c = 0, out_c = 0, group = 1;
  int rank = 0;  // spatial dims, 1…3
  int64_t in[3] = {}, kernel[3] = {}, out[3] = {}, stride[3] = {}, pad[3] = {}, dil[3] = {};
};
void conv_forward(const Buf &x, const Buf &w, const Buf &y, const ConvGeom &g);
/** dx = ∂/∂x (overwritten); also ConvTranspose's forward pass. */
void conv_backward_data(const Buf &dy, const Buf &w, const Buf &dx, const ConvGeom &g);
/** dw = ∂/∂w (overwritten). */
void conv_backward_filter(const Buf &x, const Buf &dy, const Buf &dw, const ConvGeom &g);

// ---- pooling (pool.cc) ---------------------------------------------------------------------
struct PoolGeom {
  int64_t planes = 0;
  int rank = 0;
  int64_t in[3] = {}, kernel[3] = {}, out[3] = {}, stride[3] = {}, pad_begin[3] = {}, pad_end[3] = {}, dil[3] = {};
  bool count_include_pad = false;
};
/** argmax (int64, may be null): flat input index of each maximum, −1 for an all-padding window. */
void max_pool(const Buf &x, const Buf &out, const Buf *argmax, const PoolGeom &g);
void max_pool_backward(const Buf &dy, const Buf &argmax, const Buf &dx, const PoolGeom &g);
void avg_pool(const Buf &x, const Buf &out, const PoolGeom &g);
void avg_pool_backward(const Buf &dy, const Buf &dx, const PoolGeom &g);

// ---- reductions and row-wise ops (reduce.cc, norm.cc) ---------------------------------------
enum class ReduceOp : int { sum = 0, max = 1, min = 2, prod = 3 };
extern const char *const kReduceNames[];
/** Reduces the middle axis of x viewed as [outer, size, inner] into out [outer, inner]. */
void reduce(ReduceOp op, const Buf &x, const Buf &out, int64_t outer, int64_t size, int64_t inner);
void arg_reduce(bool max, const Buf &x, const Buf &out, int64_t outer, int64_t size, int64_t inner, bool select_last);
void softmax(const Buf &x, const Buf &out, int64_t outer, int64_t size, int64_t inner, bool log);
void softmax_backward(const Buf &y, const Buf &dy, const Buf &dx, int64_t outer, int64_t size, int64_t inner, bool log);
void layer_norm(const Buf &x, const Buf &out, const Buf &inv_std, int64_t rows, int64_t cols, double eps);
void layer_norm_backward(const Buf &xhat, const Buf &inv_std, const Buf &dy, const Buf &dx, int64_t rows, int64_t cols);

// ---- BatchNormalization's per-channel affine (channel.cc) -----------------------------------
/** y = x·scale[c] + shift[c] over x viewed as [outer, channels, inner]; max(0, ·) with relu. */
void channel_affine(const Buf &x, const Buf &scale, const Buf &shift, const Buf &y, int64_t outer, int64_t channels,
                    int64_t inner, bool relu);
/** From x and dy: dx = g·scale[c], dscale[c] = Σ g·x, dshift[c] = Σ g (g = dy, masked by the
 * forward output's sign with relu); null outputs are skipped. */
void channel_affine_backward(const Buf &x, const Buf &scale, const Buf &shift, const Buf &dy, const Buf *dx,
                             const Buf *dscale, const Buf *dshift, int64_t outer, int64_t channels, int64_t inner,
                             bool relu);

// ---- gather and Adam (gather.cc, adam.cc) ---------------------------------------------------
void gather(const Buf &table, const Buf &idx, const Buf &out, int64_t outer, int64_t axis_len, int64_t inner);
void gather_backward(const Buf &dy, const Buf &idx, const Buf &d_table, int64_t outer, int64_t axis_len, int64_t inner);

struct AdamGeom {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, step = 1, weight_decay = 0;
  bool decoupled = false;
};
void adam(const Buf &param, const Buf &grad, const Buf &m, const Buf &v, const AdamGeom &g);

// ---- TBN tile parametrisation (tile.cc) -----------------------------------------------------
struct TileGeom {
  int64_t rows = 0;   // W viewed as [rows, cols]: rows = shape[0]
  int64_t cols = 0;
  int64_t p = 1;      // regions
  int axis = 0;       // 0: stream W row-major; 1: stream Wᵀ
  bool per_layer = false;
};
/** out = α ⊙ tile(sign(Σ regions of w)); alpha [p or 1] and signs [q] (±1) are written for backward. */
void tile_forward(const Buf &w, const Buf *a, const Buf &out, const Buf &alpha, const Buf &signs, const TileGeom &g);
/** dw = straight-through dB̂·α (+ dA when da is null: α comes from w itself); da = α's gradient. */
void tile_backward(const Buf &gy, const Buf &a, const Buf &alpha, const Buf &signs, const Buf &dw, const Buf *da,
                   const TileGeom &g);

}  // namespace tbn
