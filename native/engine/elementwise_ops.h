// elementwise_ops.h — the scalar formula of every element-wise op, with the JS backend's exact
// semantics (src/engine/backends/js/elementwise.ts): JS truthiness (NaN and ±0 are false),
// Math.max/min/pow edge cases, round half to even, integer division that truncates. Each op is
// a template over the compute type: float on the fast float32 path, double elsewhere (what the
// JS backend computes in). The X-macro lists (identifier, JS name) keep the order the TS side
// maps names to.
#pragma once

#include <cmath>
#include <cstdint>

namespace tbn {

#define TBN_UNARY_OPS(X)                                                                        \
  X(identity, "identity") X(neg, "neg") X(abs, "abs") X(exp, "exp") X(log, "log")               \
  X(sqrt, "sqrt") X(rsqrt, "rsqrt") X(reciprocal, "reciprocal") X(square, "square")             \
  X(relu, "relu") X(sigmoid, "sigmoid") X(tanh, "tanh") X(erf, "erf") X(sin, "sin")             \
  X(cos, "cos") X(tan, "tan") X(floor, "floor") X(ceil, "ceil") X(round, "round")               \
  X(asin, "asin") X(acos, "acos") X(atan, "atan") X(sinh, "sinh") X(cosh, "cosh")               \
  X(asinh, "asinh") X(acosh, "acosh") X(atanh, "atanh") X(sign, "sign") X(not_, "not")          \
  X(isnan, "isnan") X(isinf, "isinf") X(softplus, "softplus") X(softsign, "softsign")           \
  X(affine, "affine") X(powScalar, "powScalar") X(clip, "clip") X(leakyRelu, "leakyRelu")       \
  X(elu, "elu") X(selu, "selu") X(hardSigmoid, "hardSigmoid") X(geluTanh, "geluTanh")

#define TBN_BINARY_OPS(X)                                                                       \
  X(add, "add") X(sub, "sub") X(mul, "mul") X(div, "div") X(pow, "pow") X(max, "max")           \
  X(min, "min") X(mod, "mod") X(fmod, "fmod") X(atan2, "atan2") X(equal, "equal")               \
  X(less, "less") X(lessEqual, "lessEqual") X(greater, "greater")                               \
  X(greaterEqual, "greaterEqual") X(and_, "and") X(or_, "or") X(xor_, "xor")                    \
  X(bitAnd, "bitAnd") X(bitOr, "bitOr") X(bitXor, "bitXor") X(shiftRight, "shiftRight")         \
  X(reluGrad, "reluGrad") X(leakyReluGrad, "leakyReluGrad") X(eluGrad, "eluGrad")               \
  X(seluGrad, "seluGrad") X(sigmoidGrad, "sigmoidGrad") X(tanhGrad, "tanhGrad")                 \
  X(erfGrad, "erfGrad") X(softplusGrad, "softplusGrad") X(softsignGrad, "softsignGrad")         \
  X(clipGrad, "clipGrad") X(hardSigmoidGrad, "hardSigmoidGrad")                                 \
  X(geluTanhGrad, "geluTanhGrad") X(absGrad, "absGrad")

#define TBN_ENUM_ENTRY(id, name) id,
enum class UnaryOp : int { TBN_UNARY_OPS(TBN_ENUM_ENTRY) count };
enum class BinaryOp : int { TBN_BINARY_OPS(TBN_ENUM_ENTRY) count };
#undef TBN_ENUM_ENTRY

extern const char *const kUnaryNames[];
extern const char *const kBinaryNames[];

namespace ew {

template <class T> inline bool truthy(T x) { return !(x == 0 || x != x); }

/** Math.max / Math.min: NaN wins; +0 is above −0. */
template <class T> inline T js_max(T x, T y) {
  if (x != x || y != y) return NAN;
  if (x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}
template <class T> inline T js_min(T x, T y) {
  if (x != x || y != y) return NAN;
  if (x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}

/** Math.pow: unlike C's pow, NaN exponents and (±1)^±∞ give NaN. */
template <class T> inline T js_pow(T x, T y) {
  if (y != y) return NAN;
  if (std::isinf(y) && std::fabs(x) == T(1)) return NAN;
  return std::pow(x, y);
}

template <class T> inline T sigmoid(T x) {
  return x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}

// The GELU pair runs in double on every path: x³ overflows float for |x| > 7·10^12, where the
// double formula is still exact.
template <class T> inline T gelu_tanh(T xt) {
  const double x = xt;
  return static_cast<T>(0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
}

template <class T> inline T gelu_tanh_grad(T xt, T dyt) {
  const double x = xt, dy = dyt, c = 0.7978845608028654;
  const double t = std::tanh(c * (x + 0.044715 * x * x * x));
  return static_cast<T>(dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)));
}

/** x >>> y for y < 32 (the JS backend's shiftRight on integers in [0, 2^31)). */
inline double shift_right(double x, double y) {
  if (y >= 32) return 0;
  const uint32_t ux = static_cast<uint32_t>(static_cast<int64_t>(std::trunc(std::fmod(x, 4294967296.0))));
  const uint32_t s = static_cast<uint32_t>(static_cast<int64_t>(std::trunc(std::fmod(y, 4294967296.0)))) & 31u;
  return static_cast<double>(ux >> s);
}

/** ToInt32 of a double (what JS bit operators apply). */
inline int32_t to_int32(double x) {
  if (!std::isfinite(x)) return 0;
  const double m = std::fmod(std::trunc(x), 4294967296.0);
  const uint32_t u = static_cast<uint32_t>(static_cast<int64_t>(m < 0 ? m + 4294967296.0 : m));
  return static_cast<int32_t>(u);
}

template <UnaryOp OP, class T> inline T unary(T x, T p0, T p1) {
  using std::abs;
  if constexpr (OP == UnaryOp::identity) return x;
  else if constexpr (OP == UnaryOp::neg) return -x;
  else if constexpr (OP == UnaryOp::abs) return std::fabs(x);
  else if constexpr (OP == UnaryOp::exp) return std::exp(x);
  else if constexpr (OP == UnaryOp::log) return std::log(x);
  else if constexpr (OP == UnaryOp::sqrt) return std::sqrt(x);
  else if constexpr (OP == UnaryOp::rsqrt) return T(1) / std::sqrt(x);
  else if constexpr (OP == UnaryOp::reciprocal) return T(1) / x;
  else if constexpr (OP == UnaryOp::square) return x * x;
  else if constexpr (OP == UnaryOp::relu) return x < 0 ? T(0) : x;
  else if constexpr (OP == UnaryOp::sigmoid) return sigmoid(x);
  else if constexpr (OP == UnaryOp::tanh) return std::tanh(x);
  else if constexpr (OP == UnaryOp::erf) return std::erf(x);
  else if constexpr (OP == UnaryOp::sin) return std::sin(x);
  else if constexpr (OP == UnaryOp::cos) return std::cos(x);
  else if constexpr (OP == UnaryOp::tan) return std::tan(x);
  else if constexpr (OP == UnaryOp::floor) return std::floor(x);
  else if constexpr (OP == UnaryOp::ceil) return std::ceil(x);
  else if constexpr (OP == UnaryOp::round) return std::nearbyint(x);
  else if constexpr (OP == UnaryOp::asin) return std::asin(x);
  else if constexpr (OP == UnaryOp::acos) return std::acos(x);
  else if constexpr (OP == UnaryOp::atan) return std::atan(x);
  else if constexpr (OP == UnaryOp::sinh) return std::sinh(x);
  else if constexpr (OP == UnaryOp::cosh) return std::cosh(x);
  else if constexpr (OP == UnaryOp::asinh) return std::asinh(x);
  else if constexpr (OP == UnaryOp::acosh) return std::acosh(x);
  else if constexpr (OP == UnaryOp::atanh) return std::atanh(x);
  else if constexpr (OP == UnaryOp::sign) return x > 0 ? T(1) : x < 0 ? T(-1) : x;
  else if constexpr (OP == UnaryOp::not_) return truthy(x) ? T(0) : T(1);
  else if constexpr (OP == UnaryOp::isnan) return x != x ? T(1) : T(0);
  else if constexpr (OP == UnaryOp::isinf)
    return (std::isinf(x) && x > 0 && truthy(p0)) || (std::isinf(x) && x < 0 && truthy(p1)) ? T(1) : T(0);
  else if constexpr (OP == UnaryOp::softplus) return js_max(x, T(0)) + std::log1p(std::exp(-std::fabs(x)));
  else if constexpr (OP == UnaryOp::softsign) return x / (T(1) + std::fabs(x));
  else if constexpr (OP == UnaryOp::affine) return p0 * x + p1;
  else if constexpr (OP == UnaryOp::powScalar) return p0 == T(2) ? x * x : js_pow(x, p0);
  else if constexpr (OP == UnaryOp::clip) return x < p0 ? p0 : x > p1 ? p1 : x;
  else if constexpr (OP == UnaryOp::leakyRelu) return x < 0 ? p0 * x : x;
  else if constexpr (OP == UnaryOp::elu) return x < 0 ? p0 * (std::exp(x) - T(1)) : x;
  else if constexpr (OP == UnaryOp::selu) return x <= 0 ? p1 * p0 * (std::exp(x) - T(1)) : p1 * x;
  else if constexpr (OP == UnaryOp::hardSigmoid) return js_max(T(0), js_min(T(1), p0 * x + p1));
  else if constexpr (OP == UnaryOp::geluTanh) return gelu_tanh(x);
  else return x;
}

template <BinaryOp OP, class T> inline T binary(T x, T y, T p0, T p1) {
  if constexpr (OP == BinaryOp::add) return x + y;
  else if constexpr (OP == BinaryOp::sub) return x - y;
  else if constexpr (OP == BinaryOp::mul) return x * y;
  else if constexpr (OP == BinaryOp::div) return x / y;
  else if constexpr (OP == BinaryOp::pow) return js_pow(x, y);
  else if constexpr (OP == BinaryOp::max) return js_max(x, y);
  else if constexpr (OP == BinaryOp::min) return js_min(x, y);
  else if constexpr (OP == BinaryOp::mod) return y == 0 ? T(NAN) : x - std::floor(x / y) * y;
  else if constexpr (OP == BinaryOp::fmod) return std::fmod(x, y);
  else if constexpr (OP == BinaryOp::atan2) return std::atan2(x, y);
  else if constexpr (OP == BinaryOp::equal) return x == y ? T(1) : T(0);
  else if constexpr (OP == BinaryOp::less) return x < y ? T(1) : T(0);
  else if constexpr (OP == BinaryOp::lessEqual) return x <= y ? T(1) : T(0);
  else if constexpr (OP == BinaryOp::greater) return x > y ? T(1) : T(0);
  else if constexpr (OP == BinaryOp::greaterEqual) return x >= y ? T(1) : T(0);
  else if constexpr (OP == BinaryOp::and_) return truthy(x) && truthy(y) ? T(1) : T(0);
  else if constexpr (OP == BinaryOp::or_) return truthy(x) || truthy(y) ? T(1) : T(0);
  else if constexpr (OP == BinaryOp::xor_) return truthy(x) != truthy(y) ? T(1) : T(0);
  else if constexpr (OP == BinaryOp::bitAnd) return T(to_int32(x) & to_int32(y));
  else if constexpr (OP == BinaryOp::bitOr) return T(to_int32(x) | to_int32(y));
  else if constexpr (OP == BinaryOp::bitXor) return T(to_int32(x) ^ to_int32(y));
  else if constexpr (OP == BinaryOp::shiftRight) return T(shift_right(x, y));
  else if constexpr (OP == BinaryOp::reluGrad) return x > 0 ? y : T(0);
  else if constexpr (OP == BinaryOp::leakyReluGrad) return x < 0 ? p0 * y : y;
  else if constexpr (OP == BinaryOp::eluGrad) return x < 0 ? y * p0 * std::exp(x) : y;
  else if constexpr (OP == BinaryOp::seluGrad) return x <= 0 ? y * p1 * p0 * std::exp(x) : y * p1;
  else if constexpr (OP == BinaryOp::sigmoidGrad) return y * x * (T(1) - x);
  else if constexpr (OP == BinaryOp::tanhGrad) return y * (T(1) - x * x);
  else if constexpr (OP == BinaryOp::erfGrad) return y * T(1.1283791670955126) * std::exp(-x * x);
  else if constexpr (OP == BinaryOp::softplusGrad)
    return x >= 0 ? y / (T(1) + std::exp(-x)) : y * std::exp(x) / (T(1) + std::exp(x));
  else if constexpr (OP == BinaryOp::softsignGrad) return y / ((T(1) + std::fabs(x)) * (T(1) + std::fabs(x)));
  else if constexpr (OP == BinaryOp::clipGrad) return x < p0 || x > p1 ? T(0) : y;
  else if constexpr (OP == BinaryOp::hardSigmoidGrad) return (p0 * x + p1 > 0 && p0 * x + p1 < 1) ? p0 * y : T(0);
  else if constexpr (OP == BinaryOp::geluTanhGrad) return gelu_tanh_grad(x, y);
  else if constexpr (OP == BinaryOp::absGrad) return x > 0 ? y : x < 0 ? -y : T(0);
  else return x;
}

/** Ops whose float32 result is computed in float (hot, and within an ulp of the double formula). */
constexpr bool unary_fast(UnaryOp op) {
  switch (op) {
    case UnaryOp::identity: case UnaryOp::neg: case UnaryOp::abs: case UnaryOp::exp: case UnaryOp::log:
    case UnaryOp::sqrt: case UnaryOp::rsqrt: case UnaryOp::reciprocal: case UnaryOp::square:
    case UnaryOp::relu: case UnaryOp::sigmoid: case UnaryOp::tanh: case UnaryOp::erf:
    case UnaryOp::floor: case UnaryOp::ceil: case UnaryOp::round: case UnaryOp::sign:
    case UnaryOp::softplus: case UnaryOp::softsign: case UnaryOp::affine: case UnaryOp::powScalar:
    case UnaryOp::clip: case UnaryOp::leakyRelu: case UnaryOp::elu: case UnaryOp::selu:
    case UnaryOp::hardSigmoid: case UnaryOp::geluTanh:
      return true;
    default:
      return false;
  }
}

constexpr bool binary_fast(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: case BinaryOp::sub: case BinaryOp::mul: case BinaryOp::div: case BinaryOp::max:
    case BinaryOp::min: case BinaryOp::reluGrad: case BinaryOp::leakyReluGrad: case BinaryOp::eluGrad:
    case BinaryOp::seluGrad: case BinaryOp::sigmoidGrad: case BinaryOp::tanhGrad: case BinaryOp::erfGrad:
    case BinaryOp::softplusGrad: case BinaryOp::softsignGrad: case BinaryOp::clipGrad:
    case BinaryOp::hardSigmoidGrad: case BinaryOp::geluTanhGrad: case BinaryOp::absGrad:
      return true;
    default:
      return false;
  }
}

}  // namespace ew
}  // namespace tbn
