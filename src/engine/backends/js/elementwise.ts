// Element-wise kernels of the JS backend. Each op is an expression; a loop specialised to that
// expression and to the input/output array types is generated once with new Function and
// cached, so hot loops hold no per-element closure call and each stays monomorphic for V8.
// Broadcasting: axes are collapsed first, then an odometer walks the outer axes and an inner
// loop runs over the last one with each input's stride there being 0 or 1.

import type { BinaryOp, Broadcast, UnaryOp } from '../../backend.js';
import type { HostArray } from '../../dtype.js';
import { contiguousStrides } from '../../shape.js';

/** x: the element; p0, p1: op parameters. */
const UNARY: Record<UnaryOp, string> = {
  identity: 'x',
  neg: '-x',
  abs: 'Math.abs(x)',
  exp: 'Math.exp(x)',
  log: 'Math.log(x)',
  sqrt: 'Math.sqrt(x)',
  rsqrt: '1 / Math.sqrt(x)',
  reciprocal: '1 / x',
  square: 'x * x',
  relu: 'x < 0 ? 0 : x',
  sigmoid: 'x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))',
  tanh: 'Math.tanh(x)',
  erf: 'erf(x)',
  sin: 'Math.sin(x)',
  cos: 'Math.cos(x)',
  tan: 'Math.tan(x)',
  asin: 'Math.asin(x)',
  acos: 'Math.acos(x)',
  atan: 'Math.atan(x)',
  sinh: 'Math.sinh(x)',
  cosh: 'Math.cosh(x)',
  asinh: 'Math.asinh(x)',
  acosh: 'Math.acosh(x)',
  atanh: 'Math.atanh(x)',
  floor: 'Math.floor(x)',
  ceil: 'Math.ceil(x)',
  round: 'roundEven(x)',
  sign: 'x > 0 ? 1 : x < 0 ? -1 : x',
  not: 'x ? 0 : 1',
  isnan: 'x !== x ? 1 : 0',
  isinf: '(x === Infinity && p0) || (x === -Infinity && p1) ? 1 : 0',
  softplus: 'Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))',
  softsign: 'x / (1 + Math.abs(x))',
  affine: 'p0 * x + p1',
  powScalar: 'Math.pow(x, p0)',
  clip: 'x < p0 ? p0 : x > p1 ? p1 : x',
  leakyRelu: 'x < 0 ? p0 * x : x',
  elu: 'x < 0 ? p0 * (Math.exp(x) - 1) : x',
  selu: 'x <= 0 ? p1 * p0 * (Math.exp(x) - 1) : p1 * x',
  hardSigmoid: 'Math.max(0, Math.min(1, p0 * x + p1))',
  geluTanh: '0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))',
};

/** x: first input, y: second; for the *Grad ops x is the forward input (or output) and y dy. */
const BINARY: Record<BinaryOp, string> = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  pow: 'Math.pow(x, y)',
  max: 'Math.max(x, y)',
  min: 'Math.min(x, y)',
  mod: 'y === 0 ? NaN : x - Math.floor(x / y) * y',
  fmod: 'x % y',
  atan2: 'Math.atan2(x, y)',
  equal: 'x === y ? 1 : 0',
  less: 'x < y ? 1 : 0',
  lessEqual: 'x <= y ? 1 : 0',
  greater: 'x > y ? 1 : 0',
  greaterEqual: 'x >= y ? 1 : 0',
  and: 'x && y ? 1 : 0',
  or: 'x || y ? 1 : 0',
  xor: '(x ? 1 : 0) ^ (y ? 1 : 0)',
  bitAnd: 'x & y',
  bitOr: 'x | y',
  bitXor: 'x ^ y',
  shiftRight: 'y >= 32 ? 0 : x >>> y',
  reluGrad: 'x > 0 ? y : 0',
  leakyReluGrad: 'x < 0 ? p0 * y : y',
  eluGrad: 'x < 0 ? y * p0 * Math.exp(x) : y',
  seluGrad: 'x <= 0 ? y * p1 * p0 * Math.exp(x) : y * p1',
  sigmoidGrad: 'y * x * (1 - x)',
  tanhGrad: 'y * (1 - x * x)',
  erfGrad: 'y * 1.1283791670955126 * Math.exp(-x * x)',
  softplusGrad: 'x >= 0 ? y / (1 + Math.exp(-x)) : y * Math.exp(x) / (1 + Math.exp(x))',
  softsignGrad: 'y / ((1 + Math.abs(x)) * (1 + Math.abs(x)))',
  clipGrad: 'x < p0 || x > p1 ? 0 : y',
  hardSigmoidGrad: '(p0 * x + p1 > 0 && p0 * x + p1 < 1) ? p0 * y : 0',
  geluTanhGrad: 'geluTanhGrad(x, y)',
  absGrad: 'x > 0 ? y : x < 0 ? -y : 0',
};

