// Element-wise ops with broadcasting, each with its backward rule beside it. Binary inputs
// must share a dtype (ONNX guarantees it); comparisons and logic give bool. Ops without a
// useful gradient (floor, comparisons, casts to int/bool) are simply not recorded.

import { record } from '../autograd.js';
import type { BinaryOp, UnaryOp } from '../backend.js';
import type { DType } from '../dtype.js';
import { broadcastOf } from '../shape.js';
import { tidy } from '../scope.js';
import { empty, full, type Tensor } from '../tensor.js';
import { identity, sumToShape } from './broadcast.js';

export function unaryRaw(op: UnaryOp, x: Tensor, params?: readonly number[], dtype: DType = x.dtype): Tensor {
  const out = empty(x.shape, dtype, x.backend);
  x.backend.unary(op, x.buf, out.buf, params);
  return out;
}

export function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor, params?: readonly number[], dtype?: DType): Tensor {
  if (a.dtype !== b.dtype) throw new Error(`${op}: operands of different types (${a.dtype} and ${b.dtype})`);
  if (a.backend !== b.backend) throw new Error(`${op}: operands on different backends`);
  const bc = broadcastOf(a.shape, b.shape);
  const out = empty(bc.shape, dtype ?? a.dtype, a.backend);
  a.backend.binary(op, a.buf, b.buf, out.buf, bc, params);
  return out;
}

const scalarLike = (x: Tensor, v: number): Tensor => full([], v, x.dtype);

// ---- binary arithmetic -------------------------------------------------------------------

