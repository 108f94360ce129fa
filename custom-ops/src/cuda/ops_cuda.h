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

#include "../op_attrs.h"
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
  DenseAttrs d_;
  CudaMath math_;
};

// TbnConv, and TbnConvMaxPool (max_pool = true: the conv into device scratch, then the pool).
class TbnConvCuda {
 public:
  explicit TbnConvCuda(const OrtKernelInfo *info, bool max_pool = false);
  void compute(OrtKernelContext *ctx) const;

 private:
  ConvAttrs c_;
  CudaMath math_;
};

}  // namespace tbn
