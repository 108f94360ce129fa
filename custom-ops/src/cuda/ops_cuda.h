// ops_cuda.h — the ai.tbn kernels for onnxruntime's CUDAExecutionProvider, registered by
// register.cc under the same names and domain as the CPU kernels (so one model runs on either
// EP). Attributes are parsed and checked once at creation, as on the CPU; compute() checks the
// run's shapes on the host, takes the EP's compute stream from the kernel context and calls the
// launchers of tbn_launch.cuh on the device tensors (bits and scales stay on the device: the
// tile is never decoded, nor copied to the host). TBN_CUDA_MATH = fp32 | tf32x2 (default)
// picks how the ±1 products are multiplied.
#pragma once

#include <string>
#include <vector>

#include "../tile_weight.h"
#include "tbn_launch.cuh"

namespace tbn {

class TbnDecodeCuda {
 public:
  explicit TbnDecodeCuda(const OrtKernelInfo *info);
  void compute(OrtKernelContext *ctx) const;

 private:
  TileAttrs attrs_;
};

// TbnGemm (gemm = true) and TbnMatMul.
class TbnDenseCuda {
 public:
  TbnDenseCuda(const OrtKernelInfo *info, bool gemm);
  void compute(OrtKernelContext *ctx) const;

 private:
  bool gemm_;
  TileAttrs attrs_;
  float alpha_ = 1, beta_ = 1;
  int64_t trans_a_ = 0, trans_b_ = 0, out_ = 0, in_ = 0;
  int w_out_first_ = 0;
  CudaMath math_;
};

class TbnConvCuda {
 public:
  explicit TbnConvCuda(const OrtKernelInfo *info);
  void compute(OrtKernelContext *ctx) const;

 private:
  TileAttrs attrs_;
  int spatial_ = 0;
  int64_t group_ = 1;
  tbn_auto_pad auto_pad_ = TBN_PAD_NOTSET;
  std::vector<int64_t> kernel_, strides_, dilations_, pads_;
  bool has_kernel_ = false, has_strides_ = false, has_dilations_ = false, has_pads_ = false;
  CudaMath math_;
};

}  // namespace tbn
