// float_types.cc — see float_types.h. Scalar bit-exact conversions (IEEE binary16 with
// subnormals, bfloat16 as the top half of a float); they run once per activation value, next
// to kernels that do in/p or out/p multiply-accumulates per value.
#include "float_types.h"

#include <cstring>

namespace tbn {

bool is_op_float_type(ONNXTensorElementDataType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ||
         t == ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
}

const char *float_type_name(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return "bfloat16";
    default: return "not a float type";
  }
}

size_t float_type_bytes(ONNXTensorElementDataType t) { return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? 4 : 2; }

namespace {
uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0x1f) return float_of(sign | 0x7f800000 | (mant << 13));  // inf, NaN
  if (exp == 0) {
    if (mant == 0) return float_of(sign);
    // subnormal: normalise
    int e = -1;
    do {
      mant <<= 1;
      e++;
    } while (!(mant & 0x400));
    return float_of(sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13);
  }
  return float_of(sign | (exp + 127 - 15) << 23 | mant << 13);
}

uint16_t float_to_half(float f) {
  const uint32_t b = bits_of(f);
  const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000);
  const uint32_t exp = (b >> 23) & 0xff;
  uint32_t mant = b & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const int shift = 14 - e;
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = static_cast<uint32_t>(e) << 10 | mant >> 13;
  const uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;  // may carry into the exponent: correct
  return static_cast<uint16_t>(sign | half);
}

float bfloat16_to_float(uint16_t h) { return float_of(static_cast<uint32_t>(h) << 16); }

uint16_t float_to_bfloat16(float f) {
  const uint32_t b = bits_of(f);
  if ((b & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((b >> 16) | 0x40);  // quiet NaN
  return static_cast<uint16_t>((b + 0x7fff + ((b >> 16) & 1)) >> 16);
}

void to_float(const void *src, ONNXTensorElementDataType t, float *dst, int64_t n) {
  if (t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const uint16_t *s = static_cast<const uint16_t *>(src);
  if (t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16)
    for (int64_t i = 0; i < n; i++) dst[i] = half_to_float(s[i]);
  else
    for (int64_t i = 0; i < n; i++) dst[i] = bfloat16_to_float(s[i]);
}

void from_float(const float *src, ONNXTensorElementDataType t, void *dst, int64_t n) {
  if (t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  uint16_t *d = static_cast<uint16_t *>(dst);
  if (t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16)
    for (int64_t i = 0; i < n; i++) d[i] = float_to_half(src[i]);
  else
    for (int64_t i = 0; i < n; i++) d[i] = float_to_bfloat16(src[i]);
}

}  // namespace tbn
