// The native backend: the Backend contract over tbn_engine.node (native/engine). Buffers live
// in native memory behind numeric handles and are freed when the engine's last reference goes;
// a kernel call passes handles plus one reused Float64Array of geometry, so the hot path copies
// no tensor data between JS and C++. The native side checks every geometry against its buffers.
// Geometry layouts (what addon.cc reads):
//   binary  [rank, shape…, aStrides…, bStrides…]      where  [rank, shape…, c…, a…, b…]
//   copy    [rank, shape…, srcOffset, srcStrides…, dstOffset, dstStrides…]
//   matmul  [m, n, k, transA, transB, batchRank, batch…, aBatchStrides…, bBatchStrides…]
//   conv    [batch, inC, outC, group, rank, in…, kernel…, out…, strides…, padsBegin…, dilations…]
//   pool    [planes, rank, in…, kernel…, out…, strides…, padsBegin…, padsEnd…, dilations…, countIncludePad]
//   adam    [lr, beta1, beta2, eps, step, weightDecay, decoupled]     tile  [rows, cols, p, axis, perLayer]

import type { AdamParams, Backend, BinaryOp, Broadcast, Buf, ConvParams, MatMulParams, PoolParams, ReduceOp, TileParams, UnaryOp, View } from '../backend.js';
import type { DType, HostArray } from '../dtype.js';
import type { NativeArray, NativeBinding } from '../native-binding.js';

const DTYPE_CODE: Record<DType, number> = { float32: 0, int64: 1, bool: 2 };
const ARRAY: Record<DType, new (data: ArrayLike<number>) => NativeArray> = { float32: Float32Array, int64: Float64Array, bool: Uint8Array };

class NativeBuf implements Buf {
  constructor(
    readonly dtype: DType,
    readonly size: number,
    public handle: number,
  ) {}
}

function codes<K extends string>(names: readonly string[], wanted: readonly K[], what: string): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of wanted) {
    const i = names.indexOf(k);
    if (i < 0) throw new Error(`native engine lacks the ${what} op '${k}' (rebuild with npm run build:native)`);
    out[k] = i;
  }
  return out;
}

const UNARY_OPS: UnaryOp[] = ['identity', 'neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'reciprocal', 'square', 'relu', 'sigmoid', 'tanh', 'erf', 'sin', 'cos', 'tan', 'floor', 'ceil', 'round', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'asinh', 'acosh', 'atanh', 'sign', 'not', 'isnan', 'isinf', 'softplus', 'softsign', 'affine', 'powScalar', 'clip', 'leakyRelu', 'elu', 'selu', 'hardSigmoid', 'geluTanh'];
const BINARY_OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'mod', 'fmod', 'atan2', 'equal', 'less', 'lessEqual', 'greater', 'greaterEqual', 'and', 'or', 'xor', 'bitAnd', 'bitOr', 'bitXor', 'shiftRight', 'reluGrad', 'leakyReluGrad', 'eluGrad', 'seluGrad', 'sigmoidGrad', 'tanhGrad', 'erfGrad', 'softplusGrad', 'softsignGrad', 'clipGrad', 'hardSigmoidGrad', 'geluTanhGrad', 'absGrad'];
const REDUCE_OPS: ReduceOp[] = ['sum', 'max', 'min', 'prod'];

export class NativeBackend implements Backend {
  readonly name = 'native';
  private readonly unaryCode: Record<UnaryOp, number>;
  private readonly binaryCode: Record<BinaryOp, number>;
  private readonly reduceCode: Record<ReduceOp, number>;
  private g = new Float64Array(256);
  private n = 0;

  constructor(readonly binding: NativeBinding) {
    const names = binding.opNames();
    this.unaryCode = codes(names.unary, UNARY_OPS, 'unary');
    this.binaryCode = codes(names.binary, BINARY_OPS, 'binary');
    this.reduceCode = codes(names.reduce, REDUCE_OPS, 'reduce');
  }

  // ---- runtime controls (not part of Backend) ----
  /** Threads the kernels use (default: the CPUs this process may run on, or TBN_THREADS). */
  get threads(): number {
    return this.binding.threads();
  }
  set threads(n: number) {
    this.binding.setThreads(n);
  }
  get kernelPath(): string {
    return this.binding.kernelPath();
  }
  set kernelPath(name: string) {
    this.binding.setKernelPath(name);
  }
  kernelPaths(): string[] {
    return this.binding.kernelPaths();
  }
  /** Bytes of freed blocks kept for reuse. */
  cachedBytes(): number {
    return this.binding.stats()[2]!;
  }

  // ---- geometry scratch ----
  private begin(capacity: number): void {
    if (this.g.length < capacity) this.g = new Float64Array(capacity * 2);
    this.n = 0;
  }
  private put(...values: readonly number[]): void {
    this.putAll(values);
  }
  private putAll(values: readonly number[]): void {
    for (const v of values) this.g[this.n++] = v;
  }

