// The native kernels trust nothing the JS side says about sizes: every geometry that would
// reach outside a buffer, every malformed geometry array, stale handle or wrong dtype must be
// refused with an error before any memory is touched (these calls bypass the ops layer, which
// would normally have checked the shapes).
import { afterEach, describe, expect, it } from 'vitest';
import type { Buf } from '../../src/engine/backend.js';
import type { DType } from '../../src/engine/dtype.js';
import { nativeBackend, nativeReason, skipNative } from './helpers.js';

describe.skipIf(skipNative)(`native kernels validate every size they are given${nativeReason}`, () => {
  const live: Buf[] = [];
  const buf = (dtype: DType, n: number) => {
    const b = nativeBackend().alloc(dtype, n);
    nativeBackend().fill(b, 1);
    live.push(b);
    return b;
  };
  afterEach(() => {
    for (const b of live.splice(0)) nativeBackend().free(b);
  });

  it('refuses stale, foreign and malformed handles', () => {
    const b = nativeBackend();
    const x = b.alloc('float32', 4);
    b.free(x);
    expect(() => b.free(x)).toThrow(/freed twice/);
    expect(() => b.binding.free(12345.5)).toThrow(/not a live buffer/);
    expect(() => b.binding.read(-3)).toThrow(/after free|not a buffer/);
    expect(() => b.binding.alloc(0, -1)).toThrow(/invalid buffer size/);
    expect(() => b.binding.alloc(0, 2 ** 50)).toThrow(/invalid buffer size/);
    expect(() => b.binding.alloc(9, 4)).toThrow(/dtype/);
  });

  it('matmul: operands and output too small for m, n, k and the batch', () => {
    const b = nativeBackend();
    const [a, c, o] = [buf('float32', 6), buf('float32', 6), buf('float32', 4)];
    const p = { batch: [], aBatchStrides: [], bBatchStrides: [], m: 2, n: 2, k: 3, transA: false, transB: false };
    b.matmul(a, c, o, p);
    expect(() => b.matmul(a, c, o, { ...p, k: 4 })).toThrow(/matmul: A view/);
    expect(() => b.matmul(a, c, o, { ...p, m: 3, k: 2 })).toThrow(/matmul: output/);
    expect(() => b.matmul(a, c, o, { ...p, batch: [2], aBatchStrides: [6], bBatchStrides: [0] })).toThrow(/matmul: A view/);
    expect(() => b.matmul(a, c, o, { ...p, m: -1 })).toThrow(/negative|matmul/);
    expect(() => b.matmul(a, buf('int64', 6), o, p)).toThrow(/float32/);
  });

  it('conv: every buffer checked against the geometry; strides and dilations ≥ 1', () => {
    const b = nativeBackend();
    const p = { batch: 1, inChannels: 2, outChannels: 3, group: 1, inShape: [4, 4], kernel: [3, 3], outShape: [2, 2], strides: [1, 1], padsBegin: [0, 0], dilations: [1, 1] };
    const [x, w, y] = [buf('float32', 32), buf('float32', 54), buf('float32', 12)];
    b.conv(x, w, y, p);
    expect(() => b.conv(x, w, y, { ...p, batch: 2 })).toThrow(/conv: input buffer has 32 elements, 64 needed/);
    expect(() => b.conv(x, w, y, { ...p, outChannels: 4 })).toThrow(/conv: weight/);
    expect(() => b.convBackwardData(y, w, x, { ...p, inShape: [5, 4] })).toThrow(/input gradient/);
    expect(() => b.convBackwardFilter(x, y, w, { ...p, outShape: [3, 3] })).toThrow(/output gradient/);
    expect(() => b.conv(x, w, y, { ...p, strides: [0, 1] })).toThrow(/strides/);
    expect(() => b.conv(x, w, y, { ...p, group: 4 })).toThrow(/group/);
    expect(() => b.conv(x, w, y, { ...p, inShape: [4, 4, 4, 4], kernel: [1, 1, 1, 1], outShape: [1, 1, 1, 1], strides: [1, 1, 1, 1], padsBegin: [0, 0, 0, 0], dilations: [1, 1, 1, 1] })).toThrow(/rank|spatial/);
  });

  it('element-wise views and broadcasts stay inside their buffers', () => {
    const b = nativeBackend();
    const [a, o] = [buf('float32', 6), buf('float32', 6)];
    expect(() => b.binary('add', a, a, o, { shape: [2, 4], strides: [[4, 1], [4, 1]] })).toThrow(/binary: first input view/);
    expect(() => b.binary('add', a, a, o, { shape: [7], strides: [[0], [0]] })).toThrow(/binary: output/);
    expect(() => b.copy(a, { offset: 0, strides: [-1] }, o, { offset: 0, strides: [1] }, [2])).toThrow(/copy: source view \[-1, 0\]/);
    expect(() => b.copy(a, { offset: 5, strides: [1] }, o, { offset: 0, strides: [1] }, [2])).toThrow(/copy: source view/);
    expect(() => b.copy(a, { offset: 0, strides: [1] }, buf('int64', 6), { offset: 0, strides: [1] }, [2])).toThrow(/different types/);
    expect(() => b.where(buf('float32', 6), a, a, o, { shape: [6], strides: [[1], [1], [1]] })).toThrow(/bool/);
    expect(() => b.unary('exp', buf('float32', 2), o)).toThrow(/unary: input buffer has 2 elements, 6 needed/);
  });

  it('reductions, rows, gather, pooling and Adam check their extents', () => {
    const b = nativeBackend();
    const [x, o] = [buf('float32', 12), buf('float32', 4)];
    expect(() => b.reduce('sum', x, o, 2, 4, 2)).toThrow(/reduce: input buffer has 12 elements, 16 needed/);
    expect(() => b.reduce('sum', x, o, 3, 2, 2)).toThrow(/reduce: output/);
    expect(() => b.softmax(x, o, 1, 12, 1, false)).toThrow(/softmax/);
    expect(() => b.layerNorm(x, x, o, 6, 2, 1e-5)).toThrow(/invStd/);
    expect(() => b.gatherBackward(x, buf('int64', 2), o, 1, 6, 2)).toThrow(/gatherBackward: table gradient/);
    expect(() => b.adam(x, o, x, x, { lr: 1, beta1: 0.9, beta2: 0.9, eps: 1, step: 1, weightDecay: 0, decoupled: true })).toThrow(/adam: gradient/);
    const pool = { planes: 3, inShape: [4], kernel: [2], outShape: [2], strides: [2], padsBegin: [0], padsEnd: [0], dilations: [1], countIncludePad: false };
    expect(() => b.maxPool(x, buf('float32', 6), buf('int64', 6), { ...pool, planes: 4 })).toThrow(/maxPool: input/);
    expect(() => b.avgPool(x, buf('float32', 6), { ...pool, strides: [0] })).toThrow(/strides/);
    const idx = buf('int64', 6);
    b.write(idx, [0, 2, 4, 6, 8, 12]);
    expect(() => b.maxPoolBackward(buf('float32', 6), idx, x, pool)).toThrow(/maxPoolBackward: index out of range/);
  });

  it('malformed geometry arrays are refused by the binding', () => {
    const b = nativeBackend();
    const [x, o] = [buf('float32', 4), buf('float32', 4)];
    const h = (t: Buf) => (t as unknown as { handle: number }).handle;
    expect(() => b.binding.binary(0, h(x), h(x), h(o), Float64Array.of(1, 4, 1), 0, 0)).toThrow(/geometry too short/);
    expect(() => b.binding.binary(0, h(x), h(x), h(o), Float64Array.of(1, 4.5, 1, 1), 0, 0)).toThrow(/integers/);
    expect(() => b.binding.binary(0, h(x), h(x), h(o), Float64Array.of(99), 0, 0)).toThrow(/rank/);
    expect(() => b.binding.binary(999, h(x), h(x), h(o), Float64Array.of(1, 4, 1, 1), 0, 0)).toThrow(/unknown binary op/);
    expect(() => b.binding.conv(7, h(x), h(x), h(o), new Float64Array(32))).toThrow(/conv|pass/);
    expect(() => b.binding.matmul(h(x), h(x), h(o), new Float32Array(8) as unknown as Float64Array)).toThrow(/Float64Array/);
  });

  it('tile kernels check p, axis and every buffer', () => {
    const b = nativeBackend();
    const [w, out, al, sg] = [buf('float32', 12), buf('float32', 12), buf('float32', 4), buf('float32', 3)];
    const p = { rows: 3, cols: 4, p: 4, tileAxis: 0 as const, perLayer: false };
    b.tileForward(w, null, out, al, sg, p);
    expect(() => b.tileForward(w, null, out, al, sg, { ...p, p: 5 })).toThrow(/p does not divide/);
    expect(() => b.tileForward(w, null, out, al, sg, { ...p, p: 2 })).toThrow(/signs/);
    expect(() => b.tileForward(w, null, out, al, sg, { ...p, rows: 4 })).toThrow(/weight/);
    expect(() => b.tileBackward(out, w, al, sg, buf('float32', 11), null, p)).toThrow(/weight gradient/);
    expect(() => b.tileForward(w, null, out, al, sg, { ...p, tileAxis: 2 as 0 })).toThrow(/axis/);
  });
});
