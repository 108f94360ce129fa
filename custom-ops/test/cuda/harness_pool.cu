// harness_pool.cu — the MaxPool kernel of TbnConvMaxPool (launch_tbn_maxpool) against a naive
// reference written from the definition (each window's positions in the padded input, those
// inside it compared, from the lowest float up, as onnxruntime's MaxPool does) and against the
// CPU kernel (tbn_maxpool_run): all three must agree bit for bit, ±inf and NaN inputs included (a
// NaN is never the max).
// The geometry comes from tbn_pool_geometry, as the ops get it. Fixed cases pin what random ones
// may miss (a ceil_mode window the last-window rule drops, a grid larger than one launch); the
// random ones cover 1-D and 2-D, pads, ceil_mode, strides unlike the kernel and the 2×2 stride-2
// window. Outputs start as NaN (never a pool's result) so an unwritten value fails.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>

#include "harness.h"

namespace tbn_harness {
namespace {

struct PoolSpec {
  int spatial;
  int64_t n, c, in[2], k[2], stride[2], pads[4];
  int ceil_mode;
};

std::string describe(const PoolSpec &s) {
  std::string d = std::to_string(s.spatial) + "-D n " + std::to_string(s.n) + " c " + std::to_string(s.c) + " in";
  for (int i = 0; i < s.spatial; i++) d += " " + std::to_string(s.in[i]);
  d += " k";
  for (int i = 0; i < s.spatial; i++) d += " " + std::to_string(s.k[i]);
  d += " s";
  for (int i = 0; i < s.spatial; i++) d += " " + std::to_string(s.stride[i]);
  d += " pads";
  for (int i = 0; i < 2 * s.spatial; i++) d += " " + std::to_string(s.pads[i]);
  return d + " ceil " + std::to_string(s.ceil_mode);
}

// y from the definition: output (oh, ow) covers padded positions oh·s + i, i < k, of which those
// inside the input are compared.
std::vector<float> reference(const tbn_pool_geom &g, const std::vector<float> &x) {
  std::vector<float> y;
  for (int64_t p = 0; p < g.n * g.c; p++)
    for (int64_t oh = 0; oh < g.out[0]; oh++)
      for (int64_t ow = 0; ow < g.out[1]; ow++) {
        float m = std::numeric_limits<float>::lowest();
        for (int64_t i = 0; i < g.k[0]; i++)
          for (int64_t j = 0; j < g.k[1]; j++) {
            const int64_t h = oh * g.stride[0] + i - g.pad0[0], w = ow * g.stride[1] + j - g.pad0[1];
            if (h < 0 || h >= g.in[0] || w < 0 || w >= g.in[1]) continue;
            const float v = x[static_cast<size_t>((p * g.in[0] + h) * g.in[1] + w)];
            if (v > m) m = v;
          }
        y.push_back(m);
      }
  return y;
}

// What the case covers, for the coverage lines.
void tally(const PoolSpec &s, const tbn_pool_geom &g, bool nans, int64_t launch_threads, std::map<std::string, int> &seen) {
  seen[s.spatial == 1 ? "pool 1-d" : "pool 2-d"]++;
  bool pads = false, strided = false, partial = false, dropped = false;
  for (int a = 2 - s.spatial; a < 2; a++) {
    const int64_t span = g.in[a] + g.pad0[a] + g.pad1[a], floor_out = (span - g.k[a]) / g.stride[a] + 1;
    const int64_t raw_ceil = (span - g.k[a] + g.stride[a] - 1) / g.stride[a] + 1;
    pads |= g.pad0[a] + g.pad1[a] > 0;
    strided |= g.stride[a] != g.k[a];
    partial |= g.out[a] > floor_out;
    dropped |= s.ceil_mode && g.out[a] < raw_ceil;
  }
  if (pads) seen["pool pads"]++;
  if (strided) seen["pool stride-unlike-kernel"]++;
  if (partial) seen["pool ceil-partial-window"]++;
  if (dropped) seen["pool ceil-window-dropped"]++;
  if (nans) seen["pool nan-inputs"]++;
  if (g.n * g.c * g.out[0] * g.out[1] > launch_threads) seen["pool grid-stride"]++;
}

int run_case(const PoolSpec &s, Rng &r, int64_t launch_threads, std::map<std::string, int> &seen) {
  int64_t shape[4] = {s.n, s.c, s.in[0], s.in[1]};
  tbn_pool_geom g;
  const tbn_status st = tbn_pool_geometry(s.spatial, shape, s.k, s.stride, s.pads, s.ceil_mode, &g);
  if (st != TBN_OK) {
    std::printf("FAIL pool %s: geometry %s\n", describe(s).c_str(), tbn_status_str(st));
    return 1;
  }
  std::vector<float> x(static_cast<size_t>(g.n * g.c * g.in[0] * g.in[1]));
  // Negative values in some cases, so that a pad read as 0 would win; a few ±inf; NaN in a
  // quarter of the cases; and, in another quarter, mostly +0 and −0 (which of them a window
  // gives depends on the order its values are taken in).
  const float shift = (r.next() & 1) ? -1.5f : 0.0f;
  const bool nans = r.next() % 4 == 0, zeros = r.next() % 4 == 0;
  for (auto &v : x) {
    const uint32_t roll = r.next() % 64;
    v = roll == 0 && nans ? NAN : roll == 1 ? -INFINITY : roll == 2 ? INFINITY
        : zeros && roll > 8 ? (roll & 1 ? -0.0f : 0.0f) : r.uniform() + shift;
  }
  const std::vector<float> want = reference(g, x), cpu_in = x;
  std::vector<float> cpu(want.size());
  if (tbn_maxpool_run(&g, cpu_in.data(), cpu.data(), nullptr) != TBN_OK) {
    std::printf("FAIL pool %s: tbn_maxpool_run refused it\n", describe(s).c_str());
    return 1;
  }
  const DevBuf<float> dx(x);
  DevBuf<float> dy(want.size());
  HARNESS_CUDA(cudaMemset(dy.data(), 0xff, dy.size() * sizeof(float)));  // NaN
  tbn::CudaPool a;
  a.g = g, a.x = dx.data(), a.y = dy.data();
  const cudaError_t e = tbn::launch_tbn_maxpool(nullptr, a);
  HARNESS_CUDA(cudaDeviceSynchronize());
  if (e != cudaSuccess) {
    std::printf("FAIL pool %s: launch %s\n", describe(s).c_str(), cudaGetErrorName(e));
    return 1;
  }
  const std::vector<float> got = dy.download();
  for (size_t i = 0; i < want.size(); i++)
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 || std::memcmp(&cpu[i], &want[i], sizeof(float)) != 0) {
      std::printf("FAIL pool %s: y[%zu] GPU %.9g, CPU %.9g, want %.9g\n", describe(s).c_str(), i, got[i], cpu[i], want[i]);
      return 1;
    }
  tally(s, g, nans, launch_threads, seen);
  return 0;
}

// Geometries the launcher must refuse (cudaErrorInvalidValue, nothing launched), and an empty batch.
int pool_malformed() {
  const int64_t shape[4] = {1, 2, 5, 5}, k[2] = {2, 2};
  tbn_pool_geom good;
  if (tbn_pool_geometry(2, shape, k, nullptr, nullptr, 0, &good) != TBN_OK) return 1;
  const DevBuf<float> x(50);
  DevBuf<float> y(50);
  int failures = 0;
  auto expect = [&](const tbn_pool_geom &g, const float *xp, float *yp, cudaError_t want, const char *what) {
    tbn::CudaPool a;
    a.g = g, a.x = xp, a.y = yp;
    const cudaError_t got = tbn::launch_tbn_maxpool(nullptr, a);
    (void)cudaGetLastError();
    if (got == want) return;
    std::printf("FAIL pool %s: %s, expected %s\n", what, cudaGetErrorName(got), cudaGetErrorName(want));
    failures++;
  };
  expect(good, x.data(), y.data(), cudaSuccess, "valid geometry");
  tbn_pool_geom g = good;
  g.pad0[1] = 2;
  expect(g, x.data(), y.data(), cudaErrorInvalidValue, "a pad as large as the kernel");
  g = good, g.out[0] = 6;
  expect(g, x.data(), y.data(), cudaErrorInvalidValue, "a window past the input");
  g = good, g.k[1] = 6;
  expect(g, x.data(), y.data(), cudaErrorInvalidValue, "a kernel longer than the padded input");
  g = good, g.stride[0] = 0;
  expect(g, x.data(), y.data(), cudaErrorInvalidValue, "stride 0");
  g = good, g.c = 0;
  expect(g, x.data(), y.data(), cudaErrorInvalidValue, "no channels");
  g = good, g.in[1] = TBN_MAX_ELEMENTS;
  expect(g, x.data(), y.data(), cudaErrorInvalidValue, "more than TBN_MAX_ELEMENTS inputs");
  expect(good, nullptr, y.data(), cudaErrorInvalidValue, "null x");
  g = good, g.n = 0;
  expect(g, nullptr, nullptr, cudaSuccess, "an empty batch");
  return failures;
}

PoolSpec random_spec(Rng &r, int cls) {
  PoolSpec s{};
  s.spatial = cls == 0 ? 1 : 2;
  s.n = r.range(1, 3), s.c = r.range(1, 6), s.ceil_mode = cls == 1 ? 1 : static_cast<int>(r.next() & 1);
  for (int i = 0; i < s.spatial; i++) {
    const bool two_by_two = cls == 2;
    s.k[i] = two_by_two ? 2 : r.range(1, 4);
    s.stride[i] = two_by_two ? 2 : r.range(1, 4);
    s.pads[i] = two_by_two ? 0 : r.range(0, static_cast<int>(s.k[i]) - 1);
    s.pads[s.spatial + i] = two_by_two ? 0 : r.range(0, static_cast<int>(s.k[i]) - 1);
    s.in[i] = std::max<int64_t>(r.range(1, 17), s.k[i] - s.pads[i] - s.pads[s.spatial + i]);
  }
  return s;
}

}  // namespace