  private h(b: Buf): number {
    if (!(b instanceof NativeBuf)) throw new Error('native backend: buffer of another backend');
    if (b.handle < 0) throw new Error('native backend: buffer used after free');
    return b.handle;
  }

  // ---- memory ----
  alloc(dtype: DType, size: number): Buf {
    return new NativeBuf(dtype, size, this.binding.alloc(DTYPE_CODE[dtype], size));
  }
  free(buf: Buf): void {
    const b = buf as NativeBuf;
    if (b.handle < 0) throw new Error('native backend: buffer freed twice');
    this.binding.free(b.handle);
    b.handle = -1;
  }
  write(buf: Buf, data: ArrayLike<number>, offset = 0): void {
    // Other array types convert as a typed-array store does (the JS backend's set()).
    const want = ARRAY[buf.dtype];
    const arr = data instanceof want ? (data as NativeArray) : new want(data);
    this.binding.write(this.h(buf), arr, offset);
  }
  read(buf: Buf): HostArray {
    return this.binding.read(this.h(buf));
  }
  fill(buf: Buf, value: number): void {
    // The typed-array store rules of the JS backend: fround for float32, ToUint8 for bool.
    const v = buf.dtype === 'float32' ? Math.fround(value) : buf.dtype === 'bool' ? Uint8Array.of(value)[0]! : value;
    this.binding.fill(this.h(buf), v);
  }
  stats(): { buffers: number; bytes: number } {
    const s = this.binding.stats();
    return { buffers: s[0]!, bytes: s[1]! };
  }

  // ---- element-wise ----
  unary(op: UnaryOp, x: Buf, out: Buf, params?: readonly number[]): void {
    this.binding.unary(this.unaryCode[op], this.h(x), this.h(out), params?.[0] ?? 0, params?.[1] ?? 0);
  }
  binary(op: BinaryOp, a: Buf, b: Buf, out: Buf, bc: Broadcast, params?: readonly number[]): void {
    const r = bc.shape.length;
    this.begin(1 + 3 * r);
    this.put(r);
    this.putAll(bc.shape);
    this.putAll(bc.strides[0]!);
    this.putAll(bc.strides[1]!);
    this.binding.binary(this.binaryCode[op], this.h(a), this.h(b), this.h(out), this.g, params?.[0] ?? 0, params?.[1] ?? 0);
  }
  where(cond: Buf, a: Buf, b: Buf, out: Buf, bc: Broadcast): void {
    const r = bc.shape.length;
    this.begin(1 + 4 * r);
    this.put(r);
    this.putAll(bc.shape);
    for (let k = 0; k < 3; k++) this.putAll(bc.strides[k]!);
    this.binding.where(this.h(cond), this.h(a), this.h(b), this.h(out), this.g);
  }
  cast(x: Buf, out: Buf): void {
    this.binding.cast(this.h(x), this.h(out));
  }
  copy(src: Buf, sv: View, dst: Buf, dv: View, shape: readonly number[], accumulate = false): void {
    const r = shape.length;
    this.begin(3 + 3 * r);
    this.put(r);
    this.putAll(shape);
    this.put(sv.offset);
    this.putAll(sv.strides);
    this.put(dv.offset);
    this.putAll(dv.strides);
    this.binding.copy(this.h(src), this.h(dst), this.g, accumulate);
  }

  // ---- reductions and rows ----
  reduce(op: ReduceOp, x: Buf, out: Buf, outer: number, size: number, inner: number): void {
    this.binding.reduce(this.reduceCode[op], this.h(x), this.h(out), outer, size, inner);
  }
  argReduce(op: 'max' | 'min', x: Buf, out: Buf, outer: number, size: number, inner: number, selectLast: boolean): void {
    this.binding.argReduce(op === 'max', this.h(x), this.h(out), outer, size, inner, selectLast);
  }
  softmax(x: Buf, out: Buf, outer: number, size: number, inner: number, log: boolean): void {
    this.binding.softmax(this.h(x), this.h(out), outer, size, inner, log);
  }
  softmaxBackward(y: Buf, dy: Buf, dx: Buf, outer: number, size: number, inner: number, log: boolean): void {
    this.binding.softmaxBackward(this.h(y), this.h(dy), this.h(dx), outer, size, inner, log);
  }
  layerNorm(x: Buf, out: Buf, invStd: Buf, rows: number, cols: number, eps: number): void {
    this.binding.layerNorm(this.h(x), this.h(out), this.h(invStd), rows, cols, eps);
  }
  layerNormBackward(xhat: Buf, invStd: Buf, dy: Buf, dx: Buf, rows: number, cols: number): void {
    this.binding.layerNormBackward(this.h(xhat), this.h(invStd), this.h(dy), this.h(dx), rows, cols);
  }
  channelAffine(x: Buf, scale: Buf, shift: Buf, out: Buf, outer: number, channels: number, inner: number, relu: boolean): void {
    this.binding.channelAffine(this.h(x), this.h(scale), this.h(shift), this.h(out), outer, channels, inner, relu);
  }
  channelAffineBackward(x: Buf, scale: Buf, shift: Buf, dy: Buf, dx: Buf | null, dScale: Buf | null, dShift: Buf | null, outer: number, channels: number, inner: number, relu: boolean): void {
    const opt = (b: Buf | null) => (b ? this.h(b) : -1);
    this.binding.channelAffineBackward(this.h(x), this.h(scale), this.h(shift), this.h(dy), opt(dx), opt(dScale), opt(dShift), outer, channels, inner, relu);
  }
  gather(table: Buf, idx: Buf, out: Buf, outer: number, axisLen: number, inner: number): void {
    this.binding.gather(this.h(table), this.h(idx), this.h(out), outer, axisLen, inner);
  }
  gatherBackward(dy: Buf, idx: Buf, dTable: Buf, outer: number, axisLen: number, inner: number): void {
    this.binding.gatherBackward(this.h(dy), this.h(idx), this.h(dTable), outer, axisLen, inner);
  }
  adam(param: Buf, grad: Buf, m: Buf, v: Buf, p: AdamParams): void {
    this.begin(7);
    this.put(p.lr, p.beta1, p.beta2, p.eps, p.step, p.weightDecay, p.decoupled ? 1 : 0);
    this.binding.adam(this.h(param), this.h(grad), this.h(m), this.h(v), this.g);
  }

