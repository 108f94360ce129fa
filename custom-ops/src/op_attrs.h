// op_attrs.h — what the CPU and the CUDA kernels of TbnGemm/TbnMatMul and TbnConv share: their
// attributes, parsed and checked once at creation, and the checks of a run's input shapes. The
// kernels differ only in where they compute.
#pragma once

#include <vector>

#include "tile_weight.h"

namespace tbn {

// The fused epilogue of op version 2, y = act(scale·v + shift + residual): the activation and
// its parameters, read and checked at creation (absent in a version-1 node: none).
struct EpilogueAttrs {
  EpilogueAttrs(const OrtKernelInfo *info, const std::string &op);
  tbn_act act = TBN_ACT_NONE;
  float alpha = 0, beta = 0;
};

// A run's epilogue inputs (scale, shift, residual from input `first` on, each optional; each of
// the op's float type T): scale and shift are [channels] or one value, residual has y's dims or
// is one value (added to all). On the host a one-value residual is read into e.add; device
// tensors keep it as residual (len 1). `scale`, `shift` and `residual` are the tensors' data in
// T; e points at them for float ops, and at float copies once widen() has run for float16 and
// bfloat16 ops (the host kernels call it with widen_bytes() of scratch: the residual is
// activation-sized, the rest per channel).
struct EpilogueInputs {
  tbn_epilogue e{};
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  const void *scale = nullptr, *shift = nullptr, *residual = nullptr;
  int64_t residual_len = 0;
  bool any = false, widened = false;
  bool narrow() const;
  size_t widen_bytes() const;
  void widen(void *scratch);
  const tbn_epilogue *get() const;
};
// ydims: the layer's own output, which the residual must match (`of` names it in the error).
EpilogueInputs epilogue_inputs(const EpilogueAttrs &a, OrtKernelContext *ctx, size_t first, int64_t channels,
                               const std::vector<int64_t> &ydims, ONNXTensorElementDataType type, bool host = true,
                               const char *of = "Y's shape");

// TbnGemm (gemm = true) and TbnMatMul: y = alpha · A' · W' + beta · C with W from the tile.
struct DenseAttrs {
  DenseAttrs(const OrtKernelInfo *info, bool gemm);
  bool gemm;
  TileAttrs tile;
  float alpha = 1, beta = 1;
  int64_t trans_a = 0, trans_b = 0, out = 0, in = 0;
  int w_out_first = 0;
  EpilogueAttrs epi;
  size_t epi_input = 0;  // index of the first epilogue input
};

// A run's A (and C): rows of A', its features, y's dims, and C's broadcast shape. A, C, the
// scales and Y share the op's float type (float, float16 or bfloat16: float_types.h); `c`
// points to C's data in that type.
struct DenseInputs {
  TensorView a;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  int64_t rows = 0, k = 0;
  std::vector<int64_t> ydims;
  const float *c = nullptr;
  int64_t c_rows = 1, c_cols = 1;
};
DenseInputs dense_inputs(const DenseAttrs &d, OrtKernelContext *ctx);

// TbnConvMaxPool's MaxPool, applied to the conv's NCHW output after the epilogue.
struct PoolAttrs {
  bool on = false;
  std::vector<int64_t> kernel, strides, pads;
  bool has_strides = false, has_pads = false;
  int ceil_mode = 0;
};

// TbnConv, TbnConvNhwc (channels_last: X [N, H, W, C], Y [N, OH, OW, OC], 2-D only) and
// TbnConvMaxPool (max_pool: TbnConv, then the pool).
struct ConvAttrs {
  ConvAttrs(const OrtKernelInfo *info, bool channels_last = false, bool max_pool = false);
  TileAttrs tile;
  bool channels_last = false;
  EpilogueAttrs epi;
  PoolAttrs pool;
  int spatial = 0;
  int64_t group = 1;
  tbn_auto_pad auto_pad = TBN_PAD_NOTSET;
  std::vector<int64_t> kernel, strides, dilations, pads;
  bool has_kernel = false, has_strides = false, has_dilations = false, has_pads = false;
  // Channels last, 1×1, stride 1, no pads, one group, ≥ 128 input channels: run as the dense product.
  bool dense_product() const;
};

// A run's X and B against the attributes: the geometry and y's dims. X, B, the scales and Y
// share the op's float type; `bias` points to B's data in that type.
struct ConvInputs {
  TensorView x;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  const float *bias = nullptr;
  tbn_conv_geom g{};
  std::vector<int64_t> ydims;  // the conv's output (the epilogue's residual has these dims)
  tbn_pool_geom pool{};        // TbnConvMaxPool: the pool on ydims, and Y's dims
  std::vector<int64_t> pooled_dims;
  // Y's dims: the pool's output where there is one, else the conv's.
  const std::vector<int64_t> &out_dims() const { return pooled_dims.empty() ? ydims : pooled_dims; }
};
ConvInputs conv_inputs(const ConvAttrs &c, OrtKernelContext *ctx);
// What the epilogue's residual must match, for its error: Y, or (TbnConvMaxPool) the conv's output.
inline const char *epilogue_shape(const ConvAttrs &c) { return c.pool.on ? "the conv output's shape" : "Y's shape"; }

}  // namespace tbn
