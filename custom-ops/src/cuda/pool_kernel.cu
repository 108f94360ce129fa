// pool_kernel.cu — the MaxPool of TbnConvMaxPool on the GPU, on the conv's NCHW float output
// (1-D as H = 1). A pool reads each value about once, so it is memory-bound: one thread per
// output value, grid-stride, consecutive threads on consecutive outputs of a row (writes
// coalesced, reads a stride apart). Windows are clipped to the input and start from the lowest
// float with `v > m`, as tbn_maxpool_run's general path and onnxruntime's MaxPool loop do: pads
// are never the max and a NaN never replaces it, so CPU and GPU give the same bits.
#include <cfloat>
#include <initializer_list>

#include "tile_fetch.cuh"

namespace tbn {
namespace cuda {
namespace {

// Index arithmetic in I: int when every input and output index fits one (64-bit division is
// several times slower on the GPU), int64_t otherwise.
template <typename I>
struct PoolDims {
  I planes, ih, iw, oh, ow, kh, kw, sh, sw, ph, pw;
};

template <typename I>
__global__ void __launch_bounds__(256) maxpool_kernel(const PoolDims<I> d, const float *__restrict__ x,
                                                      float *__restrict__ y) {
  const I total = d.planes * d.oh * d.ow;
  for (I idx = static_cast<I>(blockIdx.x) * static_cast<I>(blockDim.x) + static_cast<I>(threadIdx.x); idx < total;
       idx += static_cast<I>(gridDim.x) * static_cast<I>(blockDim.x)) {
    const I row = idx / d.ow, ow = idx - row * d.ow, plane = row / d.oh, oh = row - plane * d.oh;
    const I h0 = oh * d.sh - d.ph, w0 = ow * d.sw - d.pw;
    const I hs = max(h0, I(0)), he = min(h0 + d.kh, d.ih), ws = max(w0, I(0)), we = min(w0 + d.kw, d.iw);
    const float *xp = x + plane * d.ih * d.iw;
    float m = -FLT_MAX;
    for (I h = hs; h < he; h++)
      for (I w = ws; w < we; w++) {
        const float v = __ldg(xp + h * d.iw + w);
        m = v > m ? v : m;
      }
    y[idx] = m;
  }
}

// One axis of a filled geometry: every window starts before the input ends (the first inside
// its leading pad, since pads are smaller than the kernel), so none is made of pads only and
// every index the kernel forms stays inside the input.
bool axis_ok(const tbn_pool_geom &g, int a) {
  if (g.in[a] < 1 || g.k[a] < 1 || g.stride[a] < 1 || g.out[a] < 1) return false;
  if (g.in[a] > TBN_MAX_ELEMENTS || g.k[a] > TBN_MAX_ELEMENTS || g.stride[a] > TBN_MAX_ELEMENTS) return false;
  if (g.pad0[a] < 0 || g.pad1[a] < 0 || g.pad0[a] >= g.k[a] || g.pad1[a] >= g.k[a]) return false;
  if (g.k[a] > g.in[a] + g.pad0[a] + g.pad1[a]) return false;
  return g.out[a] - 1 <= (g.in[a] + g.pad0[a] - 1) / g.stride[a];  // (out-1)·stride < in + pad0, without overflow
}

// n·c·d0·d1 when it is at most TBN_MAX_ELEMENTS, else -1 (the factors are each at most that).
int64_t elements(int64_t n, int64_t c, int64_t d0, int64_t d1) {
  int64_t t = n;
  for (int64_t f : {c, d0, d1}) {
    if (f != 0 && t > TBN_MAX_ELEMENTS / f) return -1;
    t *= f;
  }
  return t;
}

template <typename I>
PoolDims<I> pool_dims(const tbn_pool_geom &g) {
  return PoolDims<I>{static_cast<I>(g.n * g.c), static_cast<I>(g.in[0]),     static_cast<I>(g.in[1]),
                     static_cast<I>(g.out[0]),  static_cast<I>(g.out[1]),    static_cast<I>(g.k[0]),
                     static_cast<I>(g.k[1]),    static_cast<I>(g.stride[0]), static_cast<I>(g.stride[1]),
                     static_cast<I>(g.pad0[0]), static_cast<I>(g.pad0[1])};
}

// Whether int holds every index the kernel forms: an output index plus a grid-stride step, an
// input index, and a window's bounds (oh·sh − ph + kh < in + pad0 + kh < in + 2·kh).
bool int_indices(const tbn_pool_geom &g, int64_t in_len, int64_t out_len, unsigned blocks) {
  for (int a = 0; a < 2; a++)
    if (g.in[a] + 2 * g.k[a] + g.stride[a] > kIntMax) return false;
  return in_len <= kIntMax && out_len + 256LL * blocks <= kIntMax;
}

}  // namespace
}  // namespace cuda

cudaError_t launch_tbn_maxpool(cudaStream_t stream, const CudaPool &a) {
  const tbn_pool_geom &g = a.g;
  if (g.n < 0 || g.c < 1 || g.n > TBN_MAX_ELEMENTS || g.c > TBN_MAX_ELEMENTS || !cuda::axis_ok(g, 0) ||
      !cuda::axis_ok(g, 1))
    return cudaErrorInvalidValue;
  const int64_t in_len = cuda::elements(g.n, g.c, g.in[0], g.in[1]), out_len = cuda::elements(g.n, g.c, g.out[0], g.out[1]);
  if (in_len < 0 || out_len < 0 || (out_len > 0 && (!a.x || !a.y))) return cudaErrorInvalidValue;
  if (out_len == 0) return cudaSuccess;
  cuda::DeviceInfo dev;
  const cudaError_t e = cuda::device_info(&dev);
  if (e != cudaSuccess) return e;
  // Enough blocks to fill the device several times over; the grid-stride loop covers the rest.
  const int64_t want = cuda::ceil_div(out_len, 256), cap = 32LL * dev.sms;
  const unsigned blocks = static_cast<unsigned>(want < cap ? want : cap);
  if (cuda::int_indices(g, in_len, out_len, blocks)) {
    const auto kernel = cuda::maxpool_kernel<int>;
    TBN_LAUNCH(kernel, blocks, 256, stream, cuda::pool_dims<int>(g), a.x, a.y);
  } else {
    const auto kernel = cuda::maxpool_kernel<int64_t>;
    TBN_LAUNCH(kernel, blocks, 256, stream, cuda::pool_dims<int64_t>(g), a.x, a.y);
  }
  return cudaGetLastError();
}

}  // namespace tbn
