// emu_stubs.cc — what the CPU emulation build of tbn_cuda_harness leaves out: the benchmark
// (cuBLAS and timings mean nothing without a GPU).
#include "harness.h"

namespace tbn_harness {

int run_bench(const DeviceSummary &, bool) {
  std::printf("bench: not available in the CPU emulation\n");
  return 64;
}

}  // namespace tbn_harness
