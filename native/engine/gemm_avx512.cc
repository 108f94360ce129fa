// gemm_avx512.cc — the AVX-512 8×32 GEMM microkernel (compiled with -mavx512f -mfma; chosen at
// run time only on CPUs with AVX-512F): 16 zmm accumulators, two B vectors and eight broadcast
// FMAs per step of k (loads ride in the FMAs as broadcast operands).
#include <immintrin.h>

#include "gemm_micro.h"
#include "gemm_pack_simd.h"

namespace tbn {
namespace {

constexpr int MR = 8;
constexpr int NR = 32;

#define TBN_ROW(i)                                  \
  x = _mm512_set1_ps(a[i]);                         \
  c##i##0 = _mm512_fmadd_ps(x, b0, c##i##0);        \
  c##i##1 = _mm512_fmadd_ps(x, b1, c##i##1);

void kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int accumulate) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
  __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
  __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
  __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
  __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
    __m512 x;
    TBN_ROW(0) TBN_ROW(1) TBN_ROW(2) TBN_ROW(3) TBN_ROW(4) TBN_ROW(5) TBN_ROW(6) TBN_ROW(7)
    a += MR;
    b += NR;
  }
  const __m512 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                              {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
  for (int i = 0; i < MR; i++) {
    float *ci = c + i * ldc;
    if (accumulate) {
      _mm512_storeu_ps(ci, _mm512_add_ps(_mm512_loadu_ps(ci), rows[i][0]));
      _mm512_storeu_ps(ci + 16, _mm512_add_ps(_mm512_loadu_ps(ci + 16), rows[i][1]));
    } else {
      _mm512_storeu_ps(ci, rows[i][0]);
      _mm512_storeu_ps(ci + 16, rows[i][1]);
    }
  }
}

#undef TBN_ROW

}  // namespace

MicroKernel micro_avx512() { return {"avx512", MR, NR, kernel, simd_pack_a<MR>, simd_pack_b<NR>}; }

}  // namespace tbn
