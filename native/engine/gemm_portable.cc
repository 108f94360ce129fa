// gemm_portable.cc — the portable 4×16 GEMM microkernel: plain loops over a register-sized
// accumulator block that any compiler vectorises with the baseline SIMD of the target.
#include "gemm_micro.h"

namespace tbn {
namespace {

constexpr int MR = 4;
constexpr int NR = 16;

void kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int accumulate) {
  float acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; p++) {
    for (int i = 0; i < MR; i++) {
      const float ai = a[i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; i++) {
    float *ci = c + i * ldc;
    if (accumulate) {
      for (int j = 0; j < NR; j++) ci[j] += acc[i][j];
    } else {
      for (int j = 0; j < NR; j++) ci[j] = acc[i][j];
    }
  }
}

}  // namespace

MicroKernel micro_portable() { return {"portable", MR, NR, kernel}; }

}  // namespace tbn
