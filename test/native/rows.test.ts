// Native reductions, arg-reductions, softmax / log-softmax, layer norm, the per-channel affine
// of BatchNormalization (each with its backward pass), gather with its scatter-add adjoint, and the Adam / AdamW step, against the JS
// reference backend on random [outer, size, inner] splits (including empty and length-1 axes),
// NaN-carrying data, negative and repeated gather indices and every dtype reduce accepts.
import { describe, expect, it } from 'vitest';
import type { ReduceOp } from '../../src/engine/backend.js';
import type { DType } from '../../src/engine/dtype.js';
import { Rng } from '../../src/util/random.js';
import { expectParity, nativeBackend, nativeReason, onBoth, randomData, skipNative } from './helpers.js';

const split = (rng: Rng) => [rng.int(5), rng.next() < 0.1 ? 0 : 1 + rng.int(70), 1 + rng.int(6)].map((v, i) => (i === 0 ? 1 + v : v)) as [number, number, number];

describe.skipIf(skipNative)(`native row kernels match the JS backend${nativeReason}`, () => {
  it('reduce sum / max / min / prod over float32, int64 and bool', () => {
    for (let s = 0; s < 40; s++) {
      const rng = new Rng(5000 + s);
      const [outer, size, inner] = split(rng);
      const op = (['sum', 'max', 'min', 'prod'] as ReduceOp[])[s % 4]!;
      const type = (['float32', 'float32', 'int64', 'bool'] as DType[])[rng.int(4)]!;
      const x = randomData(rng, outer * size * inner, type === 'float32' ? (rng.next() < 0.3 ? 'special' : 'normal') : type === 'int64' ? 'int' : 'bool');
      expectParity(onBoth((a) => {
        const out = a.buf(type, outer * inner);
        a.b.reduce(op, a.buf(type, x), out, outer, size, inner);
        return [a.read(out)];
      }), op === 'prod' ? 1e-5 : 2e-6, 1e-6, `reduce ${op} ${type} [${outer},${size},${inner}]`);
    }
  });

  it('long rows reduce in float64 (no float32 drift)', () => {
    const x = new Float32Array(1 << 20).fill(0.1);
    expectParity(onBoth((a) => {
      const out = a.buf('float32', 1);
      a.b.reduce('sum', a.buf('float32', x), out, 1, x.length, 1);
      return [a.read(out)];
    }), 1e-7, 0, 'sum of 2^20 × 0.1');
  });

  it('argMax / argMin with ties (first or last) and NaN', () => {
    for (let s = 0; s < 30; s++) {
      const rng = new Rng(5100 + s);
      const [outer, size, inner] = split(rng);
      if (size === 0) continue;
      const x = randomData(rng, outer * size * inner, 'int').map((v) => (rng.next() < 0.05 ? NaN : v % 3));
      expectParity(onBoth((a) => {
        const out = a.buf('int64', outer * inner);
        a.b.argReduce(s % 2 ? 'max' : 'min', a.buf('float32', x), out, outer, size, inner, s % 4 < 2);
        return [a.read(out)];
      }), 0, 0, `argReduce seed ${s}`);
    }
  });

  it('softmax and log-softmax, forward and backward', () => {
    for (let s = 0; s < 30; s++) {
      const rng = new Rng(5200 + s);
      const [outer, size, inner] = split(rng);
      const n = outer * size * inner;
      const x = randomData(rng, n).map((v) => v * 4);
      const dy = randomData(rng, n);
      const log = s % 2 === 0;
      expectParity(onBoth((a) => {
        const y = a.buf('float32', n);
        const dx = a.buf('float32', n);
        a.b.softmax(a.buf('float32', x), y, outer, size, inner, log);
        a.b.softmaxBackward(y, a.buf('float32', dy), dx, outer, size, inner, log);
        return [a.read(y), a.read(dx)];
      }), 2e-6, 1e-6, `softmax seed ${s}`);
    }
  });

  it('layer norm forward and backward', () => {
    for (let s = 0; s < 30; s++) {
      const rng = new Rng(5300 + s);
      const rows = 1 + rng.int(20);
      const cols = 1 + rng.int(200);
      const x = randomData(rng, rows * cols).map((v) => v * 3 + 1);
      const dy = randomData(rng, rows * cols);
      expectParity(onBoth((a) => {
        const xh = a.buf('float32', rows * cols);
        const inv = a.buf('float32', rows);
        const dx = a.buf('float32', rows * cols);
        a.b.layerNorm(a.buf('float32', x), xh, inv, rows, cols, 1e-5);
        a.b.layerNormBackward(xh, inv, a.buf('float32', dy), dx, rows, cols);
        return [a.read(xh), a.read(inv), a.read(dx)];
      }), 1e-5, 1e-5, `layerNorm seed ${s}`);
    }
  });

  it('per-channel affine (BatchNormalization, with and without the fused ReLU), forward and backward', () => {
    for (let s = 0; s < 30; s++) {
      const rng = new Rng(5350 + s);
      const [outer, channels, inner] = [rng.int(4), 1 + rng.int(20), rng.next() < 0.1 ? 0 : 1 + rng.int(300)];
      const n = outer * channels * inner;
      const [x, dy, scale, shift] = [randomData(rng, n), randomData(rng, n), randomData(rng, channels), randomData(rng, channels)];
      const relu = s % 2 === 0;
      const wanted = s % 3; // 0: all three gradients, 1: dx only, 2: parameter gradients only
      expectParity(onBoth((a) => {
        const [bx, bs, bb] = [a.buf('float32', x), a.buf('float32', scale), a.buf('float32', shift)];
        const y = a.buf('float32', n);
        const dx = a.buf('float32', n);
        const [ds, db] = [a.buf('float32', channels), a.buf('float32', channels)];
        a.b.channelAffine(bx, bs, bb, y, outer, channels, inner, relu);
        a.b.channelAffineBackward(bx, bs, bb, a.buf('float32', dy), wanted === 2 ? null : dx, wanted === 1 ? null : ds, wanted === 1 ? null : db, outer, channels, inner, relu);
        return [a.read(y), a.read(dx), a.read(ds), a.read(db)];
      }), 1e-5, 1e-5, `channelAffine seed ${s} relu ${relu}`);
    }
  });

  it('gather (any dtype, negative indices) and its scatter-add with repeated indices', () => {
    for (let s = 0; s < 30; s++) {
      const rng = new Rng(5400 + s);
      const [outer, len, inner] = [1 + rng.int(4), 1 + rng.int(9), 1 + rng.int(300)];
      const k = rng.int(12);
      const idx = Array.from({ length: k }, () => rng.int(2 * len) - len);
      const type = (['float32', 'int64', 'bool'] as DType[])[rng.int(3)]!;
      const table = randomData(rng, outer * len * inner, type === 'float32' ? 'normal' : type === 'int64' ? 'int' : 'bool');
      const dy = randomData(rng, outer * k * inner);
      expectParity(onBoth((a) => {
        const ix = a.buf('int64', idx);
        const out = a.buf(type, outer * k * inner);
        const dt = a.buf('float32', outer * len * inner, 0);
        a.b.gather(a.buf(type, table), ix, out, outer, len, inner);
        a.b.gatherBackward(a.buf('float32', dy), ix, dt, outer, len, inner);
        return [a.read(out), a.read(dt)];
      }), 1e-6, 1e-6, `gather seed ${s}`);
    }
  });

  it('gather refuses out-of-range indices with the JS message', () => {
    const b = nativeBackend();
    const t = b.alloc('float32', 6);
    const i = b.alloc('int64', 2);
    const o = b.alloc('float32', 4);
    b.write(i, [1, 3]);
    expect(() => b.gather(t, i, o, 1, 3, 2)).toThrow(/gather index 3 out of range for an axis of 3/);
    for (const x of [t, i, o]) b.free(x);
  });

  it('Adam and AdamW steps', () => {
    for (let s = 0; s < 8; s++) {
      const rng = new Rng(5500 + s);
      const n = 1 + rng.int(5000);
      const [w, g, m, v] = [randomData(rng, n), randomData(rng, n), randomData(rng, n).map((x) => x * 0.1), randomData(rng, n, 'positive').map((x) => x * 0.01)];
      const p = { lr: 1e-3 * (1 + s), beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 + s * 7, weightDecay: s % 3 === 0 ? 0 : 0.01, decoupled: s % 2 === 0 };
      expectParity(onBoth((a) => {
        const [bw, bm, bv] = [a.buf('float32', w), a.buf('float32', m), a.buf('float32', v)];
        a.b.adam(bw, a.buf('float32', g), bm, bv, p);
        return [a.read(bw), a.read(bm), a.read(bv)];
      }), 1e-6, 1e-6, `adam seed ${s}`);
    }
  });
});
