// tbn_launch.cuh — the CUDA launchers of the ai.tbn ops: (cudaStream_t, device pointers, sizes)
// → cudaError_t, with no onnxruntime types (the adapters in ops_cuda.cc convert). Every pointer
// is device memory; the tile is read as given (⌈q/8⌉ bytes of bits, p or 1 scales), never
// decoded into W. A launcher checks sizes (cudaErrorInvalidValue), enqueues on `stream` and
// returns the launch status; nothing here synchronises or allocates. Split-K partial sums need
// caller workspace sized by tbn_cuda_*_workspace; with less (or none) the work is not split.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "tbn_kernels.h"

namespace tbn {

// The tile in device memory.
struct CudaTile {
  const uint8_t *bits = nullptr;
  int64_t bits_len = 0;  // ⌈q/8⌉
  const float *scales = nullptr;
  int64_t scales_len = 0;  // p, or 1 for one α per layer
  int64_t p = 1, q = 1;
};

// How the ±1 product is multiplied: fp32 FMAs on CUDA cores, or on tensor cores (sm_80+) with
// the activations split into two TF32 terms (x = hi + lo, each exact against ±1, so the result
// keeps about 22 bits of every input; the general path, whose weights are ±α, stays on fp32).
enum class CudaMath : int { Fp32 = 0, Tf32x2 = 1 };

// The fused epilogue (op version 2), applied as each output is stored: y = act(s[c]·v + t[c] +
// r), c the output channel; scale/shift hold 1 or `channels` values, residual 1 or one per output
// (laid out like y). Device pointers; null: absent. act: tbn_act (tbn_act_math.h).
struct CudaEpilogue {
  const float *scale = nullptr, *shift = nullptr, *residual = nullptr;
  int64_t scale_len = 0, shift_len = 0, residual_len = 0;
  int act = 0;
  float alpha = 0.0f, beta = 0.0f;
};

// TbnGemm / TbnMatMul: y[m][o] = epi(alpha · Σ_i x(m, i) · W[o][i] + beta · c(m, o)).
struct CudaDense {
  CudaTile tile;
  int64_t out = 0, in = 0;
  int out_major = 1;  // tbn_out_major(): stream position of W[o][i] is o·in + i (else i·out + o)
  const float *x = nullptr;
  int64_t rows = 0, x_row_stride = 0, x_col_stride = 1;  // x(m, i) = x[m·row_stride + i·col_stride]
  float *y = nullptr;                                     // [rows][out], contiguous
  float alpha = 1.0f, beta = 0.0f;
  const float *c = nullptr;                               // c(m, o) = c[m·row_stride + o·col_stride]
  int64_t c_row_stride = 0, c_col_stride = 0;             // 0 broadcasts
  CudaMath math = CudaMath::Fp32;
  CudaEpilogue epi;
};

// TbnConv (1-D or 2-D, NCHW; geometry from tbn_conv_geometry): y = epi(conv(x, W) + bias).
struct CudaConv {
  CudaTile tile;
  int out_major = 1;  // W is [oc][c/group·kh·kw]: tile_axis 0
  tbn_conv_geom g{};
  const float *x = nullptr, *bias = nullptr;  // bias: nullptr or oc values
  float *y = nullptr;
  CudaMath math = CudaMath::Fp32;
  CudaEpilogue epi;
};

// TbnConvMaxPool's MaxPool on the conv's output: y[n][c][oh][ow] = the max of x over each window
// clipped to the input (pads are never the max). g as tbn_pool_geometry fills it (a 1-D pool has
// H = k = stride = 1, no H padding); x is [n][c][in0][in1], y [n][c][out0][out1], both float.
struct CudaPool {
  tbn_pool_geom g{};
  const float *x = nullptr;
  float *y = nullptr;
};

// TbnDecode: W (row-major, N values) of a weight whose shape[0] is m (kc = N/m).
struct CudaDecode {
  CudaTile tile;
  int64_t tile_axis = 0, m = 1, kc = 1;
  float *w = nullptr;
};

// Workspace bytes for the split-K partial sums on the current device (0: the work is not split).
cudaError_t tbn_cuda_dense_workspace(const CudaDense &a, size_t *bytes);
cudaError_t tbn_cuda_conv_workspace(const CudaConv &a, size_t *bytes);

cudaError_t launch_tbn_dense(cudaStream_t stream, const CudaDense &a, void *workspace, size_t workspace_bytes);
cudaError_t launch_tbn_conv(cudaStream_t stream, const CudaConv &a, void *workspace, size_t workspace_bytes);
cudaError_t launch_tbn_decode(cudaStream_t stream, const CudaDecode &a);
cudaError_t launch_tbn_maxpool(cudaStream_t stream, const CudaPool &a);

// Whether the current device runs the tensor-core path (compute capability 8.0 or newer).
bool tbn_cuda_has_tf32(void);

}  // namespace tbn
