// ops.h — the four ai.tbn kernels. Each parses and checks its attributes once at creation
// (throwing OpError on anything malformed) and checks the run's input shapes in compute().
// register.cc wraps them into OrtCustomOp tables.
#pragma once

#include <string>
#include <vector>

#include "tile_weight.h"

namespace tbn {

class DecodeKernel {
 public:
  explicit DecodeKernel(const OrtKernelInfo *info);
  void compute(OrtKernelContext *ctx) const;

 private:
  TileAttrs attrs_;
};

// TbnGemm (gemm = true) and TbnMatMul: y = alpha · A' · W' + beta · C with W from the tile.
class DenseKernel {
 public:
  DenseKernel(const OrtKernelInfo *info, bool gemm);
  void compute(OrtKernelContext *ctx) const;

 private:
  bool gemm_;
  TileAttrs attrs_;
  float alpha_ = 1, beta_ = 1;
  int64_t trans_a_ = 0, trans_b_ = 0, out_ = 0, in_ = 0;
  TiledWeight weight_;
  mutable WorkspacePool pool_;
};

class ConvKernel {
 public:
  explicit ConvKernel(const OrtKernelInfo *info);
  void compute(OrtKernelContext *ctx) const;

 private:
  TileAttrs attrs_;
  int spatial_ = 0;
  int64_t group_ = 1;
  tbn_auto_pad auto_pad_ = TBN_PAD_NOTSET;
  std::vector<int64_t> kernel_, strides_, dilations_, pads_;
  bool has_kernel_ = false, has_strides_ = false, has_dilations_ = false, has_pads_ = false;
  TiledWeight weight_;
  mutable WorkspacePool pool_;
};

}  // namespace tbn
