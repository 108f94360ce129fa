// float_types.h — the float element types of the ai.tbn ops (format.ts: every input but the
// bits, and the output, share one type T ∈ {float, float16, bfloat16}) and the conversions the
// kernels use at their type-dispatch boundary: float16/bfloat16 activations are converted to
// float into scratch sized by the activations (never the weight), the float32 kernels run, and
// the result is rounded back to T (round to nearest even), as onnxruntime's CPU provider runs
// float16 Conv/Gemm/MatMul (float32 arithmetic between conversions).
#pragma once

#include <onnxruntime_c_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace tbn {

// float, float16 or bfloat16.
bool is_op_float_type(ONNXTensorElementDataType t);
const char *float_type_name(ONNXTensorElementDataType t);
size_t float_type_bytes(ONNXTensorElementDataType t);

float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bfloat16_to_float(uint16_t h);
uint16_t float_to_bfloat16(float f);

// n values of type t (float, float16, bfloat16) → float, and back.
void to_float(const void *src, ONNXTensorElementDataType t, float *dst, int64_t n);
void from_float(const float *src, ONNXTensorElementDataType t, void *dst, int64_t n);

// Bytes of float scratch for n values, rounded up to keep the next buffer 64-byte aligned.
inline size_t float_scratch_bytes(int64_t n) { return (static_cast<size_t>(n) * sizeof(float) + 63) & ~size_t(63); }

}  // namespace tbn