export function add(a: Tensor, b: Tensor): Tensor {
  const [as, bs] = [a.shape, b.shape];
  return record(binaryRaw('add', a, b), 'add', [a, b], [], (g, _, n) => [n[0] ? sumToShape(g, as) : undefined, n[1] ? sumToShape(g, bs) : undefined]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  const [as, bs] = [a.shape, b.shape];
  return record(binaryRaw('sub', a, b), 'sub', [a, b], [], (g, _, n) => [n[0] ? sumToShape(g, as) : undefined, n[1] ? sumToShape(neg(g), bs) : undefined]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const [as, bs] = [a.shape, b.shape];
  return record(binaryRaw('mul', a, b), 'mul', [a, b], [a, b], (g, [sa, sb], n) => [
    n[0] ? sumToShape(mul(g, sb!), as) : undefined,
    n[1] ? sumToShape(mul(g, sa!), bs) : undefined,
  ]);
}

/** d(a/b)/da = 1/b; d(a/b)/db = −(a/b)/b. */
export function div(a: Tensor, b: Tensor): Tensor {
  const [as, bs] = [a.shape, b.shape];
  const out = binaryRaw('div', a, b);
  return record(out, 'div', [a, b], [b, out], (g, [sb, y], n) => [
    n[0] ? sumToShape(div(g, sb!), as) : undefined,
    n[1] ? sumToShape(neg(mul(g, div(y!, sb!))), bs) : undefined,
  ]);
}

/** d(a^b)/da = b·a^(b−1); d(a^b)/db = a^b · ln a. */
export function pow(a: Tensor, b: Tensor): Tensor {
  const [as, bs] = [a.shape, b.shape];
  const out = binaryRaw('pow', a, b);
  return record(out, 'pow', [a, b], [a, b, out], (g, [sa, sb, y], n) => [
    n[0] ? sumToShape(mul(g, mul(sb!, pow(sa!, affine(sb!, 1, -1)))), as) : undefined,
    n[1] ? sumToShape(mul(g, mul(y!, log(sa!))), bs) : undefined,
  ]);
}

/** Gradient goes to a where a ≥ b, else to b. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return minMax('max', a, b);
}

export function minimum(a: Tensor, b: Tensor): Tensor {
  return minMax('min', a, b);
}

function minMax(op: 'max' | 'min', a: Tensor, b: Tensor): Tensor {
  const [as, bs] = [a.shape, b.shape];
  return record(binaryRaw(op, a, b), op, [a, b], [a, b], (g, [sa, sb], n) => {
    const pickA = binaryRaw(op === 'max' ? 'greaterEqual' : 'lessEqual', sa!, sb!, undefined, 'bool');
    const zero = scalarLike(g, 0);
    return [n[0] ? sumToShape(where(pickA, g, zero), as) : undefined, n[1] ? sumToShape(where(pickA, zero, g), bs) : undefined];
  });
}

/** where(cond, a, b): cond bool; gradients routed by cond. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  if (cond.dtype !== 'bool') throw new Error(`where: condition is ${cond.dtype}, not bool`);
  if (a.dtype !== b.dtype) throw new Error(`where: branches of different types (${a.dtype}, ${b.dtype})`);
  const bc = broadcastOf(cond.shape, a.shape, b.shape);
  const out = empty(bc.shape, a.dtype, a.backend);
  a.backend.where(cond.buf, a.buf, b.buf, out.buf, bc);
  const [as, bs] = [a.shape, b.shape];
  return record(out, 'where', [undefined, a, b], [cond], (g, [c], n) => {
    const zero = scalarLike(g, 0);
    return [undefined, n[1] ? sumToShape(where(c!, g, zero), as) : undefined, n[2] ? sumToShape(where(c!, zero, g), bs) : undefined];
  });
}

// ---- comparisons and logic (no gradient) ---------------------------------------------------

export const equal = (a: Tensor, b: Tensor) => binaryRaw('equal', a, b, undefined, 'bool');
export const less = (a: Tensor, b: Tensor) => binaryRaw('less', a, b, undefined, 'bool');
export const lessEqual = (a: Tensor, b: Tensor) => binaryRaw('lessEqual', a, b, undefined, 'bool');
export const greater = (a: Tensor, b: Tensor) => binaryRaw('greater', a, b, undefined, 'bool');
export const greaterEqual = (a: Tensor, b: Tensor) => binaryRaw('greaterEqual', a, b, undefined, 'bool');
export const logicalAnd = (a: Tensor, b: Tensor) => binaryRaw('and', a, b, undefined, 'bool');
export const logicalOr = (a: Tensor, b: Tensor) => binaryRaw('or', a, b, undefined, 'bool');
export const logicalXor = (a: Tensor, b: Tensor) => binaryRaw('xor', a, b, undefined, 'bool');
export const logicalNot = (x: Tensor) => unaryRaw('not', x, undefined, 'bool');
/** Bitwise ops on int64 tensors whose values lie in [0, 2^31) (unsigned bytes and words). */
export const bitwise = (op: 'bitAnd' | 'bitOr' | 'bitXor' | 'shiftRight', a: Tensor, b: Tensor) => binaryRaw(op, a, b);
/** Integer-style modulo (sign of the divisor) or, with `fmod`, C fmod (sign of the dividend). */
export const mod = (a: Tensor, b: Tensor, fmod = false) => binaryRaw(fmod ? 'fmod' : 'mod', a, b);
export const isNaN = (x: Tensor) => unaryRaw('isnan', x, undefined, 'bool');
export const isInf = (x: Tensor, positive = true, negative = true) => unaryRaw('isinf', x, [+positive, +negative], 'bool');
export const floor = (x: Tensor) => unaryRaw('floor', x);
export const ceil = (x: Tensor) => unaryRaw('ceil', x);
export const round = (x: Tensor) => unaryRaw('round', x);
export const sign = (x: Tensor) => unaryRaw('sign', x);

/** Element type conversion; float32 → float32 is an identity that passes gradients. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (dtype === x.dtype) return identity(x);
  const out = empty(x.shape, dtype, x.backend);
  x.backend.cast(x.buf, out.buf);
  return out;
}

// ---- unary ---------------------------------------------------------------------------------

/** A unary op whose backward is one fused binary kernel `gradOp(saved, g)`. */
function unaryWith(op: UnaryOp, x: Tensor, gradOp: BinaryOp, saveOutput: boolean, params?: readonly number[]): Tensor {
  const out = unaryRaw(op, x, params);
  return record(out, op, [x], [saveOutput ? out : x], (g, [s]) => [binaryRaw(gradOp, s!, g, params)]);
}

export const relu = (x: Tensor) => unaryWith('relu', x, 'reluGrad', true);
export const leakyRelu = (x: Tensor, alpha = 0.01) => unaryWith('leakyRelu', x, 'leakyReluGrad', false, [alpha]);
export const elu = (x: Tensor, alpha = 1) => unaryWith('elu', x, 'eluGrad', false, [alpha]);
export const selu = (x: Tensor, alpha = 1.6732632423543772, gamma = 1.0507009873554805) => unaryWith('selu', x, 'seluGrad', false, [alpha, gamma]);
export const sigmoid = (x: Tensor) => unaryWith('sigmoid', x, 'sigmoidGrad', true);
export const tanh = (x: Tensor) => unaryWith('tanh', x, 'tanhGrad', true);
export const erf = (x: Tensor) => unaryWith('erf', x, 'erfGrad', false);
export const softplus = (x: Tensor) => unaryWith('softplus', x, 'softplusGrad', false);
export const softsign = (x: Tensor) => unaryWith('softsign', x, 'softsignGrad', false);
export const abs = (x: Tensor) => unaryWith('abs', x, 'absGrad', false);
export const hardSigmoid = (x: Tensor, alpha = 0.2, beta = 0.5) => unaryWith('hardSigmoid', x, 'hardSigmoidGrad', false, [alpha, beta]);
/** min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi. */
export const clip = (x: Tensor, lo = -Infinity, hi = Infinity) => unaryWith('clip', x, 'clipGrad', false, [lo, hi]);

export function neg(x: Tensor): Tensor {
  return record(unaryRaw('neg', x), 'neg', [x], [], (g) => [neg(g)]);
}

/** a·x + b for numbers a, b. */
export function affine(x: Tensor, a: number, b: number): Tensor {
  return record(unaryRaw('affine', x, [a, b]), 'affine', [x], [], (g) => [affine(g, a, 0)]);
}

export function exp(x: Tensor): Tensor {
  const out = unaryRaw('exp', x);
  return record(out, 'exp', [x], [out], (g, [y]) => [mul(g, y!)]);
}

export function log(x: Tensor): Tensor {
  return record(unaryRaw('log', x), 'log', [x], [x], (g, [sx]) => [div(g, sx!)]);
}

/** d√x = 1 / (2√x). */
export function sqrt(x: Tensor): Tensor {
  const out = unaryRaw('sqrt', x);
  return record(out, 'sqrt', [x], [out], (g, [y]) => [affine(div(g, y!), 0.5, 0)]);
}

/** d(1/x) = −1/x². */
export function reciprocal(x: Tensor): Tensor {
  const out = unaryRaw('reciprocal', x);
  return record(out, 'reciprocal', [x], [out], (g, [y]) => [neg(mul(g, mul(y!, y!)))]);
}

/** x^p for a number p: d = p·x^(p−1). */
export function powScalar(x: Tensor, p: number): Tensor {
  if (p === 1) return identity(x);
  const out = unaryRaw('powScalar', x, [p]);
  return record(out, 'powScalar', [x], [x], (g, [sx]) => [mul(g, affine(powScalar(sx!, p - 1), p, 0))]);
}

export const square = (x: Tensor) => powScalar(x, 2);
export const sin = (x: Tensor): Tensor => record(unaryRaw('sin', x), 'sin', [x], [x], (g, [s]) => [mul(g, cos(s!))]);
export const cos = (x: Tensor): Tensor => record(unaryRaw('cos', x), 'cos', [x], [x], (g, [s]) => [neg(mul(g, sin(s!)))]);

/** d tan = 1 + tan². */
export const tan = (x: Tensor): Tensor => {
  const y = unaryRaw('tan', x);
  return record(y, 'tan', [x], [y], (g, [t]) => [mul(g, affine(mul(t!, t!), 1, 1))]);
};

/** Inverse and hyperbolic trigonometry; each derivative written with the ops above. */
const TRIG_GRADS: Record<'asin' | 'acos' | 'atan' | 'sinh' | 'cosh' | 'asinh' | 'acosh' | 'atanh', (x: Tensor) => Tensor> = {
  asin: (x) => reciprocal(sqrt(affine(mul(x, x), -1, 1))),
  acos: (x) => neg(reciprocal(sqrt(affine(mul(x, x), -1, 1)))),
  atan: (x) => reciprocal(affine(mul(x, x), 1, 1)),
  sinh: (x) => unaryRaw('cosh', x),
  cosh: (x) => unaryRaw('sinh', x),
  asinh: (x) => reciprocal(sqrt(affine(mul(x, x), 1, 1))),
  acosh: (x) => reciprocal(sqrt(affine(mul(x, x), 1, -1))),
  atanh: (x) => reciprocal(affine(mul(x, x), -1, 1)),
};

export function trig(op: keyof typeof TRIG_GRADS, x: Tensor): Tensor {
  return record(unaryRaw(op, x), op, [x], [x], (g, [s]) => [mul(g, TRIG_GRADS[op](s!))]);
}

/** GELU: exact x·Φ(x) = x/2·(1 + erf(x/√2)), or the tanh approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate === 'tanh') return unaryWith('geluTanh', x, 'geluTanhGrad', false);
  return tidy(() => mul(x, affine(erf(affine(x, Math.SQRT1_2, 0)), 0.5, 0.5)));
}

/** x · hardSigmoid(x; 1/6, 1/2). */
export const hardSwish = (x: Tensor) => tidy(() => mul(x, hardSigmoid(x, 1 / 6, 0.5)));
