// Every differentiable engine op against central finite differences (see gradcheck.ts for why
// the float32 tolerances are sound), on small shapes that exercise broadcasting, odd strides,
// asymmetric pads, dilations and groups.

import { describe, it } from 'vitest';
import * as E from '../../../src/engine/index.js';
import { Rng } from '../../../src/util/random.js';
import { distinctData, gradcheck } from './gradcheck.js';

const S = (shape: number[], extra: { margin?: number; positive?: boolean; data?: Float32Array } = {}) => ({ shape, ...extra });

describe('unary ops', () => {
  const smooth: [string, (x: E.Tensor) => E.Tensor][] = [
    ['neg', E.neg],
    ['exp', E.exp],
    ['sigmoid', E.sigmoid],
    ['tanh', E.tanh],
    ['erf', E.erf],
    ['softplus', E.softplus],
    ['softsign', (x) => E.softsign(x)],
    ['gelu (erf)', (x) => E.gelu(x)],
    ['gelu (tanh)', (x) => E.gelu(x, 'tanh')],
    ['sin', E.sin],
    ['cos', E.cos],
    ['affine', (x) => E.affine(x, -1.5, 0.25)],
    ['square', E.square],
    ['powScalar 3', (x) => E.powScalar(x, 3)],
    ['identity', E.identity],
  ];
  for (const [name, f] of smooth) it(name, () => gradcheck(f, [S([3, 4])]));

  const kinked: [string, (x: E.Tensor) => E.Tensor][] = [
    ['relu', E.relu],
    ['leakyRelu', (x) => E.leakyRelu(x, 0.1)],
    ['elu', (x) => E.elu(x, 0.7)],
    ['selu', (x) => E.selu(x)],
    ['abs', E.abs],
    ['hardSigmoid', (x) => E.hardSigmoid(x, 0.2, 0.5)],
    ['hardSwish', E.hardSwish],
    ['clip', (x) => E.clip(x, -0.5, 0.8)],
  ];
  // Kinks at 0 (and at the clip / hard-sigmoid corners): values spaced 0.1 apart, none on a corner.
  const rng = new Rng(3);
  const spaced = Float32Array.from(distinctData([4, 5], rng), (v) => v + 0.033);
  for (const [name, f] of kinked) it(name, () => gradcheck(f, [S([4, 5], { data: spaced })]));

  it('tan and the inverse / hyperbolic trigonometry', () => {
    const small = Float32Array.from({ length: 12 }, (_, i) => -0.8 + i * 0.14);
    gradcheck(E.tan, [S([3, 4], { data: small })]);
    for (const op of ['asin', 'acos', 'atan', 'sinh', 'cosh', 'asinh', 'atanh'] as const) gradcheck((x) => E.trig(op, x), [S([3, 4], { data: small })]);
    gradcheck((x) => E.trig('acosh', x), [S([3, 4], { data: Float32Array.from(small, (v) => 2 + v) })]);
  });
  it('log, sqrt, reciprocal (positive inputs)', () => {
    gradcheck(E.log, [S([3, 4], { positive: true })]);
    gradcheck(E.sqrt, [S([3, 4], { positive: true })]);
    gradcheck(E.reciprocal, [S([3, 4], { positive: true })]);
  });
});

