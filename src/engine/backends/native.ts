// The native backend: the Backend contract over tbn_engine.node (native/engine). Buffers live
// in native memory behind numeric handles and are freed when the engine's last reference goes;
// a kernel call passes handles plus one reused Float64Array of geometry, so the hot path copies
// no tensor data between JS and C++. The native side checks every geometry against its buffers.
// The geometry's order is native/engine/geometry.h's: this backend packs each call's fields by
// name from the layouts the addon reports at load, so the order is written only there.
import type { AdamParams, Backend, BinaryOp, Broadcast, Buf, ConvParams, MatMulParams, PoolParams, ReduceOp, TileParams, UnaryOp, View } from '../backend.js';
import type { DType, HostArray } from '../dtype.js';
import type { Geometry, NativeArray, NativeBinding } from '../native-binding.js';

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

const GEOMETRIES = ['broadcast', 'where', 'copy', 'adam', 'matmul', 'conv', 'pool', 'tile'] as const;
type GeometryName = (typeof GEOMETRIES)[number];
type FieldKind = 'int' | 'real' | 'flag' | 'rank' | 'ints';
type Layout = { name: string; kind: FieldKind }[];

/** Parses the addon's "name:kind …" layouts; a missing or unknown one means another build. */
function layoutsOf(binding: NativeBinding): Record<GeometryName, Layout> {
  const text = binding.geometryLayouts();
  const out = {} as Record<GeometryName, Layout>;
  for (const g of GEOMETRIES) {
    if (typeof text[g] !== 'string') throw new Error(`native engine lacks the geometry '${g}' (rebuild with npm run build:native)`);
    out[g] = text[g].trim().split(/\s+/).map((f) => {
      const [name, kind] = f.split(':') as [string, FieldKind];
      if (!['int', 'real', 'flag', 'rank', 'ints'].includes(kind)) throw new Error(`native engine geometry '${g}': unknown field kind in '${f}'`);
      return { name, kind };
    });
  }
  return out;
}

export class NativeBackend implements Backend {
  readonly name = 'native';
  private readonly unaryCode: Record<UnaryOp, number>;
  private readonly binaryCode: Record<BinaryOp, number>;
  private readonly reduceCode: Record<ReduceOp, number>;
  private readonly layouts: Record<GeometryName, Layout>;
  private g = new Float64Array(256);
  private n = 0;

  constructor(readonly binding: NativeBinding) {
    this.layouts = layoutsOf(binding);
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

  // ---- geometry ----
  /** Packs `fields` in geometry `name`'s layout into the reused scratch array. */
  private pack(name: GeometryName, fields: object): Geometry {
    const values = fields as Record<string, unknown>;
    const layout = this.layouts[name];
    this.n = 0;
    for (let i = 0; i < layout.length; i++) {
      const f = layout[i]!;
      // A rank is the length of the arrays after it, which the parameter objects carry.
      const v = f.kind === 'rank' ? values[layout[i + 1]!.name] : values[f.name];
      if (v === undefined) throw new Error(`native backend: geometry '${name}' needs '${f.kind === 'rank' ? layout[i + 1]!.name : f.name}'`);
      if (f.kind === 'rank') this.put((v as readonly number[]).length);
      else if (f.kind === 'ints') for (const x of v as readonly number[]) this.put(x);
      else this.put(f.kind === 'flag' ? (v ? 1 : 0) : (v as number));
    }
    // The reader takes the fields it needs from the front; what follows is last call's.
    return this.g;
  }

  private put(v: number): void {
    if (this.n === this.g.length) {
      const grown = new Float64Array(2 * this.n);
      grown.set(this.g);
      this.g = grown;
    }
    this.g[this.n++] = v;
  }

  /** What the addon reads back from `fields` packed as geometry `name` (tests). */
  echoGeometry(name: GeometryName, fields: object): Record<string, number | boolean | number[]> {
    return this.binding.geometryEcho(name, this.pack(name, fields));
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
    const geometry = this.pack('broadcast', { shape: bc.shape, aStrides: bc.strides[0], bStrides: bc.strides[1] });
    this.binding.binary(this.binaryCode[op], this.h(a), this.h(b), this.h(out), geometry, params?.[0] ?? 0, params?.[1] ?? 0);
  }
  where(cond: Buf, a: Buf, b: Buf, out: Buf, bc: Broadcast): void {
    const geometry = this.pack('where', { shape: bc.shape, condStrides: bc.strides[0], aStrides: bc.strides[1], bStrides: bc.strides[2] });
    this.binding.where(this.h(cond), this.h(a), this.h(b), this.h(out), geometry);
  }
  cast(x: Buf, out: Buf): void {
    this.binding.cast(this.h(x), this.h(out));
  }
  copy(src: Buf, sv: View, dst: Buf, dv: View, shape: readonly number[], accumulate = false): void {
    const geometry = this.pack('copy', { shape, srcOffset: sv.offset, srcStrides: sv.strides, dstOffset: dv.offset, dstStrides: dv.strides });
    this.binding.copy(this.h(src), this.h(dst), geometry, accumulate);
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
  adam(param: Buf, grad: Buf, m: Buf, v: Buf, params: AdamParams): void {
    this.binding.adam(this.h(param), this.h(grad), this.h(m), this.h(v), this.pack('adam', params));
  }

  // ---- matmul, conv, pooling ----
  matmul(a: Buf, b: Buf, out: Buf, params: MatMulParams): void {
    this.binding.matmul(this.h(a), this.h(b), this.h(out), this.pack('matmul', params));
  }
  conv(x: Buf, w: Buf, out: Buf, params: ConvParams): void {
    this.binding.conv(0, this.h(x), this.h(w), this.h(out), this.pack('conv', params));
  }
  convBackwardData(dy: Buf, w: Buf, dx: Buf, params: ConvParams): void {
    this.binding.conv(1, this.h(dy), this.h(w), this.h(dx), this.pack('conv', params));
  }
  convBackwardFilter(x: Buf, dy: Buf, dw: Buf, params: ConvParams): void {
    this.binding.conv(2, this.h(x), this.h(dy), this.h(dw), this.pack('conv', params));
  }
  maxPool(x: Buf, out: Buf, argmax: Buf | null, window: PoolParams): void {
    this.binding.maxPool(this.h(x), this.h(out), argmax ? this.h(argmax) : -1, this.pack('pool', window));
  }
  maxPoolBackward(dy: Buf, argmax: Buf, dx: Buf, window: PoolParams): void {
    this.binding.maxPoolBackward(this.h(dy), this.h(argmax), this.h(dx), this.pack('pool', window));
  }
  avgPool(x: Buf, out: Buf, window: PoolParams): void {
    this.binding.avgPool(this.h(x), this.h(out), this.pack('pool', window));
  }
  avgPoolBackward(dy: Buf, dx: Buf, window: PoolParams): void {
    this.binding.avgPoolBackward(this.h(dy), this.h(dx), this.pack('pool', window));
  }

  // ---- TBN tile ----
  tileForward(w: Buf, a: Buf | null, out: Buf, alpha: Buf, signs: Buf, params: TileParams): void {
    this.binding.tileForward(this.h(w), a ? this.h(a) : -1, this.h(out), this.h(alpha), this.h(signs), this.pack('tile', params));
  }
  tileBackward(gy: Buf, a: Buf, alpha: Buf, signs: Buf, dw: Buf, da: Buf | null, params: TileParams): void {
    this.binding.tileBackward(this.h(gy), this.h(a), this.h(alpha), this.h(signs), this.h(dw), da ? this.h(da) : -1, this.pack('tile', params));
  }
}