  // ---- matmul, conv, pooling ----
  matmul(a: Buf, b: Buf, out: Buf, p: MatMulParams): void {
    const r = p.batch.length;
    this.begin(6 + 3 * r);
    this.put(p.m, p.n, p.k, p.transA ? 1 : 0, p.transB ? 1 : 0, r);
    this.putAll(p.batch);
    this.putAll(p.aBatchStrides);
    this.putAll(p.bBatchStrides);
    this.binding.matmul(this.h(a), this.h(b), this.h(out), this.g);
  }
  private convGeom(p: ConvParams): Float64Array {
    const r = p.inShape.length;
    this.begin(5 + 6 * r);
    this.put(p.batch, p.inChannels, p.outChannels, p.group, r);
    for (const a of [p.inShape, p.kernel, p.outShape, p.strides, p.padsBegin, p.dilations]) this.putAll(a);
    return this.g;
  }
  conv(x: Buf, w: Buf, out: Buf, p: ConvParams): void {
    this.binding.conv(0, this.h(x), this.h(w), this.h(out), this.convGeom(p));
  }
  convBackwardData(dy: Buf, w: Buf, dx: Buf, p: ConvParams): void {
    this.binding.conv(1, this.h(dy), this.h(w), this.h(dx), this.convGeom(p));
  }
  convBackwardFilter(x: Buf, dy: Buf, dw: Buf, p: ConvParams): void {
    this.binding.conv(2, this.h(x), this.h(dy), this.h(dw), this.convGeom(p));
  }
  private poolGeom(p: PoolParams): Float64Array {
    const r = p.inShape.length;
    this.begin(3 + 7 * r);
    this.put(p.planes, r);
    for (const a of [p.inShape, p.kernel, p.outShape, p.strides, p.padsBegin, p.padsEnd, p.dilations]) this.putAll(a);
    this.put(p.countIncludePad ? 1 : 0);
    return this.g;
  }
  maxPool(x: Buf, out: Buf, argmax: Buf | null, p: PoolParams): void {
    this.binding.maxPool(this.h(x), this.h(out), argmax ? this.h(argmax) : -1, this.poolGeom(p));
  }
  maxPoolBackward(dy: Buf, argmax: Buf, dx: Buf, p: PoolParams): void {
    this.binding.maxPoolBackward(this.h(dy), this.h(argmax), this.h(dx), this.poolGeom(p));
  }
  avgPool(x: Buf, out: Buf, p: PoolParams): void {
    this.binding.avgPool(this.h(x), this.h(out), this.poolGeom(p));
  }
  avgPoolBackward(dy: Buf, dx: Buf, p: PoolParams): void {
    this.binding.avgPoolBackward(this.h(dy), this.h(dx), this.poolGeom(p));
  }

  // ---- TBN tile ----
  private tileGeom(p: TileParams): Float64Array {
    this.begin(5);
    this.put(p.rows, p.cols, p.p, p.tileAxis, p.perLayer ? 1 : 0);
    return this.g;
  }
  tileForward(w: Buf, a: Buf | null, out: Buf, alpha: Buf, signs: Buf, p: TileParams): void {
    this.binding.tileForward(this.h(w), a ? this.h(a) : -1, this.h(out), this.h(alpha), this.h(signs), this.tileGeom(p));
  }
  tileBackward(gy: Buf, a: Buf, alpha: Buf, signs: Buf, dw: Buf, da: Buf | null, p: TileParams): void {
    this.binding.tileBackward(this.h(gy), this.h(a), this.h(alpha), this.h(signs), this.h(dw), da ? this.h(da) : -1, this.tileGeom(p));
  }
}