describe('binary ops with broadcasting', () => {
  const pairs: [number[], number[]][] = [
    [[2, 3, 4], [2, 3, 4]],
    [[2, 3, 4], [3, 1]],
    [[1], [2, 3]],
    [[4], [2, 1, 4]],
    [[2, 1, 3], [1, 4, 1]],
  ];
  for (const [a, b] of pairs) {
    const tag = `[${a}] ⊕ [${b}]`;
    it(`add, sub, mul ${tag}`, () => {
      gradcheck(E.add, [S(a), S(b)]);
      gradcheck(E.sub, [S(a), S(b)]);
      gradcheck(E.mul, [S(a), S(b)]);
    });
    it(`div, pow ${tag}`, () => {
      gradcheck(E.div, [S(a), S(b, { margin: 0.5 })]);
      gradcheck(E.pow, [S(a, { positive: true }), S(b)]);
    });
    it(`maximum, minimum ${tag}`, () => {
      // One pool of distinct values shared by both operands, so no a-b pair ties under ±eps.
      const na = a.reduce((p, q) => p * q, 1);
      const pool = distinctData([na + b.reduce((p, q) => p * q, 1)], new Rng(5), 0.1);
      const [da, db] = [pool.slice(0, na), pool.slice(na)];
      gradcheck(E.maximum, [S(a, { data: da }), S(b, { data: db })]);
      gradcheck(E.minimum, [S(a, { data: da }), S(b, { data: db })]);
    });
  }
  it('where routes gradients by the condition (broadcast)', () => {
    const cond = E.tensor([1, 0, 1, 1, 0, 0], [2, 3], 'bool');
    gradcheck(E.where, [{ shape: [2, 3], constant: cond }, S([3]), S([2, 1])]);
    cond.dispose();
  });
});

describe('reductions', () => {
  const cases: [number[] | undefined, boolean][] = [
    [undefined, false],
    [[1], true],
    [[0, 2], false],
    [[-1], false],
    [[0, 1, 2], true],
  ];
  for (const [axes, keep] of cases) {
    const tag = `axes ${axes ? `[${axes}]` : 'all'} keepDims ${keep}`;
    it(`sum, mean, prod ${tag}`, () => {
      gradcheck((x) => E.sum(x, axes, keep), [S([2, 3, 4])]);
      gradcheck((x) => E.mean(x, axes, keep), [S([2, 3, 4])]);
      gradcheck((x) => E.prod(x, axes, keep), [S([2, 3, 4], { margin: 0.5 })]);
    });
    it(`max, min ${tag}`, () => {
      const data = distinctData([2, 3, 4], new Rng(9));
      gradcheck((x) => E.max(x, axes, keep), [S([2, 3, 4], { data })]);
      gradcheck((x) => E.min(x, axes, keep), [S([2, 3, 4], { data })]);
    });
  }
});

describe('matrix products', () => {
  it('matmul: batched, broadcast and 1-D operands', () => {
    gradcheck(E.matmul, [S([2, 3, 4]), S([4, 5])]);
    gradcheck(E.matmul, [S([2, 1, 3, 4]), S([3, 4, 2])]);
    gradcheck(E.matmul, [S([4]), S([2, 4, 3])]);
    gradcheck(E.matmul, [S([2, 3, 4]), S([4])]);
    gradcheck(E.matmul, [S([3]), S([3])]);
  });
  it('mm with transposed operands', () => {
    for (const [ta, tb] of [[true, false], [false, true], [true, true]] as const) {
      gradcheck((a, b) => E.mm(a, b, ta, tb), [S(ta ? [2, 4, 3] : [2, 3, 4]), S(tb ? [5, 4] : [4, 5])]);
    }
  });
  it('gemm with alpha, beta and a broadcast C', () => {
    gradcheck((a, b, c) => E.gemm(a, b, c, { alpha: 0.5, beta: -2, transB: true }), [S([3, 4]), S([5, 4]), S([5])]);
    gradcheck((a, b, c) => E.gemm(a, b, c, { transA: true }), [S([4, 3]), S([4, 2]), S([3, 1])]);
  });
});