int run_pool_tests(int cases, uint64_t seed, std::map<std::string, int> &seen) {
  Rng r(seed);
  int dev = 0, sms = 1, failures = 0;
  HARNESS_CUDA(cudaGetDevice(&dev));
  HARNESS_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const int64_t launch_threads = 256LL * 32 * sms;  // pool_kernel.cu: at most 32 blocks of 256 per SM
  // planes of 64 × 64 outputs enough for a quarter more than one launch's threads
  const int64_t big_planes = (launch_threads * 5 / 4) / (64 * 64) + 1;
  const PoolSpec fixed[] = {
      {1, 2, 3, {3, 0}, {2, 0}, {2, 0}, {1, 1, 0, 0}, 1},             // ceil_mode: the third window would start in the end pad
      {1, 1, 4, {10, 0}, {3, 0}, {1, 0}, {2, 2, 0, 0}, 0},            // stride 1, pads k-1
      {2, 2, 3, {5, 7}, {3, 2}, {2, 3}, {1, 0, 2, 1}, 1},             // uneven pads, stride unlike the kernel
      {2, 1, 5, {7, 9}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 1},             // 2×2 stride 2, last window partial
      {2, 1, 5, {8, 6}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0},             // 2×2 stride 2, the CPU's fast path
      {2, 1, big_planes, {64, 64}, {3, 3}, {1, 1}, {1, 1, 1, 1}, 0},  // more outputs than threads
  };
  for (const PoolSpec &s : fixed) failures += run_case(s, r, launch_threads, seen);
  for (int c = 0; c < cases; c++) failures += run_case(random_spec(r, c % 3), r, launch_threads, seen);
  return failures + pool_malformed();
}

}  // namespace tbn_harness
