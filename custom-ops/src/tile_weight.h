// tile_weight.h — the part every ai.tbn op shares: the tile attributes (weight_shape, p,
// tile_axis), their validation with messages that name the offending value, and the kernel
// plan (repacked bits + scales). The plan is built once at kernel creation when bits and scales
// are constant initializers (the normal case) and per run otherwise.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ort_util.h"

namespace tbn {

struct TileAttrs {
  std::string op;
  std::vector<int64_t> shape;
  int64_t p = 1, tile_axis = 0, numel = 1, q = 1;

  TileAttrs(const OrtKernelInfo *info, const std::string &op_name);
  // Checks bits (uint8, ⌈q/8⌉ bytes) and scales (p or 1 values) and returns the tile. Scales
  // must be float, or float16/bfloat16 when `converted` is given: they are converted into it
  // (the tile then points there; plans copy the scales they need).
  tbn_tile tile(const TensorView &bits, const TensorView &scales, std::vector<float> *converted = nullptr) const;
};

class MatrixPlan {
 public:
  MatrixPlan(const tbn_tile &t, int64_t out, int64_t in, int w_out_first, tbn_isa isa, tbn_use use, const std::string &op);
  const tbn_matrix *get() const { return &m_; }

 private:
  std::unique_ptr<Workspace> mem_;
  tbn_matrix m_;
};

// W as a matrix [out][in] for a fused op; bits and scales are inputs bits_index, bits_index + 1.
// The plan keeps only the bit layout `use`'s kernels read (about q/8 bytes beside the tile).
class TiledWeight {
 public:
  TiledWeight(const OrtKernelInfo *info, const TileAttrs &attrs, int64_t out, int64_t in, int w_out_first,
              size_t bits_index, tbn_use use);
  // The plan for this run: the one built at creation, or a fresh one kept alive in *local.
  const tbn_matrix *get(OrtKernelContext *ctx, std::unique_ptr<MatrixPlan> *local) const;

 private:
  const TileAttrs &attrs_;
  int64_t out_, in_;
  int w_out_first_;
  size_t bits_index_;
  tbn_isa isa_;
  tbn_use use_;
  std::unique_ptr<MatrixPlan> constant_;
};

}  // namespace tbn
