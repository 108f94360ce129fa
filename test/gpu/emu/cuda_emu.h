// cuda_emu.h — a CPU stand-in for the parts of CUDA the ai.tbn kernels use, so that machines
// without a GPU still execute the real kernel code (custom-ops/src/cuda/*.cu compiled as C++).
// One block at a time; each CUDA thread is a fiber (ucontext) on this one OS thread, switched at
// __syncthreads and warp-wide operations; a barrier that can never complete (divergent
// __syncthreads, a warp operation missing lanes) aborts with a message. __shared__ variables are
// function statics (one block runs at a time). Warp shuffles exchange through a per-warp buffer.
// WMMA fragments use an arbitrary lane layout of our own (element e of lane l is matrix element
// 32e + l, row-major) and mma_sync keeps only the TF32 bits of its inputs, as the hardware does;
// so the emulation checks the kernels' indexing, synchronisation and numerics, not the real
// fragment layout, the memory model or timing. The device reports TBN_EMU_SMS SMs (default 4)
// and compute capability 9.0. Device memory is host memory.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __CUDA_ARCH__ 900

// ---- runtime types ----
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorLaunchFailure = 719
};
typedef struct CUstream_st *cudaStream_t;
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaDeviceAttr {
  cudaDevAttrClockRate = 13,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMemoryClockRate = 36,
  cudaDevAttrGlobalMemoryBusWidth = 37,
  cudaDevAttrL2CacheSize = 38,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76
};
struct cudaDeviceProp {
  char name[256];
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

namespace tbn_emu {

inline cudaError_t &last_error() {
  static cudaError_t e = cudaSuccess;
  return e;
}

[[noreturn]] inline void die(const char *what) {
  std::fprintf(stderr, "cuda_emu: %s\n", what);
  std::abort();
}

struct Barrier {
  int arrived = 0, gen = 0;
};

struct Fiber {
  ucontext_t ctx;
  std::vector<char> stack;
  bool done = false;
  const Barrier *wait = nullptr;  // blocked until wait->gen != wait_gen
  int wait_gen = 0;
};

struct Block {
  std::vector<Fiber> fibers;
  ucontext_t sched;
  unsigned nthreads = 0, current = 0;
  Barrier block;
  std::vector<Barrier> warps;
  std::vector<float> exchange;  // per warp: 32 floats for shuffles, then WMMA matrices A, B, C
  std::function<void()> body;
};

constexpr size_t kWarpScratch = 32 + 16 * 8 + 8 * 16 + 16 * 16;

inline Block &block() {
  static Block b;
  return b;
}

}  // namespace tbn_emu

inline uint3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

namespace tbn_emu {

inline void yield_until(const Barrier &b, int gen) {
  Block &k = block();
  Fiber &f = k.fibers[k.current];
  f.wait = &b, f.wait_gen = gen;
  swapcontext(&f.ctx, &k.sched);
}

// Everyone in `count` arrives before anyone leaves.
inline void arrive(Barrier &b, unsigned count) {
  const int gen = b.gen;
  if (static_cast<unsigned>(++b.arrived) == count) {
    b.arrived = 0, b.gen++;
    return;
  }
  yield_until(b, gen);
}

inline void warp_sync() {
  Block &k = block();
  arrive(k.warps[threadIdx.x / 32], 32);
}

inline float *warp_scratch() { return block().exchange.data() + (threadIdx.x / 32) * kWarpScratch; }

inline void fiber_entry() {
  Block &k = block();
  k.body();
  k.fibers[k.current].done = true;
}

// Runs `body` for every thread of every block.
inline void run_grid(dim3 grid, dim3 blk, std::function<void()> body) {
  Block &k = block();
  const unsigned n = blk.x * blk.y * blk.z;
  if (n == 0 || n > 1024 || blk.y != 1 || blk.z != 1 || n % 32 != 0 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535) {
    last_error() = cudaErrorInvalidConfiguration;
    return;
  }
  k.nthreads = n, k.body = std::move(body);
  k.fibers.resize(n);
  k.warps.assign(n / 32, Barrier{});
  k.exchange.assign(n / 32 * kWarpScratch, 0.0f);
  gridDim = grid, blockDim = blk;
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        blockIdx = uint3{bx, by, bz};
        k.block = Barrier{};
        for (unsigned t = 0; t < n; t++) {
          Fiber &f = k.fibers[t];
          f.stack.resize(256 * 1024);
          f.done = false, f.wait = nullptr;
          getcontext(&f.ctx);
          f.ctx.uc_stack.ss_sp = f.stack.data();
          f.ctx.uc_stack.ss_size = f.stack.size();
          f.ctx.uc_link = &k.sched;
          makecontext(&f.ctx, fiber_entry, 0);
        }
        unsigned left = n;
        while (left) {
          bool ran = false;
          for (unsigned t = 0; t < n; t++) {
            Fiber &f = k.fibers[t];
            if (f.done || (f.wait && f.wait->gen == f.wait_gen)) continue;
            f.wait = nullptr;
            k.current = t;
            threadIdx = uint3{t, 0, 0};
            swapcontext(&k.sched, &f.ctx);
            ran = true;
            if (f.done) left--;
          }
          if (!ran) die("deadlock: a barrier some threads of the block never reach");
        }
      }
}

}  // namespace tbn_emu

