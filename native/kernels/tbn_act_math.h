/* tbn_act_math.h — the epilogue activations of ai.tbn op version 2 on one value, shared by the
 * portable CPU path (the reference of the SIMD paths), the CUDA kernels (TBN_HD) and the MCU
 * runtime (native/mcu; every C export carries a copy, so it stays C99). Codes are
 * tbn_act's (tbn_kernels.h), repeated here for code that cannot see that header; a and b are
 * activation_alpha and activation_beta. */
#ifndef TBN_ACT_MATH_H
#define TBN_ACT_MATH_H

#include <math.h>

#include "tbn_tile_math.h"

enum {
  TBN_ACT_MATH_NONE = 0,
  TBN_ACT_MATH_RELU,
  TBN_ACT_MATH_LEAKY_RELU,
  TBN_ACT_MATH_CLIP,
  TBN_ACT_MATH_HARD_SWISH,
  TBN_ACT_MATH_SIGMOID,
  TBN_ACT_MATH_SILU,
  TBN_ACT_MATH_GELU,
  TBN_ACT_MATH_GELU_TANH
};

static inline TBN_HD float tbn_act_value(int act, float v, float a, float b) {
  switch (act) {
    case TBN_ACT_MATH_RELU: return v < 0.0f ? 0.0f : v;
    case TBN_ACT_MATH_LEAKY_RELU: return v < 0.0f ? a * v : v;
    case TBN_ACT_MATH_CLIP: return v < a ? a : (v > b ? b : v);
    case TBN_ACT_MATH_HARD_SWISH: {
      float h = v * (1.0f / 6.0f) + 0.5f;
      h = h < 0.0f ? 0.0f : (h > 1.0f ? 1.0f : h);
      return v * h;
    }
    case TBN_ACT_MATH_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case TBN_ACT_MATH_SILU: return v / (1.0f + expf(-v));
    case TBN_ACT_MATH_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case TBN_ACT_MATH_GELU_TANH: return 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    default: return v;
  }
}

#endif