describe('convolution', () => {
  const cases: [string, number[], number[], E.ConvOptions][] = [
    ['1-D, stride 2, pads [1, 2]', [2, 3, 9], [4, 3, 3], { strides: [2], pads: [1, 2] }],
    ['1-D dilated', [1, 2, 10], [3, 2, 3], { dilations: [3], pads: [2, 2] }],
    ['2-D, strides [2, 1], asymmetric pads', [2, 3, 6, 5], [4, 3, 3, 2], { strides: [2, 1], pads: [1, 0, 2, 1] }],
    ['2-D dilated [2, 1]', [1, 2, 7, 6], [3, 2, 3, 3], { dilations: [2, 1], pads: [1, 1, 1, 1] }],
    ['2-D groups 2', [2, 4, 5, 5], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] }],
    ['2-D depthwise, stride 2', [1, 3, 6, 6], [3, 1, 3, 3], { group: 3, strides: [2, 2], pads: [0, 1, 1, 0] }],
    ['2-D 1×1', [2, 3, 4, 4], [5, 3, 1, 1], {}],
    ['3-D', [1, 2, 4, 4, 3], [2, 2, 2, 3, 2], { strides: [1, 2, 1], pads: [1, 0, 1, 0, 1, 0] }],
  ];
  for (const [name, xs, ws, opts] of cases) {
    it(name, () => gradcheck((x, w, b) => E.conv(x, w, b, opts), [S(xs), S(ws), S([ws[0]!])]));
  }
  it('convTranspose: strides, pads, output padding, dilations, groups', () => {
    gradcheck((x, w, b) => E.convTranspose(x, w, b, { strides: [2, 2], pads: [1, 0, 0, 1], outputPadding: [1, 0] }), [S([2, 2, 3, 3]), S([2, 3, 3, 2]), S([3])]);
    gradcheck((x, w) => E.convTranspose(x, w, undefined, { group: 2, dilations: [2], strides: [3] }), [S([1, 4, 4]), S([4, 1, 3])]);
  });
});

describe('pooling', () => {
  const spaced = (shape: number[]) => S(shape, { data: distinctData(shape, new Rng(11), 0.07) });
  it('maxPool 2-D: strides, pads, dilations, ceil mode', () => {
    gradcheck((x) => E.maxPool(x, { kernel: [2, 2], strides: [2, 2] }).y, [spaced([2, 2, 5, 6])]);
    gradcheck((x) => E.maxPool(x, { kernel: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1], ceilMode: true }).y, [spaced([1, 2, 6, 5])]);
    gradcheck((x) => E.maxPool(x, { kernel: [2, 2], dilations: [2, 1] }).y, [spaced([1, 1, 6, 5])]);
  });
  it('maxPool 1-D', () => gradcheck((x) => E.maxPool(x, { kernel: [3], strides: [2], pads: [1, 1] }).y, [spaced([2, 2, 9])]));
  it('avgPool with and without count_include_pad, ceil mode', () => {
    gradcheck((x) => E.avgPool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), [S([2, 2, 5, 6])]);
    gradcheck((x) => E.avgPool(x, { kernel: [3, 2], strides: [2, 2], pads: [1, 0, 0, 1], countIncludePad: true, ceilMode: true }), [S([1, 2, 6, 5])]);
    gradcheck((x) => E.avgPool(x, { kernel: [2], strides: [1] }), [S([1, 3, 5])]);
  });
  it('global average and max pooling', () => {
    gradcheck(E.globalAvgPool, [S([2, 3, 4, 5])]);
    gradcheck(E.globalMaxPool, [spaced([2, 3, 4, 5])]);
  });
});

describe('softmax and normalisation', () => {
  for (const axis of [0, 1, -1]) {
    it(`softmax, logSoftmax along ${axis}`, () => {
      gradcheck((x) => E.softmax(x, axis), [S([2, 3, 4])]);
      gradcheck((x) => E.logSoftmax(x, axis), [S([2, 3, 4])]);
    });
  }
  it('layerNorm over the last axis and over the last two, with scale and bias', () => {
    gradcheck((x, s, b) => E.layerNorm(x, s, b, -1, 1e-5), [S([3, 5]), S([5]), S([5])]);
    gradcheck((x, s, b) => E.layerNorm(x, s, b, 1, 1e-3), [S([2, 3, 4]), S([3, 4]), S([4])]);
    gradcheck((x) => E.layerNorm(x, undefined, undefined, -1), [S([4, 6])]);
  });
  it('batchNorm (running statistics): every input', () => {
    gradcheck((x, s, b, m, v) => E.batchNorm(x, s, b, m, v, 1e-3), [S([2, 3, 2, 2]), S([3]), S([3]), S([3]), S([3], { positive: true })]);
  });
  it('batchNorm with the fused ReLU, and channelAffine (±ReLU) on a 2-D input', () => {
    const away = (shape: number[]) => S(shape, { data: distinctData(shape, new Rng(5), 0.09).map((v) => v + 0.033) });
    // scale 1, shift 0, mean 0, var 1 − eps: the ReLU's kink sits where x does, kept off 0 by `away`.
    const unit = (n: number, v: number) => ({ shape: [n], data: new Float32Array(n).fill(v) });
    gradcheck((x, s, b, m, v) => E.batchNorm(x, s, b, m, v, 1e-3, true), [away([2, 3, 2, 2]), unit(3, 1), unit(3, 0), unit(3, 0), unit(3, 1 - 1e-3)]);
    gradcheck((x, s, b) => E.channelAffine(x, s, b, true), [away([4, 3]), { shape: [3], data: [1.5, 0.5, 2] }, { shape: [3], data: [0, 0, 0] }]);
    gradcheck((x, s, b) => E.channelAffine(x, s, b), [S([4, 3]), S([3]), S([3])]);
  });
  it('batchNormTrain (batch statistics)', () => {
    gradcheck((x, s, b) => E.batchNormTrain(x, s, b, 1e-3).y, [S([3, 2, 2, 2]), S([2]), S([2])]);
  });
});

