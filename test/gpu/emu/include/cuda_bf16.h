// cuda_bf16.h — the CPU emulation's stand-in (see ../cuda_emu.h): __nv_bfloat16 as the top 16
// bits of a float and its two conversions (round to nearest even, NaN kept a NaN).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

struct __nv_bfloat16 {
  uint16_t bits;
};

inline float __bfloat162float(__nv_bfloat16 h) {
  const uint32_t u = static_cast<uint32_t>(h.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  if (std::isnan(f)) return {static_cast<uint16_t>(std::signbit(f) ? 0xffc1 : 0x7fc1)};
  if (std::isinf(f)) return {static_cast<uint16_t>(std::signbit(f) ? 0xff80 : 0x7f80)};
  // Keep the top 16 bits of the float nearest to f among those with zero low bits: nearest even.
  const float step = std::fabs(f) >= 1.1754943508222875e-38f ? std::ldexp(1.0f, std::ilogb(f) - 7) : std::ldexp(1.0f, -133);
  const float r = std::nearbyint(f / step) * step;
  uint32_t u;
  std::memcpy(&u, &r, 4);
  return {static_cast<uint16_t>(u >> 16)};
}
