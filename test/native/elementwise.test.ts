// Native element-wise kernels against the JS reference backend: every unary and binary op on
// random shapes (odd sizes, rank 0 to 4) with NumPy broadcasting, on float32 data (normal and
// special values: NaN, ±Inf, ±0, halves), int64 and bool data; where, cast between every pair
// of types, strided copies (transposes, negative steps, accumulation) and fill/read/write.
import { describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '../../src/engine/backend.js';
import type { DType } from '../../src/engine/dtype.js';
import { broadcastOf, contiguousStrides } from '../../src/engine/shape.js';
import { Rng } from '../../src/util/random.js';
import { broadcastable, expectParity, nativeBackend, nativeReason, numel, onBoth, randomData, randomShape, skipNative } from './helpers.js';

const UNARY: [UnaryOp, 'normal' | 'positive' | 'unit', number[]?][] = [
  ['identity', 'normal'], ['neg', 'normal'], ['abs', 'normal'], ['exp', 'normal'], ['log', 'positive'], ['sqrt', 'positive'],
  ['rsqrt', 'positive'], ['reciprocal', 'positive'], ['square', 'normal'], ['relu', 'normal'], ['sigmoid', 'normal'], ['tanh', 'normal'],
  ['erf', 'normal'], ['sin', 'normal'], ['cos', 'normal'], ['tan', 'unit'], ['floor', 'normal'], ['ceil', 'normal'], ['round', 'normal'],
  ['asin', 'unit'], ['acos', 'unit'], ['atan', 'normal'], ['sinh', 'normal'], ['cosh', 'normal'], ['asinh', 'normal'], ['acosh', 'positive'],
  ['atanh', 'unit'], ['sign', 'normal'], ['not', 'normal'], ['isnan', 'normal'], ['isinf', 'normal', [1, 0]], ['softplus', 'normal'],
  ['softsign', 'normal'], ['affine', 'normal', [1.5, -0.25]], ['powScalar', 'positive', [1.7]], ['powScalar', 'normal', [2]],
  ['clip', 'normal', [-0.5, 0.75]], ['leakyRelu', 'normal', [0.1]], ['elu', 'normal', [0.9]], ['selu', 'normal', [1.67, 1.05]],
  ['hardSigmoid', 'normal', [0.2, 0.5]], ['geluTanh', 'normal'],
];
const BOOL_OUT = new Set<UnaryOp>(['not', 'isnan', 'isinf']);

const BINARY: [BinaryOp, number[]?][] = [
  ['add'], ['sub'], ['mul'], ['div'], ['pow'], ['max'], ['min'], ['mod'], ['fmod'], ['atan2'], ['reluGrad'], ['leakyReluGrad', [0.1]],
  ['eluGrad', [0.9]], ['seluGrad', [1.67, 1.05]], ['sigmoidGrad'], ['tanhGrad'], ['erfGrad'], ['softplusGrad'], ['softsignGrad'],
  ['clipGrad', [-0.5, 0.75]], ['hardSigmoidGrad', [0.2, 0.5]], ['geluTanhGrad'], ['absGrad'],
];
const COMPARE: BinaryOp[] = ['equal', 'less', 'lessEqual', 'greater', 'greaterEqual', 'and', 'or', 'xor'];
const INT_OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'mod', 'fmod', 'pow', 'bitAnd', 'bitOr', 'bitXor', 'shiftRight'];

function unaryCase(op: UnaryOp, kind: 'normal' | 'positive' | 'unit' | 'special', params: number[] | undefined, seed: number, inType: DType = 'float32') {
  const rng = new Rng(seed);
  const shape = randomShape(rng, 4, 9);
  const x = randomData(rng, numel(shape), inType === 'float32' ? kind : inType === 'int64' ? 'int' : 'bool');
  const outType: DType = BOOL_OUT.has(op) ? 'bool' : inType;
  return onBoth((a) => {
    const out = a.buf(outType, numel(shape));
    a.b.unary(op, a.buf(inType, x), out, params);
    return [a.read(out)];
  });
}

