// tile_fetch.cuh — reading the tile on the device. The per-element math (bit, sign, region,
// scale, stream position, modes) is native/kernels/tbn_tile_math.h, shared with the CPU kernels;
// this adds what only the GPU does: whole-word loads of 32 tile bits at any bit position (one
// aligned 32-bit load per word when the buffer allows it, bytes otherwise), warp sums, and the
// description of a weight used as a matrix W[out][in] that every kernel receives by value.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "tbn_act_math.h"
#include "tbn_launch.cuh"
#include "tbn_tile_math.h"

// Kernel launches go through this macro (`kernel` is a plain name: alias template kernels first)
// so that test/gpu/emu can run the same kernel code on the CPU, where it stands for its launcher.
#ifndef TBN_LAUNCH
#define TBN_LAUNCH(kernel, grid, block, stream, ...) kernel<<<(grid), (block), 0, (stream)>>>(__VA_ARGS__)
#endif

namespace tbn {
namespace cuda {

// The tile as kernels see it.
struct DevTile {
  const uint8_t *bits;
  int64_t nbytes;
  const float *scales;
  int64_t scales_len;
  int64_t p, q;
  int aligned;  // bits is 4-byte aligned, so whole 32-bit words can be loaded
};

// The fused epilogue on one stored value: output channel ch, output index idx (for the residual).
struct DevEpilogue {
  CudaEpilogue e;
  __device__ __forceinline__ float apply(float v, int64_t ch, int64_t idx) const {
    if (e.scale) v *= e.scale[e.scale_len == 1 ? 0 : ch];
    if (e.shift) v += e.shift[e.shift_len == 1 ? 0 : ch];
    if (e.residual) v += e.residual[e.residual_len == 1 ? 0 : idx];
    return tbn_act_value(e.act, v, e.alpha, e.beta);
  }
};

// W used as [out][in]: the strategy and the product it computes (ro rows of ri inputs).
struct DevMatrix {
  DevTile t;
  int64_t out, in, ro, ri;
  int mode;       // TBN_TILE_OUT_REUSE | TBN_TILE_IN_COMBINE | TBN_TILE_GENERAL
  int out_major;  // stream position of W[o][i] is o·in + i (else i·out + o)
};

inline DevTile dev_tile(const CudaTile &t) {
  return DevTile{t.bits, t.bits_len, t.scales, t.scales_len, t.p, t.q,
                 (reinterpret_cast<uintptr_t>(t.bits) & 3u) == 0 ? 1 : 0};
}

inline DevMatrix dev_matrix(const CudaTile &t, int64_t out, int64_t in, int out_major) {
  DevMatrix m;
  m.t = dev_tile(t);
  m.out = out, m.in = in, m.out_major = out_major;
  m.mode = tbn_plan_mode(out_major, out, in, t.p, &m.ro, &m.ri);
  return m;
}

// Tile word w (bits 32w … 32w+31); past the end reads as 0, like tbn_tile_word.
__device__ __forceinline__ uint32_t tile_word(const DevTile &t, int64_t w) {
  if (t.aligned && 4 * w + 4 <= t.nbytes) return __ldg(reinterpret_cast<const uint32_t *>(t.bits) + w);
  return tbn_tile_word(t.bits, t.nbytes, w);
}

// Tile bits pos … pos+31 (bit t of the result is tile bit pos + t), like tbn_tile_window32.
__device__ __forceinline__ uint32_t tile_window(const DevTile &t, int64_t pos) {
  const int64_t w = pos >> 5;
  const uint32_t lo = tile_word(t, w);
  return (pos & 31) ? tbn_window_of(lo, tile_word(t, w + 1), pos) : lo;
}

__device__ __forceinline__ float scale_of(const DevTile &t, int64_t r) {
  return tbn_region_scale(t.scales, t.scales_len, r);
}

// W[o][i] in the general strategy (sign × its region's scale).
__device__ __forceinline__ float general_weight(const DevMatrix &w, int64_t o, int64_t i) {
  return tbn_stream_value(w.t.bits, w.t.scales, w.t.scales_len, w.t.q,
                          tbn_matrix_stream_pos(w.out_major, w.out, w.in, o, i));
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(0xffffffffu, v, d);
  return v;
}

// Walks the stream of one weight row or column by a fixed step: region r, offset tq in the tile.
struct StreamCursor {
  int64_t r, tq;
  __device__ __forceinline__ void start(int64_t k, int64_t q) {
    r = k / q;
    tq = k - r * q;
  }
  __device__ __forceinline__ void advance(int64_t step, int64_t q) {
    tq += step;
    if (tq >= q) {
      const int64_t d = tq / q;
      r += d;
      tq -= d * q;
    }
  }
};

__host__ __device__ inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Sizes the launchers index with int.
constexpr int64_t kIntMax = 0x7fffffff;

// Checks a tile against its weight size (N = p·q values); the launchers' first line of defence.
inline bool tile_ok(const CudaTile &t, int64_t numel) {
  if (!t.bits || !t.scales || t.p < 1 || t.q < 1 || t.p * t.q != numel) return false;
  if (t.bits_len != (t.q + 7) / 8) return false;
  return t.scales_len == 1 || t.scales_len == t.p;
}

// What the launchers need to know of the current device.
struct DeviceInfo {
  int sms = 1, major = 0;
};

inline cudaError_t device_info(DeviceInfo *d) {
  int dev = 0;
  cudaError_t e = cudaGetDevice(&dev);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&d->sms, cudaDevAttrMultiProcessorCount, dev);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&d->major, cudaDevAttrComputeCapabilityMajor, dev);
  return e;
}

}  // namespace cuda
}  // namespace tbn
