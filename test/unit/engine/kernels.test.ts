// Forward results of the JS backend's kernels against naive reference loops (float64), on
// shapes that hit the blocked and remainder paths: matrix products with transposes and
// broadcast batches, convolutions, transposed convolutions and pooling; plus int64 and bool
// semantics, erf accuracy and softmax stability.

import { describe, expect, it } from 'vitest';
import * as E from '../../../src/engine/index.js';
import { Rng } from '../../../src/util/random.js';
import { randomData } from './gradcheck.js';

const rng = new Rng(17);
const rand = (shape: number[]) => E.tensor(randomData(shape, rng), shape);
const A = (t: E.Tensor) => Array.from(t.toArray());

function naiveMatmul(a: number[], b: number[], m: number, n: number, k: number): number[] {
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) out[i * n + j] += a[i * k + p]! * b[p * n + j]!;
  return out;
}

describe('matrix products', () => {
  for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [17, 9, 300], [2, 130, 513]]) {
    it(`[${m}×${k}]·[${k}×${n}] in all four transpose forms`, () => {
      const a = rand([m, k]);
      const b = rand([k, n]);
      const want = naiveMatmul(A(a), A(b), m, n, k);
      const at = E.transpose(a);
      const bt = E.transpose(b);
      for (const [x, y, ta, tb] of [[a, b, false, false], [at, b, true, false], [a, bt, false, true], [at, bt, true, true]] as const) {
        expect(A(E.mm(x, y, ta, tb))).toBeAllclose(want, { atol: 1e-4, rtol: 1e-5 });
      }
    });
  }
  it('broadcasts batch dimensions', () => {
    const a = rand([2, 1, 3, 4]);
    const b = rand([3, 4, 5]);
    const y = E.matmul(a, b);
    expect(y.shape).toEqual([2, 3, 3, 5]);
    const [av, bv, yv] = [A(a), A(b), A(y)];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const want = naiveMatmul(av.slice(i * 12, i * 12 + 12), bv.slice(j * 20, j * 20 + 20), 3, 5, 4);
        expect(yv.slice((i * 3 + j) * 15, (i * 3 + j + 1) * 15)).toBeAllclose(want, { atol: 1e-5 });
      }
    }
  });
});

function naiveConv(x: number[], xs: number[], w: number[], ws: number[], o: Required<E.ConvOptions>): { y: number[]; shape: number[] } {
  const [N, C, H, W] = xs as [number, number, number, number];
  const [M, Cg, KH, KW] = ws as [number, number, number, number];
  const [sh, sw] = o.strides as [number, number];
  const [dh, dw] = o.dilations as [number, number];
  const [pt, pl, pb, pr] = o.pads as [number, number, number, number];
  const OH = Math.floor((H + pt + pb - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + pl + pr - dw * (KW - 1) - 1) / sw) + 1;
  const y = new Array<number>(N * M * OH * OW).fill(0);
  const og = M / o.group;
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const g = Math.floor(m / og);
    let s = 0;
    for (let c = 0; c < Cg; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * sh - pt + kh * dh;
      const iw = ow * sw - pl + kw * dw;
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) s += x[((n * C + g * Cg + c) * H + ih) * W + iw]! * w[((m * Cg + c) * KH + kh) * KW + kw]!;
    }
    y[((n * M + m) * OH + oh) * OW + ow] = s;
  }
  return { y, shape: [N, M, OH, OW] };
}

describe('convolution', () => {
  const cases: [number[], number[], Required<E.ConvOptions>][] = [
    [[2, 3, 7, 6], [4, 3, 3, 3], { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 }],
    [[1, 4, 9, 8], [6, 2, 3, 2], { strides: [2, 3], pads: [0, 2, 1, 0], dilations: [2, 1], group: 2 }],
    [[3, 5, 6, 6], [5, 1, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 5 }],
    [[2, 3, 4, 5], [7, 3, 1, 1], { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 }],
  ];
  for (const [xs, ws, o] of cases) {
    it(`x [${xs}], w [${ws}], ${JSON.stringify(o)}`, () => {
      const x = rand(xs);
      const w = rand(ws);
      const want = naiveConv(A(x), xs, A(w), ws, o);
      const y = E.conv(x, w, undefined, o);
      expect(y.shape).toEqual(want.shape);
      expect(A(y)).toBeAllclose(want.y, { atol: 1e-4 });
    });
  }
  it('1-D convolution equals 2-D with a height of 1', () => {
    const x = rand([2, 3, 11]);
    const w = rand([4, 3, 3]);
    const y1 = E.conv(x, w, undefined, { strides: [2], pads: [2, 1], dilations: [2] });
    const y2 = E.conv(E.reshape(x, [2, 3, 1, 11]), E.reshape(w, [4, 3, 1, 3]), undefined, { strides: [1, 2], pads: [0, 2, 0, 1], dilations: [1, 2] });
    expect(A(y1)).toBeAllclose(A(y2));
  });
  it('convTranspose is the adjoint of conv: <conv(x), y> = <x, convT(y)>', () => {
    const o = { strides: [2, 1], pads: [1, 0, 0, 1], dilations: [1, 2], group: 2 };
    const x = rand([2, 4, 7, 6]);
    const w = rand([6, 2, 3, 2]);
    const y = E.conv(x, w, undefined, o);
    const z = rand([...y.shape]);
    const outputPadding = [x.shape[2]! - E.convTranspose(z, w, undefined, o).shape[2]!, x.shape[3]! - E.convTranspose(z, w, undefined, o).shape[3]!];
    const xt = E.convTranspose(z, w, undefined, { ...o, outputPadding });
    expect(xt.shape).toEqual(x.shape);
    const dot = (p: E.Tensor, q: E.Tensor) => A(p).reduce((s, v, i) => s + v * A(q)[i]!, 0);
    expect(dot(y, z)).toBeCloseTo(dot(x, xt), 3);
  });
});

