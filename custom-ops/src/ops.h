// ops.h — the four ai.tbn kernels. Each parses and checks its attributes once at creation
// (throwing OpError on anything malformed) and checks the run's input shapes in compute().
// register.cc wraps them into OrtCustomOp tables.
#pragma once

#include <string>
#include <vector>

#include "op_attrs.h"
#include "tile_weight.h"

namespace tbn {

class DecodeKernel {
 public:
  explicit DecodeKernel(const OrtKernelInfo *info);
  void compute(OrtKernelContext *ctx) const;

 private:
  TileAttrs attrs_;
  std::vector<unsigned char> cached_;  // W decoded at creation (constant and small), or empty
};

// TbnGemm (gemm = true) and TbnMatMul: y = alpha · A' · W' + beta · C with W from the tile.
class DenseKernel {
 public:
  DenseKernel(const OrtKernelInfo *info, bool gemm);
  void compute(OrtKernelContext *ctx) const;

 private:
  DenseAttrs d_;  // before weight_, which keeps a reference to d_.tile
  TiledWeight weight_;
};

class ConvKernel {
 public:
  explicit ConvKernel(const OrtKernelInfo *info, bool channels_last = false, bool max_pool = false);
  void compute(OrtKernelContext *ctx) const;

 private:
  ConvAttrs c_;  // before weight_, which keeps a reference to c_.tile
  TiledWeight weight_;
};

}  // namespace tbn
