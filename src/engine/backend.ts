// The Backend contract: memory (alloc/free/read/write) plus coarse kernels, one call per op
// over whole buffers. Buffers are opaque handles, so a native backend can keep them in native
// memory; callers allocate every output and own it. Shapes arrive as plain number arrays,
// already checked by the ops layer (src/engine/ops): kernels trust them.

import type { DType, HostArray } from './dtype.js';

/** An opaque buffer of `size` elements of `dtype`, owned by one backend. */
export interface Buf {
  readonly dtype: DType;
  readonly size: number;
}

/** Element-wise ops of one input. `params` carry the op's scalars (alpha, min/max, …). */
export type UnaryOp =
  | 'identity' | 'neg' | 'abs' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'reciprocal' | 'square'
  | 'relu' | 'sigmoid' | 'tanh' | 'erf' | 'sin' | 'cos' | 'tan' | 'floor' | 'ceil' | 'round'
  | 'asin' | 'acos' | 'atan' | 'sinh' | 'cosh' | 'asinh' | 'acosh' | 'atanh'
  | 'sign' | 'not' | 'isnan' | 'isinf' | 'softplus' | 'softsign'
  | 'affine' /* p0*x + p1 */ | 'powScalar' /* x^p0 */ | 'clip' /* min(max(x,p0),p1) */
  | 'leakyRelu' /* p0 = alpha */ | 'elu' /* p0 = alpha */ | 'selu' /* p0 alpha, p1 gamma */
  | 'hardSigmoid' /* max(0,min(1,p0*x+p1)) */ | 'geluTanh';

/**
 * Element-wise ops of two inputs with broadcasting. The `*Grad` ops are the backward rules of
 * unary ops written as one pass: their first input is the forward input (or output, noted)
 * and the second the incoming gradient.
 */
export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'mod' | 'fmod' | 'atan2'
  | 'equal' | 'less' | 'lessEqual' | 'greater' | 'greaterEqual' | 'and' | 'or' | 'xor'
  | 'bitAnd' | 'bitOr' | 'bitXor' | 'shiftRight' /* integers in [0, 2^31) */
  | 'reluGrad' | 'leakyReluGrad' | 'eluGrad' | 'seluGrad' | 'sigmoidGrad' /* of y */
  | 'tanhGrad' /* of y */ | 'erfGrad' | 'softplusGrad' | 'softsignGrad' | 'clipGrad'
  | 'hardSigmoidGrad' | 'geluTanhGrad' | 'absGrad';

export type ReduceOp = 'sum' | 'max' | 'min' | 'prod';

/** The out shape of a broadcast op and each input's strides over it (0 where broadcast). */
export interface Broadcast {
  shape: readonly number[];
  strides: readonly (readonly number[])[];
}

/** A strided window into a buffer: element offset and per-axis strides (may be negative). */
export interface View {
  offset: number;
  strides: readonly number[];
}

export interface MatMulParams {
  /** Batch dims of the output; each operand's element stride per batch dim (0 = broadcast). */
  batch: readonly number[];
  aBatchStrides: readonly number[];
  bBatchStrides: readonly number[];
  m: number;
  n: number;
  k: number;
  /** A is stored [k, m] (per batch) instead of [m, k]; B is stored [n, k] instead of [k, n]. */
  transA: boolean;
  transB: boolean;
}

/** Convolution geometry, N-D in the spatial dims (1-D and 2-D at least on every backend). */
export interface ConvParams {
  batch: number;
  inChannels: number;
  outChannels: number;
  group: number;
  inShape: readonly number[];
  kernel: readonly number[];
  outShape: readonly number[];
  strides: readonly number[];
  padsBegin: readonly number[];
  dilations: readonly number[];
}

export interface PoolParams {
  /** batch × channels: pooling treats each plane on its own. */
  planes: number;
  inShape: readonly number[];
  kernel: readonly number[];
  outShape: readonly number[];
  strides: readonly number[];
  padsBegin: readonly number[];
  padsEnd: readonly number[];
  dilations: readonly number[];
  /** AveragePool: divide by the whole window inside the padded input, not just the real part. */
  countIncludePad: boolean;
}

export interface AdamParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count, for bias correction. */
  step: number;
  weightDecay: number;
  /** AdamW: decay the weight directly; else (Adam) add weightDecay·w to the gradient. */
  decoupled: boolean;
}

/** The TBN tile parametrisation's geometry (src/tbn/parametrize.ts): W viewed as [rows, cols]. */
export interface TileParams {
  rows: number;
  cols: number;
  p: number;
  tileAxis: 0 | 1;
  perLayer: boolean;
}

export interface Backend {
  readonly name: string;

  alloc(dtype: DType, size: number): Buf;
  free(buf: Buf): void;
  write(buf: Buf, data: ArrayLike<number>, offset?: number): void;
  /** A copy of the whole buffer. */
  read(buf: Buf): HostArray;
  fill(buf: Buf, value: number): void;
  /** Live buffers and bytes: what tests watch for leaks. */
  stats(): { buffers: number; bytes: number };

  unary(op: UnaryOp, x: Buf, out: Buf, params?: readonly number[]): void;
  binary(op: BinaryOp, a: Buf, b: Buf, out: Buf, bc: Broadcast, params?: readonly number[]): void;
  where(cond: Buf, a: Buf, b: Buf, out: Buf, bc: Broadcast): void;
  /** Converts element types (float → int64 truncates toward zero, anything → bool is x ≠ 0). */
  cast(x: Buf, out: Buf): void;
  /** out[view] = src[view] over `shape`; with `accumulate`, out[view] += src[view]. */
  copy(src: Buf, srcView: View, dst: Buf, dstView: View, shape: readonly number[], accumulate?: boolean): void;

