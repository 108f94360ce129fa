// common.h — what every kernel of the engine's native backend shares: element types, the view
// of a buffer the kernels get (memory, element count, type), the error validation throws, and
// size arithmetic that refuses to overflow. Kernels never trust sizes they are told: each one
// checks every extent it will touch against the element counts of the buffers it was given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tbn {

// int64 tensors hold float64 numbers, exactly as the JS backend does (exact within ±2^53), so
// both backends agree on every integer op and read() hands JS a Float64Array without conversion.
enum class DType : int { f32 = 0, i64 = 1, b8 = 2 };

inline size_t dtype_bytes(DType t) { return t == DType::f32 ? 4 : t == DType::i64 ? 8 : 1; }
const char *dtype_name(DType t);

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Every element count and index product stays below this.
constexpr int64_t kMaxElements = int64_t(1) << 40;

/** A buffer as the kernels see it. */
struct Buf {
  void *data = nullptr;
  int64_t size = 0;
  DType dtype = DType::f32;

  float *f32(const char *what) const;
  double *f64(const char *what) const;
  uint8_t *u8(const char *what) const;
};

[[noreturn]] void fail(const std::string &msg);
inline void require(bool ok, const char *msg) {
  if (!ok) fail(msg);
}

/** a·b, or an error naming `what` when either is negative or the product is too large. */
int64_t mul_checked(int64_t a, int64_t b, const char *what);
/** Product of n dims (each ≥ 0). */
int64_t numel(const int64_t *dims, int n, const char *what);
/** Throws unless `buf` holds at least `need` elements. */
void need_size(const Buf &buf, int64_t need, const char *op, const char *which);
/**
 * Throws unless every element offset + Σ i_d·stride_d (0 ≤ i_d < shape_d) lies inside `buf`;
 * strides may be negative. A shape with a zero dimension touches nothing.
 */
void need_view(const Buf &buf, int64_t offset, const int64_t *shape, const int64_t *strides, int rank,
               const char *op, const char *which);

/** At least n floats of `v` (grown, never shrunk): per-thread scratch kept warm across calls. */
float *scratch(std::vector<float> &v, int64_t n);

// TBN_WIDE on a function with simple loops (copies, element-wise float math) builds it for
// AVX-512 and AVX2 as well as the baseline, picked once at load time (GCC/Clang function
// multiversioning on x86-64 Linux), so its loops run 16 or 8 lanes wide. The arithmetic is the
// same in every version (IEEE float, no contraction: -ffp-contract=off), so results are too.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define TBN_WIDE __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TBN_WIDE
#endif

}  // namespace tbn