template <typename... P, typename... A>
void tbn_emu_launch(void (*kernel)(P...), dim3 grid, dim3 blk, cudaStream_t, A &&...args) {
  // Arguments are copied once, as a launch copies them to the device.
  std::tuple<std::decay_t<P>...> copy(std::forward<A>(args)...);
  tbn_emu::run_grid(grid, blk, [&] { std::apply(kernel, copy); });
}
#define TBN_LAUNCH(kernel, grid, block, stream, ...) tbn_emu_launch(kernel, dim3(grid), dim3(block), stream, __VA_ARGS__)

// ---- device intrinsics ----
inline void __syncthreads() { tbn_emu::arrive(tbn_emu::block().block, tbn_emu::block().nthreads); }
template <typename T>
inline T __ldg(const T *p) {
  return *p;
}
using std::max;
using std::min;
[[noreturn]] inline void __trap() { tbn_emu::die("__trap"); }

inline float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
  if (mask != 0xffffffffu) tbn_emu::die("__shfl_xor_sync: partial masks are not emulated");
  float *x = tbn_emu::warp_scratch();
  const unsigned lane = threadIdx.x % 32;
  x[lane] = v;
  tbn_emu::warp_sync();
  const float r = x[lane ^ static_cast<unsigned>(lane_mask)];
  tbn_emu::warp_sync();
  return r;
}

// ---- runtime API ----
inline int emu_sms() {
  const char *e = std::getenv("TBN_EMU_SMS");
  return e && std::atoi(e) > 0 ? std::atoi(e) : 4;
}
inline cudaError_t cudaGetDeviceCount(int *n) { return *n = 1, cudaSuccess; }
inline cudaError_t cudaGetDevice(int *d) { return *d = 0, cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int) {
  std::snprintf(p->name, sizeof p->name, "cuda_emu (%d SMs, CPU)", emu_sms());
  return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int) {
  switch (a) {
    case cudaDevAttrMultiProcessorCount: *v = emu_sms(); break;
    case cudaDevAttrComputeCapabilityMajor: *v = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *v = 0; break;
    case cudaDevAttrMemoryClockRate: *v = 1000000; break;
    case cudaDevAttrGlobalMemoryBusWidth: *v = 256; break;
    case cudaDevAttrL2CacheSize: *v = 1 << 20; break;
    default: *v = 0;
  }
  return cudaSuccess;
}
inline cudaError_t cudaGetLastError() {
  const cudaError_t e = tbn_emu::last_error();
  tbn_emu::last_error() = cudaSuccess;
  return e;
}
inline const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated CUDA error"; }
inline const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    default: return "cudaError";
  }
}
inline cudaError_t cudaMalloc(void **p, size_t n) {
  *p = std::aligned_alloc(256, (n + 255) / 256 * 256);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
template <typename T>
inline cudaError_t cudaMalloc(T **p, size_t n) {
  return cudaMalloc(reinterpret_cast<void **>(p), n);
}
inline cudaError_t cudaFree(void *p) { return std::free(p), cudaSuccess; }
inline cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind) {
  if (n) std::memcpy(d, s, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemset(void *d, int v, size_t n) {
  if (n) std::memset(d, v, n);
  return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

// ---- WMMA (m16n16k8 TF32 only) ----
namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K>
struct shape_of;
template <int M, int N, int K>
struct shape_of<matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K;
};
template <int M, int N, int K>
struct shape_of<matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N;
};
template <int M, int N, int K>
struct shape_of<accumulator, M, N, K> {
  static constexpr int rows = M, cols = N;
};

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  static constexpr int rows = shape_of<Use, M, N, K>::rows, cols = shape_of<Use, M, N, K>::cols;
  static constexpr int num_elements = rows * cols / 32;
  float x[num_elements];
  // Element e of this lane is matrix element (r, c) = divmod(32e + lane, cols).
  static int row(int e) { return (32 * e + static_cast<int>(threadIdx.x % 32)) / cols; }
  static int col(int e) { return (32 * e + static_cast<int>(threadIdx.x % 32)) % cols; }
};

