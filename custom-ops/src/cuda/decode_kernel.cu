// decode_kernel.cu — TbnDecode on the GPU: W[idx] = scale of region k / q, signed by tile bit
// k mod q, where k = tbn_index_to_stream(idx) (the generic op for consumers the fused ops do not
// cover; it writes the full fp32 weight by design). One thread per weight, grid-stride, writes
// coalesced; a tile_axis-0 stream is W's own order, so its bits are read in order too.
#include "tile_fetch.cuh"

namespace tbn {
namespace cuda {
namespace {

__global__ void __launch_bounds__(256) decode_kernel(const DevTile t, int64_t axis, int64_t m, int64_t kc, int64_t n,
                                                      float *w) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < n;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x)
    w[idx] = tbn_stream_value(t.bits, t.scales, t.scales_len, t.q, tbn_index_to_stream(idx, axis, m, kc));
}

}  // namespace
}  // namespace cuda

cudaError_t launch_tbn_decode(cudaStream_t stream, const CudaDecode &a) {
  const int64_t n = a.m * a.kc;
  if (a.m < 1 || a.kc < 1 || n > TBN_MAX_ELEMENTS || (a.tile_axis != 0 && a.tile_axis != 1) || !a.w ||
      !cuda::tile_ok(a.tile, n))
    return cudaErrorInvalidValue;
  cuda::DeviceInfo dev;
  const cudaError_t e = cuda::device_info(&dev);
  if (e != cudaSuccess) return e;
  const int64_t want = cuda::ceil_div(n, 256), cap = 32LL * dev.sms;
  TBN_LAUNCH(cuda::decode_kernel, static_cast<unsigned>(want < cap ? want : cap), 256, stream, cuda::dev_tile(a.tile),
             a.tile_axis, a.m, a.kc, n, a.w);
  return cudaGetLastError();
}

}  // namespace tbn
