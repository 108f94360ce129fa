// cuda_fp16.h — the CPU emulation's stand-in (see ../cuda_emu.h): __half as IEEE binary16 bits
// and the two conversions the ai.tbn kernels use (round to nearest even, as the hardware's _rn).
#pragma once
#include <cstdint>
#include <cstring>

struct __half {
  uint16_t bits;
};

inline float __half2float(__half h) {
  const uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000) << 16;
  const uint32_t exp = (h.bits >> 10) & 0x1f, mant = h.bits & 0x3ffu;
  float f;
  if (exp == 0) {
    f = static_cast<float>(mant) * 5.9604644775390625e-8f;  // mant · 2^-24, exact
    return sign ? -f : f;
  }
  const uint32_t u = sign | (exp == 0x1f ? 0x7f800000u | (mant << 13) : ((exp + 112) << 23) | (mant << 13));
  std::memcpy(&f, &u, 4);
  return f;
}

inline __half __float2half_rn(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000);
  const int exp = static_cast<int>((b >> 23) & 0xff);
  if (exp == 0xff) return {static_cast<uint16_t>(sign | 0x7c00 | ((b & 0x7fffff) ? 0x200 : 0))};
  // Round |f| to a multiple of the half ulp at its magnitude with the FPU (nearest even).
  const float a = f < 0 ? -f : f;
  if (a >= 65520.0f) return {static_cast<uint16_t>(sign | 0x7c00)};
  if (a < 6.103515625e-5f) {  // subnormal range: multiples of 2^-24
    const float m = __builtin_nearbyintf(a * 16777216.0f);
    return {static_cast<uint16_t>(sign | static_cast<uint16_t>(m))};
  }
  const int e = exp - 127;  // a = 1.x · 2^e, e in [-14, 15]
  const float m = __builtin_nearbyintf(a * __builtin_ldexpf(1.0f, 10 - e));  // in [1024, 2048]
  const uint32_t q = static_cast<uint32_t>(m);
  const uint32_t h = q == 2048 ? static_cast<uint32_t>(e + 16) << 10 : (static_cast<uint32_t>(e + 15) << 10) | (q - 1024);
  return {static_cast<uint16_t>(sign | h)};
}
