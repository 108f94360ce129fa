// gemm_portable.cc — the portable 4×16 GEMM microkernel: plain loops over a register-sized
// accumulator block that any compiler vectorises with the baseline SIMD of the target; and the
// scalar panel packers every path falls back to for strides its SIMD packers do not cover.
#include <cstring>

#include "gemm_micro.h"

namespace tbn {

void pack_a_ref(const float *a, int64_t rs, int64_t cs, int64_t rows, int64_t kc, float *dst, int mr) {
  if (rs == 1 && rows == mr) {
    for (int64_t p = 0; p < kc; p++) std::memcpy(dst + p * mr, a + p * cs, sizeof(float) * mr);
    return;
  }
  for (int64_t i = 0; i < rows; i++) {
    const float *s = a + i * rs;
    for (int64_t p = 0; p < kc; p++) dst[p * mr + i] = s[p * cs];
  }
  for (int64_t i = rows; i < mr; i++)
    for (int64_t p = 0; p < kc; p++) dst[p * mr + i] = 0.f;
}

void pack_b_ref(const float *b, int64_t rs, int64_t cs, int64_t cols, int64_t kc, float *dst, int nr) {
  if (cs == 1) {
    for (int64_t p = 0; p < kc; p++) {
      std::memcpy(dst + p * nr, b + p * rs, sizeof(float) * cols);
      for (int64_t j = cols; j < nr; j++) dst[p * nr + j] = 0.f;
    }
    return;
  }
  for (int64_t j = 0; j < cols; j++) {
    const float *s = b + j * cs;
    for (int64_t p = 0; p < kc; p++) dst[p * nr + j] = s[p * rs];
  }
  for (int64_t j = cols; j < nr; j++)
    for (int64_t p = 0; p < kc; p++) dst[p * nr + j] = 0.f;
}

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

void pack_a(const float *a, int64_t rs, int64_t cs, int64_t rows, int64_t kc, float *dst) {
  pack_a_ref(a, rs, cs, rows, kc, dst, MR);
}

void pack_b(const float *b, int64_t rs, int64_t cs, int64_t cols, int64_t kc, float *dst) {
  pack_b_ref(b, rs, cs, cols, kc, dst, NR);
}

}  // namespace

MicroKernel micro_portable() { return {"portable", MR, NR, kernel, pack_a, pack_b}; }

}  // namespace tbn