describe('pooling', () => {
  it('max and average pooling against direct windows', () => {
    const x = rand([1, 2, 5, 5]);
    const xv = A(x);
    const mp = A(E.maxPool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }).y);
    const ap = A(E.avgPool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }));
    const api = A(E.avgPool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], countIncludePad: true }));
    let k = 0;
    for (let c = 0; c < 2; c++) for (let oh = 0; oh < 3; oh++) for (let ow = 0; ow < 3; ow++, k++) {
      const vals: number[] = [];
      for (let i = oh * 2 - 1; i < oh * 2 + 2; i++) for (let j = ow * 2 - 1; j < ow * 2 + 2; j++) if (i >= 0 && i < 5 && j >= 0 && j < 5) vals.push(xv[c * 25 + i * 5 + j]!);
      expect(mp[k]).toBeCloseTo(Math.max(...vals), 6);
      expect(ap[k]).toBeCloseTo(vals.reduce((p, q) => p + q) / vals.length, 5);
      expect(api[k]).toBeCloseTo(vals.reduce((p, q) => p + q) / 9, 5);
    }
  });
  it('ceil mode drops a window that would start in the end padding', () => {
    expect(E.poolOutSize(5, 2, 2, 0, 0, 1, true)).toBe(3);
    expect(E.poolOutSize(4, 2, 2, 0, 1, 1, true)).toBe(2);
  });
});

describe('element types and numerics', () => {
  it('int64 division truncates, mod follows the divisor, fmod the dividend', () => {
    const a = E.tensor([7, -7, 7, -7], [4], 'int64');
    const b = E.tensor([2, 2, -2, -2], [4], 'int64');
    expect(A(E.div(a, b))).toEqual([3, -3, -3, 3]);
    expect(A(E.mod(a, b))).toEqual([1, 1, -1, -1]);
    expect(A(E.mod(a, b, true))).toEqual([1, -1, 1, -1]);
  });
  it('casts truncate toward zero; anything non-zero is true', () => {
    expect(A(E.cast(E.tensor([1.7, -1.7, 0.2]), 'int64'))).toEqual([1, -1, 0]);
    expect(A(E.cast(E.tensor([0, -0.5, NaN]), 'bool'))).toEqual([0, 1, 1]);
    expect(A(E.logicalXor(E.tensor([1, 1, 0], [3], 'bool'), E.tensor([1, 0, 0], [3], 'bool')))).toEqual([0, 1, 0]);
  });
  it('erf to float32 precision', () => {
    const x = [0.1, 0.5, 1, 2, -3, 4.5];
    const want = [0.1124629160182849, 0.5204998778130465, 0.8427007929497149, 0.9953222650189527, -0.9999779095030014, 0.9999999998033839];
    expect(A(E.erf(E.tensor(x)))).toBeAllclose(want, { atol: 1e-7, rtol: 1e-7 });
  });
  it('softmax and log-softmax of huge logits stay finite', () => {
    const x = E.tensor([1000, 1001, 1002, -1000], [1, 4]);
    expect(A(E.softmax(x))).toBeAllclose([0.09003057, 0.24472847, 0.66524096, 0], { atol: 1e-7 });
    expect(A(E.logSoftmax(x)).slice(0, 3)).toBeAllclose([-2.40760596, -1.40760596, -0.40760596], { atol: 1e-5 });
  });
  it('layerNorm normalises each row to mean 0 and variance 1', () => {
    const y = A(E.layerNorm(rand([3, 50]), undefined, undefined, -1, 0));
    for (let r = 0; r < 3; r++) {
      const row = y.slice(r * 50, r * 50 + 50);
      const mean = row.reduce((p, q) => p + q) / 50;
      expect(mean).toBeCloseTo(0, 5);
      expect(row.reduce((p, q) => p + (q - mean) ** 2, 0) / 50).toBeCloseTo(1, 4);
    }
  });
});
