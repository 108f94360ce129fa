// selftest.cc — tbn_selftest entry point (built by scripts/build-native.mjs --sanitize):
//   tbn_selftest kernels [cases]                  kernel suite; exit 1 on any mismatch
//   tbn_selftest fuzz <libonnxruntime> <libtbn_ort_ops> <folder>   malformed-model pass
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "selftest.h"

int main(int argc, char **argv) {
  if (argc >= 2 && std::strcmp(argv[1], "kernels") == 0) return tbn_test::kernel_tests(argc >= 3 ? std::atoi(argv[2]) : 300);
  if (argc == 5 && std::strcmp(argv[1], "fuzz") == 0) return tbn_test::fuzz_models(argv[2], argv[3], argv[4]);
  std::fprintf(stderr, "usage: tbn_selftest kernels [cases] | fuzz <onnxruntime library> <ops library> <folder>\n");
  return 2;
}