/** Integer results where the float expression would leave a fraction. */
const INT_BINARY: Partial<Record<BinaryOp, string>> = {
  div: 'y === 0 ? 0 : Math.trunc(x / y)',
};

/** Abramowitz–Stegun 7.1.26 is too coarse (1e-7 abs); this is W. J. Cody's rational erf. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 0.5) {
    const t = x * x;
    const p = ((((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947);
    const q = ((((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062);
    return (x * p) / q;
  }
  if (ax >= 6) return x > 0 ? 1 : -1;
  let r: number;
  if (ax < 4) {
    const p = (((((((5.64188496988670089e-1 * ax + 8.88314979438837594) * ax + 66.1191906371416295) * ax + 298.635138197400131) * ax + 881.952221241769090) * ax + 1712.04761263407058) * ax + 2051.07837782607147) * ax + 1230.33935479799725);
    const q = (((((((ax + 15.7449261107098347) * ax + 117.693950891312499) * ax + 537.181101862009858) * ax + 1621.38957456669019) * ax + 3290.79923573345963) * ax + 4362.61909014324716) * ax + 3439.36767414372164) * ax + 1230.33935480374942;
    r = (Math.exp(-ax * ax) * p) / q;
  } else {
    const z = 1 / (ax * ax);
    const p = ((((1.63153871373020978e-2 * z + 3.05326634961232344e-1) * z + 3.60344899949804439e-1) * z + 1.25781726111229246e-1) * z + 1.60837851487422766e-2) * z + 6.58749161529837803e-4;
    const q = ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 5.27905102951428412e-1) * z + 6.05183413124413191e-2) * z + 2.33520497626869185e-3;
    r = (Math.exp(-ax * ax) / ax) * (0.5641895835477563 - (z * p) / q);
  }
  return x > 0 ? 1 - r : r - 1;
}

/** Round half to even (ONNX Round). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function geluTanhGrad(x: number, dy: number): number {
  const c = 0.7978845608028654;
  const u = c * (x + 0.044715 * x * x * x);
  const t = Math.tanh(u);
  return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x));
}

export { erf };

type Fn = (...args: unknown[]) => void;
const cache = new Map<string, Fn>();

function build(key: string, body: string): Fn {
  let f = cache.get(key);
  if (!f) {
    f = new Function('erf', 'roundEven', 'geluTanhGrad', `"use strict";\nreturn ${body};`)(erf, roundEven, geluTanhGrad) as Fn;
    cache.set(key, f);
  }
  return f;
}

const kind = (a: HostArray): string => a.constructor.name[0]! + a.constructor.name[a.constructor.name.length - 6]!;

export function unary(op: UnaryOp, x: HostArray, out: HostArray, params: readonly number[] = []): void {
  const expr = UNARY[op];
  const f = build(`u:${op}:${kind(x)}${kind(out)}`, `function (a, o, n, p0, p1) {
    for (let i = 0; i < n; i++) { const x = a[i]; o[i] = ${expr}; }
  }`);
  f(x, out, out.length, params[0] ?? 0, params[1] ?? 0);
}

/** Merges axes that every operand walks contiguously, and drops size-1 axes. */
export function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[i]! * d)) {
      outShape[last]! *= d;
      strides.forEach((s, k) => (outStrides[k]![last] = s[i]!));
    } else {
      outShape.push(d);
      strides.forEach((s, k) => outStrides[k]!.push(s[i]!));
    }
  }
  if (!outShape.length) {
    outShape.push(1);
    outStrides.forEach((s) => s.push(0));
  }
  return { shape: outShape, strides: outStrides };
}

