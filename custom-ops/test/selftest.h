// selftest.h — shared bits of tbn_selftest: a seeded RNG and the two suites.
//   kernel_tests(): the kernels against naive double-precision references (every kernel path
//                   this CPU has, random shapes), plus malformed sizes at the kernel API.
//   fuzz_models():  loads every .onnx in a folder with onnxruntime + the ai.tbn library and
//                   runs it on random inputs; prints one line per model (ok / load-error /
//                   run-error) for the caller to check. Run under ASan/UBSan, a crash or a
//                   sanitizer report is the failure this looks for.
#pragma once

#include <cstdint>
#include <string>

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
};

int kernel_tests(int cases);
int fuzz_models(const std::string &ort_library, const std::string &ops_library, const std::string &dir);

}  // namespace tbn_test
