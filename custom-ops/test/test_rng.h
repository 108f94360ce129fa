// test_rng.h — the seeded RNG of the C++ test programs (tbn_selftest, tbn_cuda_harness and its
// CPU emulation build): xorshift64, so a seed gives the same cases on every compiler and run.
#pragma once

#include <cstdint>
#include <vector>

namespace tbn_test {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint32_t next() {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return static_cast<uint32_t>(s >> 11);
  }
  int range(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint32_t>(hi - lo + 1)); }
  float uniform() { return static_cast<float>(next() % 2000001u) / 1000000.0f - 1.0f; }
  template <typename T>
  T pick(const std::vector<T> &v) { return v[next() % v.size()]; }
};

}  // namespace tbn_test