  /** Reduces the middle axis of x viewed as [outer, size, inner] into out [outer, inner]. */
  reduce(op: ReduceOp, x: Buf, out: Buf, outer: number, size: number, inner: number): void;
  /** Index (int64) of the max/min along the middle axis; ties → first, or last with selectLast. */
  argReduce(op: 'max' | 'min', x: Buf, out: Buf, outer: number, size: number, inner: number, selectLast: boolean): void;

  matmul(a: Buf, b: Buf, out: Buf, p: MatMulParams): void;

  conv(x: Buf, w: Buf, out: Buf, p: ConvParams): void;
  /** dx = ∂/∂x, overwritten (also the ConvTranspose forward pass). */
  convBackwardData(dy: Buf, w: Buf, dx: Buf, p: ConvParams): void;
  /** dw = ∂/∂w, overwritten. */
  convBackwardFilter(x: Buf, dy: Buf, dw: Buf, p: ConvParams): void;

  /** Writes the flat input index of each max (int64) into `argmax` when given. */
  maxPool(x: Buf, out: Buf, argmax: Buf | null, p: PoolParams): void;
  maxPoolBackward(dy: Buf, argmax: Buf, dx: Buf, p: PoolParams): void;
  avgPool(x: Buf, out: Buf, p: PoolParams): void;
  avgPoolBackward(dy: Buf, dx: Buf, p: PoolParams): void;

  /** Softmax (or log-softmax) along the middle axis of [outer, size, inner]. */
  softmax(x: Buf, out: Buf, outer: number, size: number, inner: number, log: boolean): void;
  /** From the forward output y and dy. */
  softmaxBackward(y: Buf, dy: Buf, dx: Buf, outer: number, size: number, inner: number, log: boolean): void;

  /** Normalises each row of [rows, cols]: out = (x − mean)·invStd; invStd [rows] is written. */
  layerNorm(x: Buf, out: Buf, invStd: Buf, rows: number, cols: number, eps: number): void;
  /** From the normalised output xhat and invStd. */
  layerNormBackward(xhat: Buf, invStd: Buf, dy: Buf, dx: Buf, rows: number, cols: number): void;

  /**
   * BatchNormalization's per-channel affine over x viewed as [outer, channels, inner]:
   * out = x·scale[c] + shift[c] (x·scale rounded to float, then + shift: no fused multiply-add),
   * then max(0, ·) with `relu`.
   */
  channelAffine(x: Buf, scale: Buf, shift: Buf, out: Buf, outer: number, channels: number, inner: number, relu: boolean): void;
  /**
   * From x and dy, with g = dy (with `relu`: dy where the forward value was > 0, else 0):
   * dx = g·scale[c], dScale[c] = Σ g·x, dShift[c] = Σ g. Null outputs are not computed.
   */
  channelAffineBackward(x: Buf, scale: Buf, shift: Buf, dy: Buf, dx: Buf | null, dScale: Buf | null, dShift: Buf | null, outer: number, channels: number, inner: number, relu: boolean): void;

  /** out[o, i, j] = table[o, idx[i], j] for table [outer, axisLen, inner]; idx int64, in range. */
  gather(table: Buf, idx: Buf, out: Buf, outer: number, axisLen: number, inner: number): void;
  /** dTable (zeroed by the caller) += scatter of dy along the gathered axis. */
  gatherBackward(dy: Buf, idx: Buf, dTable: Buf, outer: number, axisLen: number, inner: number): void;

  /** One Adam/AdamW update of `param` in place; m and v are updated in place too. */
  adam(param: Buf, grad: Buf, m: Buf, v: Buf, p: AdamParams): void;

  /**
   * Optional fused TBN tile kernels; without them src/tbn/parametrize.ts computes on the host.
   * Forward: out = α ⊙ tile(sign(Σ regions of w)), α from `a` (or w when null), writing α
   * [p, or 1 per layer] and the tile signs [q] (±1) for the backward pass, which writes dw
   * (straight-through, plus the α term when da is null) and da.
   */
  tileForward?(w: Buf, a: Buf | null, out: Buf, alpha: Buf, signs: Buf, p: TileParams): void;
  tileBackward?(gy: Buf, a: Buf, alpha: Buf, signs: Buf, dw: Buf, da: Buf | null, p: TileParams): void;
}

let current: Backend | undefined;
let factory: (() => Backend) | undefined;

/** Registers the default backend's constructor (backends/js.ts does so on import). */
export function registerDefaultBackend(make: () => Backend): void {
  factory = make;
}

export function getBackend(): Backend {
  if (!current) {
    if (!factory) throw new Error('no engine backend registered (import src/engine/index.js)');
    current = factory();
  }
  return current;
}

/** Makes `b` the backend new tensors are created on. Returns the previous one. */
export function setBackend(b: Backend): Backend | undefined {
  const prev = current;
  current = b;
  return prev;
}

/** Runs `fn` (synchronous) with `b` as the current backend, then restores the previous one. */
export function withBackend<T>(b: Backend, fn: () => T): T {
  const prev = getBackend();
  current = b;
  try {
    return fn();
  } finally {
    current = prev;
  }
}
