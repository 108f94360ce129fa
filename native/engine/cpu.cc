// cpu.cc — run-time choice of the SIMD path. A path is available when its translation unit was
// compiled in (TBN_ENGINE_AVX2 / TBN_ENGINE_AVX512, set by CMake on x86-64) and the CPU (with
// an OS that saves the wide registers, which __builtin_cpu_supports checks) has the features.
#include "cpu.h"

#include <cstdlib>

#include "common.h"

namespace tbn {
namespace {

bool has(const std::string &name) {
  if (name == "portable") return true;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#if defined(TBN_ENGINE_AVX2)
  if (name == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#if defined(TBN_ENGINE_AVX512)
  if (name == "avx512") return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#endif
#endif
  return false;
}

MicroKernel kernel_for(const std::string &name) {
#if defined(TBN_ENGINE_AVX512)
  if (name == "avx512") return micro_avx512();
#endif
#if defined(TBN_ENGINE_AVX2)
  if (name == "avx2") return micro_avx2();
#endif
  (void)name;
  return micro_portable();
}

struct State {
  std::string path;
  MicroKernel kernel;
  State() {
    const auto all = kernel_paths();
    path = all.back();
    if (const char *env = std::getenv("TBN_KERNEL")) {
      for (const auto &p : all)
        if (p == env) path = p;
    }
    kernel = kernel_for(path);
  }
};

State &state() {
  static State s;
  return s;
}

}  // namespace

std::vector<std::string> kernel_paths() {
  std::vector<std::string> out;
  for (const char *p : {"portable", "avx2", "avx512"})
    if (has(p)) out.push_back(p);
  return out;
}

const std::string &kernel_path() { return state().path; }

void set_kernel_path(const std::string &name) {
  if (!has(name)) fail("kernel path '" + name + "' is not available on this build or CPU");
  state().path = name;
  state().kernel = kernel_for(name);
}

const MicroKernel &micro_kernel() { return state().kernel; }

}  // namespace tbn
