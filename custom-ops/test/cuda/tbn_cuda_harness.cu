// tbn_cuda_harness — the ai.tbn CUDA kernels without onnxruntime:
//   tbn_cuda_harness info                 the device (JSON)
//   tbn_cuda_harness test [cases] [seed]  kernels vs CPU references (harness_test.cu)
//   tbn_cuda_harness bench [--quick]      timings vs cuBLAS and the bandwidth limit (harness_bench.cu)
// Exit status: 0 pass, 1 a check failed, 2 a CUDA call failed, 64 bad usage, 77 no CUDA device
// (the caller skips; test/gpu does). Builds with the CUDA kernels (custom-ops/CMakeLists.txt).
#include <cstring>
#include <string>

#include "harness.h"

namespace tbn_harness {

bool describe_device(DeviceSummary *d, const char **reason) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    *reason = e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device";
    (void)cudaGetLastError();
    return false;
  }
  HARNESS_CUDA(cudaGetDevice(&d->ordinal));
  cudaDeviceProp prop;
  HARNESS_CUDA(cudaGetDeviceProperties(&prop, d->ordinal));
  std::snprintf(d->name, sizeof d->name, "%s", prop.name);
  int clock_khz = 0, bus_bits = 0, l2 = 0;
  HARNESS_CUDA(cudaDeviceGetAttribute(&d->sms, cudaDevAttrMultiProcessorCount, d->ordinal));
  HARNESS_CUDA(cudaDeviceGetAttribute(&d->major, cudaDevAttrComputeCapabilityMajor, d->ordinal));
  HARNESS_CUDA(cudaDeviceGetAttribute(&d->minor, cudaDevAttrComputeCapabilityMinor, d->ordinal));
  HARNESS_CUDA(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, d->ordinal));
  HARNESS_CUDA(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, d->ordinal));
  HARNESS_CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, d->ordinal));
  // Double data rate: two transfers per memory clock over the whole bus.
  d->bandwidth = 2.0 * clock_khz * 1e3 * bus_bits / 8.0;
  d->l2 = l2;
  return true;
}

}  // namespace tbn_harness

int main(int argc, char **argv) {
  using namespace tbn_harness;
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd != "info" && cmd != "test" && cmd != "bench") {
    std::fprintf(stderr, "usage: %s info | test [cases] [seed] | bench [--quick]\n", argv[0]);
    return 64;
  }
  DeviceSummary dev;
  const char *reason = "unknown";
  if (!describe_device(&dev, &reason)) {
    std::printf("no CUDA device: %s\n", reason);
    return 77;
  }
  if (cmd == "info") {
    std::printf("{\"device\":\"%s\",\"sms\":%d,\"cc\":\"%d.%d\",\"bandwidth_gbs\":%.1f,\"l2_mb\":%.1f}\n", dev.name, dev.sms,
                dev.major, dev.minor, dev.bandwidth / 1e9, dev.l2 / 1048576.0);
    return 0;
  }
  if (cmd == "test") {
    const int cases = argc > 2 ? std::atoi(argv[2]) : 120;
    const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 20250610;
    std::printf("device %s (sm_%d%d, %d SMs)\n", dev.name, dev.major, dev.minor, dev.sms);
    return run_tests(cases < 1 ? 1 : cases, seed);
  }
  return run_bench(dev, argc > 2 && std::strcmp(argv[2], "--quick") == 0);
}
