// op_attrs.h — what the CPU and the CUDA kernels of TbnGemm/TbnMatMul and TbnConv share: their
// attributes, parsed and checked once at creation, and the checks of a run's input shapes. The
// kernels differ only in where they compute.
#pragma once

#include <vector>

#include "tile_weight.h"

namespace tbn {

// TbnGemm (gemm = true) and TbnMatMul: y = alpha · A' · W' + beta · C with W from the tile.
struct DenseAttrs {
  DenseAttrs(const OrtKernelInfo *info, bool gemm);
  bool gemm;
  TileAttrs tile;
  float alpha = 1, beta = 1;
  int64_t trans_a = 0, trans_b = 0, out = 0, in = 0;
  int w_out_first = 0;
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

struct ConvAttrs {
  explicit ConvAttrs(const OrtKernelInfo *info);
  TileAttrs tile;
  int spatial = 0;
  int64_t group = 1;
  tbn_auto_pad auto_pad = TBN_PAD_NOTSET;
  std::vector<int64_t> kernel, strides, dilations, pads;
  bool has_kernel = false, has_strides = false, has_dilations = false, has_pads = false;
};

// A run's X and B against the attributes: the geometry and y's dims. X, B, the scales and Y
// share the op's float type; `bias` points to B's data in that type.
struct ConvInputs {
  TensorView x;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  const float *bias = nullptr;
  tbn_conv_geom g{};
  std::vector<int64_t> ydims;
};
ConvInputs conv_inputs(const ConvAttrs &c, OrtKernelContext *ctx);

}  // namespace tbn
