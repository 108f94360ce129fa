// The plain TypeScript backend: the reference every other backend is checked against, and the
// fallback where no native build exists. Buffers are typed arrays (float32 → Float32Array,
// int64 → Float64Array, bool → Uint8Array); free() drops the array so a use after free fails
// loudly, and stats() counts live buffers so tests can prove that nothing leaks.

import type { AdamParams, Backend, BinaryOp, Broadcast, Buf, ConvParams, MatMulParams, PoolParams, ReduceOp, UnaryOp, View } from '../backend.js';
import { registerDefaultBackend } from '../backend.js';
import { bytesPer, type DType, type HostArray } from '../dtype.js';
import { convBackwardData, convBackwardFilter, convForward } from './js/conv.js';
import { binary, cast, copy, unary, where } from './js/elementwise.js';
import { gemm } from './js/gemm.js';
import { adam, argReduce, channelAffine, channelAffineBackward, gather, gatherBackward, layerNorm, layerNormBackward, reduce, softmax, softmaxBackward } from './js/misc.js';
import { avgPool, avgPoolBackward, maxPool, maxPoolBackward } from './js/pool.js';

class JsBuf implements Buf {
  constructor(
    readonly dtype: DType,
    readonly size: number,
    public data: HostArray | null,
  ) {}
}

function arr(b: Buf): HostArray {
  const d = (b as JsBuf).data;
  if (!d) throw new Error('JS backend: buffer used after free');
  return d;
}
const f32 = (b: Buf) => arr(b) as Float32Array;

/**
 * V8 keeps typed arrays of ≤ 64 bytes on the JS heap, with another hidden class than larger
 * ones; kernels that see both become polymorphic and run about 2× slower everywhere. Backing
 * every buffer with its own ArrayBuffer keeps one class per element type.
 */
function offHeap(dtype: DType, size: number): HostArray {
  const buf = new ArrayBuffer(size * bytesPer(dtype));
  return dtype === 'float32' ? new Float32Array(buf) : dtype === 'int64' ? new Float64Array(buf) : new Uint8Array(buf);
}
const i64 = (b: Buf) => arr(b) as Float64Array;

export class JsBackend implements Backend {
  readonly name = 'js';
  private live = 0;
  private bytes = 0;

  alloc(dtype: DType, size: number): Buf {
    this.live++;
    this.bytes += size * bytesPer(dtype);
    return new JsBuf(dtype, size, offHeap(dtype, size));
  }
  free(buf: Buf): void {
    const b = buf as JsBuf;
    if (!b.data) throw new Error('JS backend: buffer freed twice');
    b.data = null;
    this.live--;
    this.bytes -= b.size * bytesPer(b.dtype);
  }
  write(buf: Buf, data: ArrayLike<number>, offset = 0): void {
    const a = arr(buf);
    if (data.length + offset > a.length) throw new Error(`write of ${data.length} values at ${offset} into a buffer of ${a.length}`);
    if (ArrayBuffer.isView(data)) a.set(data as unknown as ArrayLike<number>, offset);
    else for (let i = 0; i < data.length; i++) a[offset + i] = data[i]!;
  }
  read(buf: Buf): HostArray {
    return arr(buf).slice();
  }
  fill(buf: Buf, value: number): void {
    arr(buf).fill(value);
  }
  stats() {
    return { buffers: this.live, bytes: this.bytes };
  }

  unary(op: UnaryOp, x: Buf, out: Buf, params?: readonly number[]): void {
    unary(op, arr(x), arr(out), params);
  }
  binary(op: BinaryOp, a: Buf, b: Buf, out: Buf, bc: Broadcast, params?: readonly number[]): void {
    binary(op, arr(a), arr(b), arr(out), bc, params);
  }
  where(cond: Buf, a: Buf, b: Buf, out: Buf, bc: Broadcast): void {
    where(arr(cond), arr(a), arr(b), arr(out), bc);
  }
  cast(x: Buf, out: Buf): void {
    cast(arr(x), arr(out));
  }
  copy(src: Buf, sv: View, dst: Buf, dv: View, shape: readonly number[], accumulate = false): void {
    copy(arr(src), sv.offset, sv.strides, arr(dst), dv.offset, dv.strides, shape, accumulate);
  }
  reduce(op: ReduceOp, x: Buf, out: Buf, outer: number, size: number, inner: number): void {
    reduce(op, arr(x), arr(out), outer, size, inner);
  }
  argReduce(op: 'max' | 'min', x: Buf, out: Buf, outer: number, size: number, inner: number, selectLast: boolean): void {
    argReduce(op, arr(x), arr(out), outer, size, inner, selectLast);
  }