function binaryCase(op: BinaryOp, params: number[] | undefined, seed: number, type: DType, outType: DType, kind: 'normal' | 'special' | 'int' | 'bool') {
  const rng = new Rng(seed);
  const shape = randomShape(rng, 4, 6);
  const [sa, sb] = rng.next() < 0.5 ? [shape, broadcastable(rng, shape)] : [broadcastable(rng, shape), shape];
  const bc = broadcastOf(sa, sb);
  const ints = kind === 'int' && ['bitAnd', 'bitOr', 'bitXor', 'shiftRight'].includes(op);
  const data = (n: number) => (ints ? Array.from({ length: n }, () => rng.int(2 ** 31)) : randomData(rng, n, kind));
  const xa = data(numel(sa));
  const xb = op === 'shiftRight' ? Array.from({ length: numel(sb) }, () => rng.int(40)) : data(numel(sb));
  return onBoth((a) => {
    const out = a.buf(outType, numel(bc.shape));
    a.b.binary(op, a.buf(type, xa), a.buf(type, xb), out, bc, params);
    return [a.read(out)];
  });
}

describe.skipIf(skipNative)(`native element-wise kernels match the JS backend${nativeReason}`, () => {
  for (const [op, kind, params] of UNARY) {
    it(`unary ${op}${params ? `(${params})` : ''}`, () => {
      for (let s = 0; s < 6; s++) expectParity(unaryCase(op, kind, params, 100 + s), 2e-6, 1e-6, `${op} seed ${s}`);
      for (let s = 0; s < 3; s++) expectParity(unaryCase(op, 'special', params, 200 + s), 2e-6, 1e-6, `${op} special ${s}`);
    });
  }

  it('unary ops on int64 and bool inputs', () => {
    for (const op of ['neg', 'abs', 'sign', 'not', 'isnan', 'identity', 'square', 'exp'] as UnaryOp[]) {
      expectParity(unaryCase(op, 'normal', undefined, 7, 'int64'), 1e-6, 0, `${op} int64`);
      expectParity(unaryCase(op, 'normal', undefined, 8, 'bool'), 1e-6, 0, `${op} bool`);
    }
  });

  for (const [op, params] of BINARY) {
    it(`binary ${op} with broadcasting`, () => {
      for (let s = 0; s < 8; s++) expectParity(binaryCase(op, params, 300 + s, 'float32', 'float32', 'normal'), 2e-6, 1e-6, `${op} seed ${s}`);
      for (let s = 0; s < 3; s++) expectParity(binaryCase(op, params, 400 + s, 'float32', 'float32', 'special'), 2e-6, 1e-6, `${op} special ${s}`);
    });
  }

  it('comparisons and logic give bool, on float32, int64 and bool operands', () => {
    for (const op of COMPARE) {
      for (let s = 0; s < 4; s++) {
        expectParity(binaryCase(op, undefined, 500 + s, 'float32', 'bool', 'special'), 0, 0, `${op} float32`);
        expectParity(binaryCase(op, undefined, 600 + s, 'int64', 'bool', 'int'), 0, 0, `${op} int64`);
        expectParity(binaryCase(op, undefined, 700 + s, 'bool', 'bool', 'bool'), 0, 0, `${op} bool`);
      }
    }
  });

  it('int64 arithmetic (integer division truncates, ÷0 → 0) and bit operations', () => {
    // pow past 2^53 is inexact in both (libm against V8's fdlibm): an ulp apart at most.
    for (const op of INT_OPS) for (let s = 0; s < 5; s++) expectParity(binaryCase(op, undefined, 800 + s, 'int64', 'int64', 'int'), op === 'pow' ? 1e-15 : 0, 0, `${op} int64`);
  });

  it('where over broadcast condition and branches of each type', () => {
    for (const type of ['float32', 'int64', 'bool'] as DType[]) {
      for (let s = 0; s < 8; s++) {
        const rng = new Rng(900 + s);
        const shape = randomShape(rng, 4, 6);
        const [sc, sa, sb] = [broadcastable(rng, shape), broadcastable(rng, shape), shape];
        const bc = broadcastOf(sc, sa, sb);
        const c = randomData(rng, numel(sc), 'bool');
        const kind = type === 'float32' ? 'special' : type === 'int64' ? 'int' : 'bool';
        const xa = randomData(rng, numel(sa), kind);
        const xb = randomData(rng, numel(sb), kind);
        expectParity(onBoth((a) => {
          const out = a.buf(type, numel(bc.shape));
          a.b.where(a.buf('bool', c), a.buf(type, xa), a.buf(type, xb), out, bc);
          return [a.read(out)];
        }), 0, 0, `where ${type}`);
      }
    }
  });

  it('cast between every pair of types (truncation, NaN and ±Inf)', () => {
    const types: DType[] = ['float32', 'int64', 'bool'];
    for (const from of types) {
      for (const to of types) {
        const rng = new Rng(1000);
        const x = randomData(rng, 257, from === 'float32' ? 'special' : from === 'int64' ? 'int' : 'bool');
        expectParity(onBoth((a) => {
          const out = a.buf(to, x.length);
          a.b.cast(a.buf(from, x), out);
          return [a.read(out)];
        }), 0, 0, `cast ${from} → ${to}`);
      }
    }
  });

  it('copy through views: transposes, slices with negative steps, broadcasts, accumulation', () => {
    for (let s = 0; s < 30; s++) {
      const rng = new Rng(1100 + s);
      const src = Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(6));
      const perm = src.map((_, i) => i).sort(() => rng.next() - 0.5);
      const st = contiguousStrides(src);
      // A window of src (possibly reversed along some axes), permuted.
      const size = src.map((d) => 1 + rng.int(d));
      const step = src.map(() => (rng.next() < 0.3 ? -1 : 1));
      const start = src.map((d, i) => (step[i]! < 0 ? d - 1 : rng.int(d - size[i]! + 1)));
      const view = { offset: start.reduce((o, v, i) => o + v * st[i]!, 0), strides: perm.map((p) => step[p]! * st[p]!) };
      const shape = perm.map((p) => size[p]!);
      const acc = rng.next() < 0.5;
      const type: DType = (['float32', 'int64', 'bool'] as const)[rng.int(3)];
      const x = randomData(rng, numel(src), type === 'float32' ? 'normal' : type === 'int64' ? 'int' : 'bool');
      const base = randomData(rng, numel(shape), type === 'float32' ? 'normal' : type === 'int64' ? 'int' : 'bool');
      expectParity(onBoth((a) => {
        const out = a.buf(type, base);
        a.b.copy(a.buf(type, x), view, out, { offset: 0, strides: contiguousStrides(shape) }, shape, acc);
        return [a.read(out)];
      }), 0, 0, `copy seed ${s}`);
    }
  });

  it('fill, write at an offset and read keep the typed-array store rules', () => {
    for (const type of ['float32', 'int64', 'bool'] as DType[]) {
      for (const value of [0, -0, 1.7, -3, 300, -1, NaN, Infinity, 1e40]) {
        expectParity(onBoth((a) => {
          const x = a.buf(type, 9, 0);
          a.b.fill(x, value);
          a.b.write(x, [2.5, -7, 1e40, NaN], 3);
          return [a.read(x)];
        }), 0, 0, `${type} fill ${value}`);
      }
    }
  });

  it('refuses writes past the end and buffers of another backend', () => {
    const b = nativeBackend();
    const x = b.alloc('float32', 4);
    expect(() => b.write(x, [1, 2, 3], 2)).toThrow(/write of 3 values at 2 into a buffer of 4/);
    b.free(x);
    expect(() => b.read(x)).toThrow(/after free/);
  });
});
