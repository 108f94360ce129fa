// pool_kernel.cu — the MaxPool of TbnConvMaxPool on the GPU, on the conv's NCHW float output
// (1-D as H = 1). A pool reads each value about once, so it is memory-bound: one thread per
// output value, grid-stride, consecutive threads on consecutive outputs of a row (writes
// coalesced, reads a stride apart). Windows are clipped to the input and taken in row-major
// order from the lowest float with `v > m`, as tbn_maxpool_run does: pads are never the max, a
// NaN never replaces it and of +0 and −0 the first stays, so CPU and GPU give the same bits.
#include <cfloat>

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
  // the CPU kernels' checks: every window starts inside the input, so every index stays in it
  if (tbn_pool_check(&g) != TBN_OK) return cudaErrorInvalidValue;
  const int64_t in_len = g.n * g.c * g.in[0] * g.in[1], out_len = g.n * g.c * g.out[0] * g.out[1];
  if (out_len > 0 && (!a.x || !a.y)) return cudaErrorInvalidValue;
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