  matmul(a: Buf, b: Buf, out: Buf, p: MatMulParams): void {
    const A = f32(a);
    const B = f32(b);
    const C = f32(out);
    const { m, n, k } = p;
    const batches = p.batch.reduce((x, y) => x * y, 1);
    const idx = new Array<number>(p.batch.length).fill(0);
    let ao = 0;
    let bo = 0;
    for (let t = 0; t < batches; t++) {
      gemm({
        A, aOff: ao, aRow: p.transA ? 1 : k, aCol: p.transA ? m : 1,
        B, bOff: bo, bT: p.transB,
        C, cOff: t * m * n, m, n, k, acc: false,
      });
      for (let d = p.batch.length - 1; d >= 0; d--) {
        ao += p.aBatchStrides[d]!;
        bo += p.bBatchStrides[d]!;
        if (++idx[d]! < p.batch[d]!) break;
        ao -= p.aBatchStrides[d]! * p.batch[d]!;
        bo -= p.bBatchStrides[d]! * p.batch[d]!;
        idx[d] = 0;
      }
    }
  }

  conv(x: Buf, w: Buf, out: Buf, p: ConvParams): void {
    convForward(f32(x), f32(w), f32(out), p);
  }
  convBackwardData(dy: Buf, w: Buf, dx: Buf, p: ConvParams): void {
    convBackwardData(f32(dy), f32(w), f32(dx), p);
  }
  convBackwardFilter(x: Buf, dy: Buf, dw: Buf, p: ConvParams): void {
    convBackwardFilter(f32(x), f32(dy), f32(dw), p);
  }

  maxPool(x: Buf, out: Buf, argmax: Buf | null, p: PoolParams): void {
    maxPool(f32(x), f32(out), argmax ? i64(argmax) : null, p);
  }
  maxPoolBackward(dy: Buf, argmax: Buf, dx: Buf): void {
    maxPoolBackward(f32(dy), i64(argmax), f32(dx));
  }
  avgPool(x: Buf, out: Buf, p: PoolParams): void {
    avgPool(f32(x), f32(out), p);
  }
  avgPoolBackward(dy: Buf, dx: Buf, p: PoolParams): void {
    avgPoolBackward(f32(dy), f32(dx), p);
  }

  softmax(x: Buf, out: Buf, outer: number, size: number, inner: number, log: boolean): void {
    softmax(f32(x), f32(out), outer, size, inner, log);
  }
  softmaxBackward(y: Buf, dy: Buf, dx: Buf, outer: number, size: number, inner: number, log: boolean): void {
    softmaxBackward(f32(y), f32(dy), f32(dx), outer, size, inner, log);
  }
  layerNorm(x: Buf, out: Buf, invStd: Buf, rows: number, cols: number, eps: number): void {
    layerNorm(f32(x), f32(out), f32(invStd), rows, cols, eps);
  }
  layerNormBackward(xhat: Buf, invStd: Buf, dy: Buf, dx: Buf, rows: number, cols: number): void {
    layerNormBackward(f32(xhat), f32(invStd), f32(dy), f32(dx), rows, cols);
  }
  channelAffine(x: Buf, scale: Buf, shift: Buf, out: Buf, outer: number, channels: number, inner: number, relu: boolean): void {
    channelAffine(f32(x), f32(scale), f32(shift), f32(out), outer, channels, inner, relu);
  }
  channelAffineBackward(x: Buf, scale: Buf, shift: Buf, dy: Buf, dx: Buf | null, dScale: Buf | null, dShift: Buf | null, outer: number, channels: number, inner: number, relu: boolean): void {
    channelAffineBackward(f32(x), f32(scale), f32(shift), f32(dy), dx && f32(dx), dScale && f32(dScale), dShift && f32(dShift), outer, channels, inner, relu);
  }
  gather(table: Buf, idx: Buf, out: Buf, outer: number, axisLen: number, inner: number): void {
    gather(arr(table), i64(idx), arr(out), outer, axisLen, inner);
  }
  gatherBackward(dy: Buf, idx: Buf, dTable: Buf, outer: number, axisLen: number, inner: number): void {
    gatherBackward(f32(dy), i64(idx), f32(dTable), outer, axisLen, inner);
  }
  adam(param: Buf, grad: Buf, m: Buf, v: Buf, p: AdamParams): void {
    adam(f32(param), f32(grad), f32(m), f32(v), p);
  }
}

registerDefaultBackend(() => new JsBackend());
