// convert_kernel.cuh — the float16/bfloat16 boundary of the ai.tbn CUDA ops: element type
// conversions on the device (__half/__nv_bfloat16 loads and stores, round to nearest even),
// so that the float32 kernels run unchanged on float16/bfloat16 models: activations and scales
// are converted into stream-ordered scratch sized by the activations, the kernels accumulate in
// float32, and the output is rounded back. Launchers: (stream, device pointers, n) → status.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tbn {

enum class CudaFloat : int { F32 = 0, F16 = 1, BF16 = 2 };

// n values of type `type` (F16 or BF16) → float (dst), and float → `type`.
cudaError_t launch_tbn_to_float(cudaStream_t stream, const void *src, CudaFloat type, float *dst, int64_t n);
cudaError_t launch_tbn_from_float(cudaStream_t stream, const float *src, CudaFloat type, void *dst, int64_t n);

}  // namespace tbn