const BINARY_LOOP = (expr: string) => `function (a, b, o, rows, n, sa, sb, dims, as, bs, p0, p1) {
  const r = dims.length;
  const idx = new Int32Array(r);
  let ai = 0, bi = 0, oi = 0;
  for (let row = 0; row < rows; row++) {
    if (sa === 1 && sb === 1) { for (let j = 0; j < n; j++) { const x = a[ai + j], y = b[bi + j]; o[oi + j] = ${expr}; } }
    else if (sa === 1) { const y = b[bi]; for (let j = 0; j < n; j++) { const x = a[ai + j]; o[oi + j] = ${expr}; } }
    else if (sb === 1) { const x = a[ai]; for (let j = 0; j < n; j++) { const y = b[bi + j]; o[oi + j] = ${expr}; } }
    else { const x = a[ai], y = b[bi]; const v = ${expr}; for (let j = 0; j < n; j++) o[oi + j] = v; }
    oi += n;
    for (let d = r - 1; d >= 0; d--) {
      ai += as[d]; bi += bs[d];
      if (++idx[d] < dims[d]) break;
      ai -= as[d] * dims[d]; bi -= bs[d] * dims[d]; idx[d] = 0;
    }
  }
}`;

export function binary(op: BinaryOp, a: HostArray, b: HostArray, out: HostArray, bc: Broadcast, params: readonly number[] = []): void {
  const intOut = out instanceof Float64Array && a instanceof Float64Array;
  const expr = (intOut && INT_BINARY[op]) || BINARY[op];
  const f = build(`b:${op}:${kind(a)}${kind(b)}${kind(out)}:${intOut}`, BINARY_LOOP(expr));
  const c = collapse(bc.shape, bc.strides);
  const r = c.shape.length - 1;
  const n = c.shape[r]!;
  const rows = n === 0 ? 0 : out.length / n;
  f(a, b, out, rows, n, c.strides[0]![r], c.strides[1]![r], c.shape.slice(0, r), c.strides[0]!.slice(0, r), c.strides[1]!.slice(0, r), params[0] ?? 0, params[1] ?? 0);
}

/** Generic odometer over `shape` calling body(offsets) per inner row; for the rarer kernels. */
export function forEachRow(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  body: (offsets: number[], n: number, inner: number[]) => void,
): void {
  const c = collapse(shape, strides);
  const r = c.shape.length - 1;
  const n = c.shape[r]!;
  const total = shape.reduce((x, y) => x * y, 1);
  if (total === 0) return;
  const rows = total / n;
  const inner = c.strides.map((s) => s[r]!);
  const offs = c.strides.map(() => 0);
  const idx = new Int32Array(r);
  for (let row = 0; row < rows; row++) {
    body(offs, n, inner);
    for (let d = r - 1; d >= 0; d--) {
      for (let k = 0; k < offs.length; k++) offs[k]! += c.strides[k]![d]!;
      if (++idx[d]! < c.shape[d]!) break;
      for (let k = 0; k < offs.length; k++) offs[k]! -= c.strides[k]![d]! * c.shape[d]!;
      idx[d] = 0;
    }
  }
}

export function where(cond: HostArray, a: HostArray, b: HostArray, out: HostArray, bc: Broadcast): void {
  const os = contiguousStrides(bc.shape);
  forEachRow(bc.shape, [...bc.strides, os], ([ci, ai, bi, oi], n, [sc, sa, sb, so]) => {
    for (let j = 0; j < n; j++) out[oi! + j * so!] = cond[ci! + j * sc!] ? a[ai! + j * sa!]! : b[bi! + j * sb!]!;
  });
}

export function copy(src: HostArray, so: number, ss: readonly number[], dst: HostArray, d0: number, ds: readonly number[], shape: readonly number[], acc: boolean): void {
  forEachRow(shape, [ss, ds], ([si, di], n, [s1, d1]) => {
    let s = so + si!;
    let d = d0 + di!;
    if (acc) for (let j = 0; j < n; j++, s += s1!, d += d1!) dst[d] += src[s]!;
    else for (let j = 0; j < n; j++, s += s1!, d += d1!) dst[d] = src[s]!;
  });
}

export function cast(x: HostArray, out: HostArray): void {
  const n = out.length;
  if (out instanceof Uint8Array) for (let i = 0; i < n; i++) out[i] = x[i] !== 0 ? 1 : 0;
  else if (out instanceof Float64Array && !(x instanceof Float64Array)) for (let i = 0; i < n; i++) out[i] = Math.trunc(x[i]!);
  else for (let i = 0; i < n; i++) out[i] = x[i]!;
}

