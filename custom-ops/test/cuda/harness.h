// harness.h — shared by the parts of tbn_cuda_harness (the standalone GPU test and benchmark of
// the ai.tbn CUDA kernels): device buffers, random tiles (the seeded RNG is test_rng.h), and
// the weight value from the format's definition (written independently of the kernels and of
// tbn_tile_math.h, as in custom-ops/test/kernel_tests.cc) that the references are built from.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tbn_launch.cuh"
#include "test_rng.h"

namespace tbn_harness {

#define HARNESS_CUDA(expr)                                                                              \
  do {                                                                                                  \
    const cudaError_t e_ = (expr);                                                                      \
    if (e_ != cudaSuccess) {                                                                            \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(e_));      \
      std::exit(2);                                                                                     \
    }                                                                                                   \
  } while (0)

using tbn_test::Rng;

template <typename T>
class DevBuf {
 public:
  DevBuf() = default;
  explicit DevBuf(size_t n) : n_(n) {
    if (n) HARNESS_CUDA(cudaMalloc(&p_, n * sizeof(T)));
  }
  explicit DevBuf(const std::vector<T> &v) : DevBuf(v.size()) { upload(v); }
  ~DevBuf() {
    if (p_) cudaFree(p_);
  }
  DevBuf(const DevBuf &) = delete;
  DevBuf &operator=(const DevBuf &) = delete;
  DevBuf(DevBuf &&o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  DevBuf &operator=(DevBuf &&o) noexcept {
    if (this != &o) {
      if (p_) cudaFree(p_);
      p_ = o.p_, n_ = o.n_, o.p_ = nullptr, o.n_ = 0;
    }
    return *this;
  }
  void upload(const std::vector<T> &v) {
    if (n_) HARNESS_CUDA(cudaMemcpy(p_, v.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> v(n_);
    if (n_) HARNESS_CUDA(cudaMemcpy(v.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
  }
  T *data() const { return p_; }
  size_t size() const { return n_; }

 private:
  T *p_ = nullptr;
  size_t n_ = 0;
};

// A tile on the host and its copy on the device.
struct Tile {
  std::vector<int64_t> shape;
  std::vector<uint8_t> bits;
  std::vector<float> scales;
  int64_t p = 1, axis = 0, n = 1, q = 1;
  DevBuf<uint8_t> dbits;
  DevBuf<float> dscales;
};

inline void make_tile(Tile &t, Rng &r, const std::vector<int64_t> &shape, int64_t p, int64_t axis, bool per_layer) {
  t.shape = shape, t.p = p, t.axis = axis, t.n = 1;
  for (int64_t d : shape) t.n *= d;
  t.q = t.n / p;
  t.bits.assign(static_cast<size_t>((t.q + 7) / 8), 0);
  for (auto &b : t.bits) b = static_cast<uint8_t>(r.next());
  t.scales.assign(per_layer ? 1 : static_cast<size_t>(p), 0.0f);
  for (auto &s : t.scales) s = 0.05f + 0.5f * (0.5f + 0.5f * r.uniform());
  t.dbits = DevBuf<uint8_t>(t.bits);
  t.dscales = DevBuf<float>(t.scales);
}

inline tbn::CudaTile device_tile(const Tile &t) {
  tbn::CudaTile c;
  c.bits = t.dbits.data(), c.bits_len = static_cast<int64_t>(t.bits.size());
  c.scales = t.dscales.data(), c.scales_len = static_cast<int64_t>(t.scales.size());
  c.p = t.p, c.q = t.q;
  return c;
}

// W at row-major index idx, straight from the definition: stream position k (row-major, or
// W viewed [m][kc] read column by column for tile_axis 1), region k / q, bit k mod q.
inline double ref_w(const Tile &t, int64_t idx) {
  const int64_t m = t.shape[0], kc = t.n / m;
  const int64_t k = t.axis == 0 ? idx : (idx % kc) * m + idx / kc;
  const int64_t j = k % t.q, region = k / t.q;
  const double a = t.scales.size() == 1 ? t.scales[0] : t.scales[static_cast<size_t>(region)];
  return ((t.bits[static_cast<size_t>(j >> 3)] >> (j & 7)) & 1) ? a : -a;
}

struct DeviceSummary {
  int ordinal = 0, sms = 0, major = 0, minor = 0;
  double bandwidth = 0;  // bytes/s from the memory clock and bus width
  int64_t l2 = 0;
  char name[256] = {0};
};

// False (with the reason) when there is no usable CUDA device.
bool describe_device(DeviceSummary *d, const char **reason);

int run_tests(int cases, uint64_t seed);
// The MaxPool kernel (harness_pool.cu): failures, each printed; what ran is counted in `seen`.
int run_pool_tests(int cases, uint64_t seed, std::map<std::string, int> &seen);
int run_bench(const DeviceSummary &dev, bool quick);

}  // namespace tbn_harness
