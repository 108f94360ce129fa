// convert_kernel.cu — see convert_kernel.cuh. Grid-stride elementwise kernels; coalesced.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "convert_kernel.cuh"
#include "tile_fetch.cuh"

namespace tbn {
namespace cuda {
namespace {

template <typename T>
__device__ float load_float(const T *p, int64_t i);
template <>
__device__ float load_float<__half>(const __half *p, int64_t i) { return __half2float(p[i]); }
template <>
__device__ float load_float<__nv_bfloat16>(const __nv_bfloat16 *p, int64_t i) { return __bfloat162float(p[i]); }

template <typename T>
__device__ void store_float(T *p, int64_t i, float v);
template <>
__device__ void store_float<__half>(__half *p, int64_t i, float v) { p[i] = __float2half_rn(v); }
template <>
__device__ void store_float<__nv_bfloat16>(__nv_bfloat16 *p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

template <typename T>
__global__ void __launch_bounds__(256) to_float_kernel(const T *src, float *dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = load_float(src, i);
}

template <typename T>
__global__ void __launch_bounds__(256) from_float_kernel(const float *src, T *dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    store_float(dst, i, src[i]);
}

unsigned blocks_for(int64_t n) {
  const int64_t want = (n + 255) / 256;
  return static_cast<unsigned>(want < 4096 ? want : 4096);
}

}  // namespace
}  // namespace cuda

cudaError_t launch_tbn_to_float(cudaStream_t stream, const void *src, CudaFloat type, float *dst, int64_t n) {
  if (n < 0 || n > TBN_MAX_ELEMENTS || (n > 0 && (!src || !dst)) || type == CudaFloat::F32) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  const auto half_kernel = cuda::to_float_kernel<__half>;
  const auto bf16_kernel = cuda::to_float_kernel<__nv_bfloat16>;
  if (type == CudaFloat::F16)
    TBN_LAUNCH(half_kernel, cuda::blocks_for(n), 256, stream, static_cast<const __half *>(src), dst, n);
  else
    TBN_LAUNCH(bf16_kernel, cuda::blocks_for(n), 256, stream, static_cast<const __nv_bfloat16 *>(src), dst, n);
  return cudaGetLastError();
}

cudaError_t launch_tbn_from_float(cudaStream_t stream, const float *src, CudaFloat type, void *dst, int64_t n) {
  if (n < 0 || n > TBN_MAX_ELEMENTS || (n > 0 && (!src || !dst)) || type == CudaFloat::F32) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  const auto half_kernel = cuda::from_float_kernel<__half>;
  const auto bf16_kernel = cuda::from_float_kernel<__nv_bfloat16>;
  if (type == CudaFloat::F16)
    TBN_LAUNCH(half_kernel, cuda::blocks_for(n), 256, stream, src, static_cast<__half *>(dst), n);
  else
    TBN_LAUNCH(bf16_kernel, cuda::blocks_for(n), 256, stream, src, static_cast<__nv_bfloat16 *>(dst), n);
  return cudaGetLastError();
}

}  // namespace tbn