inline float __float_to_tf32(float v) {  // round to nearest, ties away: keep 10 mantissa bits
  uint32_t u;
  std::memcpy(&u, &v, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
  std::memcpy(&v, &u, 4);
  return v;
}
inline float tf32_bits(float v) {  // what an MMA reads of a TF32 operand
  uint32_t u;
  std::memcpy(&u, &v, 4);
  u &= 0xffffe000u;
  std::memcpy(&v, &u, 4);
  return v;
}

template <typename Use, int M, int N, int K, typename T, typename L>
void fill_fragment(fragment<Use, M, N, K, T, L> &f, float v) {
  for (float &e : f.x) e = v;
  tbn_emu::warp_sync();
}

template <typename Use, int M, int N, int K, typename T, typename L>
void load_matrix_sync(fragment<Use, M, N, K, T, L> &f, const float *p, unsigned ldm) {
  using F = fragment<Use, M, N, K, T, L>;
  if (reinterpret_cast<uintptr_t>(p) % 32 || ldm % 4) tbn_emu::die("load_matrix_sync: pointer or ldm misaligned");
  for (int e = 0; e < F::num_elements; e++) {
    const int r = F::row(e), c = F::col(e);
    f.x[e] = std::is_same<L, col_major>::value ? p[c * ldm + r] : p[r * ldm + c];
  }
  tbn_emu::warp_sync();
}

template <int M, int N, int K, typename T>
void store_matrix_sync(float *p, const fragment<accumulator, M, N, K, T> &f, unsigned ldm, layout_t layout) {
  using F = fragment<accumulator, M, N, K, T>;
  if (reinterpret_cast<uintptr_t>(p) % 32 || ldm % 4) tbn_emu::die("store_matrix_sync: pointer or ldm misaligned");
  for (int e = 0; e < F::num_elements; e++) {
    const int r = F::row(e), c = F::col(e);
    (layout == mem_col_major ? p[c * ldm + r] : p[r * ldm + c]) = f.x[e];
  }
  tbn_emu::warp_sync();
}

// d = a · b + c, the warp cooperating through its scratch matrices.
template <int M, int N, int K, typename LA, typename LB, typename T>
void mma_sync(fragment<accumulator, M, N, K, T> &d, const fragment<matrix_a, M, N, K, precision::tf32, LA> &a,
              const fragment<matrix_b, M, N, K, precision::tf32, LB> &b, const fragment<accumulator, M, N, K, T> &c) {
  using FA = fragment<matrix_a, M, N, K, precision::tf32, LA>;
  using FB = fragment<matrix_b, M, N, K, precision::tf32, LB>;
  using FC = fragment<accumulator, M, N, K, T>;
  float *A = tbn_emu::warp_scratch() + 32, *B = A + M * K, *C = B + K * N;
  for (int e = 0; e < FA::num_elements; e++) A[FA::row(e) * K + FA::col(e)] = tf32_bits(a.x[e]);
  for (int e = 0; e < FB::num_elements; e++) B[FB::row(e) * N + FB::col(e)] = tf32_bits(b.x[e]);
  for (int e = 0; e < FC::num_elements; e++) C[FC::row(e) * N + FC::col(e)] = c.x[e];
  tbn_emu::warp_sync();
  float out[FC::num_elements];
  for (int e = 0; e < FC::num_elements; e++) {
    const int r = FC::row(e), col = FC::col(e);
    float s = C[r * N + col];
    for (int k = 0; k < K; k++) s += A[r * K + k] * B[k * N + col];
    out[e] = s;
  }
  tbn_emu::warp_sync();
  for (int e = 0; e < FC::num_elements; e++) d.x[e] = out[e];
}

}  // namespace wmma
}  // namespace nvcuda
