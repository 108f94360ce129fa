// common.cc — buffer type checks and overflow-checked size arithmetic for the kernels.
#include "common.h"

namespace tbn {

const char *dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::i64: return "int64";
    case DType::b8: return "bool";
  }
  return "?";
}

void fail(const std::string &msg) { throw Error(msg); }

static void *typed(const Buf &b, DType want, const char *what) {
  if (b.dtype != want) fail(std::string(what) + ": expected a " + dtype_name(want) + " buffer, got " + dtype_name(b.dtype));
  return b.data;
}
float *Buf::f32(const char *what) const { return static_cast<float *>(typed(*this, DType::f32, what)); }
double *Buf::f64(const char *what) const { return static_cast<double *>(typed(*this, DType::i64, what)); }
uint8_t *Buf::u8(const char *what) const { return static_cast<uint8_t *>(typed(*this, DType::b8, what)); }

int64_t mul_checked(int64_t a, int64_t b, const char *what) {
  if (a < 0 || b < 0) fail(std::string(what) + ": negative size");
  if (a != 0 && b > kMaxElements / a) fail(std::string(what) + ": size too large");
  return a * b;
}

int64_t numel(const int64_t *dims, int n, const char *what) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p = mul_checked(p, dims[i], what);
  return p;
}

void need_size(const Buf &buf, int64_t need, const char *op, const char *which) {
  if (need < 0 || need > buf.size) {
    fail(std::string(op) + ": " + which + " buffer has " + std::to_string(buf.size) + " elements, " +
         std::to_string(need) + " needed");
  }
}

void need_view(const Buf &buf, int64_t offset, const int64_t *shape, const int64_t *strides, int rank,
               const char *op, const char *which) {
  int64_t lo = offset, hi = offset;
  for (int d = 0; d < rank; d++) {
    if (shape[d] < 0) fail(std::string(op) + ": negative dimension");
    if (shape[d] == 0) return;
    if (strides[d] > kMaxElements || strides[d] < -kMaxElements) fail(std::string(op) + ": stride out of range");
    const int64_t span = mul_checked(shape[d] - 1, strides[d] < 0 ? -strides[d] : strides[d], op);
    if (strides[d] < 0) lo -= span;
    else hi += span;
    if (lo < -kMaxElements || hi > kMaxElements) fail(std::string(op) + ": view out of range");
  }
  if (lo < 0 || hi >= buf.size) {
    fail(std::string(op) + ": " + which + " view [" + std::to_string(lo) + ", " + std::to_string(hi) +
         "] outside a buffer of " + std::to_string(buf.size) + " elements");
  }
}

float *scratch(std::vector<float> &v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

}  // namespace tbn