describe('data movement', () => {
  it('reshape, flatten, squeeze, unsqueeze', () => {
    gradcheck((x) => E.reshape(x, [4, 6]), [S([2, 3, 4])]);
    gradcheck((x) => E.flatten(x, 2), [S([2, 3, 4])]);
    gradcheck((x) => E.squeeze(x, [1]), [S([2, 1, 4])]);
    gradcheck((x) => E.unsqueeze(x, [0, -1]), [S([2, 3])]);
  });
  it('transpose', () => gradcheck((x) => E.transpose(x, [2, 0, 1]), [S([2, 3, 4])]));
  it('slice with steps, including negative', () => {
    gradcheck((x) => E.slice(x, [1, 3], [2, 2], [1, -2]), [S([4, 5])]);
    gradcheck((x) => E.slice(x, [0, 0, 1], [2, 3, 2], [1, 1, 2]), [S([2, 3, 5])]);
  });
  it('concat and split', () => {
    gradcheck((a, b, c) => E.concat([a, b, c], 1), [S([2, 1, 3]), S([2, 4, 3]), S([2, 2, 3])]);
    gradcheck((x) => E.concat(E.split(x, [1, 3, 1], -1).reverse(), -1), [S([2, 5])]);
  });
  it('pad with positive and negative pads', () => gradcheck((x) => E.pad(x, [1, -1, 0, 2], 0.5), [S([3, 4])]));
  it('gather on axes 0 and 1 with repeated and negative indices (accumulating)', () => {
    const idx = E.tensor([2, 0, -1, 2], [2, 2], 'int64');
    gradcheck((x, i) => E.gather(x, i, 0), [S([3, 4]), { shape: [2, 2], constant: idx }]);
    gradcheck((x, i) => E.gather(x, i, 1), [S([2, 3, 2]), { shape: [2, 2], constant: idx }]);
    idx.dispose();
  });
  it('scatterAdd (the adjoint of a flat gather) with repeated positions', () => {
    const idx = E.tensor([5, 0, 5, 2], [2, 2], 'int64');
    gradcheck((v) => E.scatterAdd(v, idx, [2, 3]), [S([2, 2])]);
    idx.dispose();
  });
  it('expand and tile', () => {
    gradcheck((x) => E.expand(x, [2, 3, 4]), [S([3, 1])]);
    gradcheck((x) => E.tile(x, [2, 1, 3]), [S([2, 3, 2])]);
  });
});

describe('losses', () => {
  it('mse', () => gradcheck(E.mseLoss, [S([4, 3]), S([4, 3])]));
  it('KL distillation at temperature 2: student and teacher', () => {
    gradcheck((s, t) => E.klDistillLoss(s, t, 2), [S([3, 5]), { shape: [3, 5], constant: E.tensor(Float32Array.from({ length: 15 }, (_, i) => Math.sin(i)), [3, 5]) }]);
  });
  it('cross-entropy with integer labels', () => gradcheck((x) => E.crossEntropyLoss(x, [2, 0, 4]), [S([3, 5])]));
});
