// Native matrix products, convolutions and pooling against the JS reference backend, on every
// SIMD kernel path this machine has (portable, avx2, avx512): random sizes from 0 and 1 up past
// the GEMM block sizes, all transpose forms and broadcast batches; 1-D to 3-D convolutions with
// groups, strides, asymmetric pads and dilations in all three passes; max/average pooling with
// pads, dilations and count_include_pad, and their backward passes. Then: any thread count
// gives bitwise the same results.
import { afterAll, describe, expect, it } from 'vitest';
import type { ConvParams, MatMulParams, PoolParams } from '../../src/engine/backend.js';
import { poolOutSize } from '../../src/engine/index.js';
import { Rng } from '../../src/util/random.js';
import { type Arena, expectParity, nativeBackend, nativeReason, numel, onBoth, randomData, skipNative } from './helpers.js';

function matmulCase(seed: number, big = false) {
  const rng = new Rng(seed);
  const dim = () => (rng.next() < 0.15 ? rng.int(2) : 1 + rng.int(big ? 300 : 40));
  const [m, n, k] = [dim(), dim(), dim()];
  const batch = rng.next() < 0.5 ? [] : [1 + rng.int(3), 1 + rng.int(2)];
  const aB = batch.map((d) => (rng.next() < 0.3 ? 1 : d));
  const bB = batch.map((d, i) => (aB[i] === 1 ? d : rng.next() < 0.3 ? 1 : d));
  const strides = (own: number[], size: number) => {
    let acc = size;
    const st = new Array<number>(own.length);
    for (let i = own.length - 1; i >= 0; i--) {
      st[i] = own[i] === 1 ? 0 : acc;
      acc *= own[i]!;
    }
    return st;
  };
  const p: MatMulParams = { batch, aBatchStrides: strides(aB, m * k), bBatchStrides: strides(bB, k * n), m, n, k, transA: rng.next() < 0.5, transB: rng.next() < 0.5 };
  const a = randomData(rng, numel(aB) * m * k);
  const b = randomData(rng, numel(bB) * k * n);
  return { p, a, b, out: numel(batch) * m * n };
}

const runMatmul = (c: ReturnType<typeof matmulCase>) => (x: Arena) => {
  const out = x.buf('float32', c.out);
  x.b.matmul(x.buf('float32', c.a), x.buf('float32', c.b), out, c.p);
  return [x.read(out)];
};

function convCase(seed: number) {
  const rng = new Rng(seed);
  const r = 1 + rng.int(3);
  const group = [1, 1, 2, 3][rng.int(4)]!;
  const cg = 1 + rng.int(3);
  const og = 1 + rng.int(3);
  const kernel = Array.from({ length: r }, () => 1 + rng.int(3));
  const strides = Array.from({ length: r }, () => 1 + rng.int(2));
  const dilations = Array.from({ length: r }, () => 1 + rng.int(2));
  const pads = Array.from({ length: 2 * r }, () => rng.int(2));
  const inShape = kernel.map((kk, i) => (kk - 1) * dilations[i]! + 1 + rng.int(r === 3 ? 4 : 9));
  const outShape = inShape.map((d, i) => Math.floor((d + pads[i]! + pads[i + r]! - dilations[i]! * (kernel[i]! - 1) - 1) / strides[i]!) + 1);
  const p: ConvParams = { batch: 1 + rng.int(3), inChannels: cg * group, outChannels: og * group, group, inShape, kernel, outShape, strides, padsBegin: pads.slice(0, r), dilations };
  return { p, x: randomData(rng, p.batch * p.inChannels * numel(inShape)), w: randomData(rng, p.outChannels * cg * numel(kernel)), dy: randomData(rng, p.batch * p.outChannels * numel(outShape)) };
}

const runConv = (c: ReturnType<typeof convCase>) => (a: Arena) => {
  const { p } = c;
  const [x, w, dy] = [a.buf('float32', c.x), a.buf('float32', c.w), a.buf('float32', c.dy)];
  const y = a.buf('float32', c.dy.length);
  const dx = a.buf('float32', c.x.length);
  const dw = a.buf('float32', c.w.length);
  a.b.conv(x, w, y, p);
  a.b.convBackwardData(dy, w, dx, p);
  a.b.convBackwardFilter(x, dy, dw, p);
  return [a.read(y), a.read(dx), a.read(dw)];
};

/** A CNN-sized layer (batch 11, 32 → 24 channels, 14 × 14): big enough for every parallel path
 * (several image chunks, so several filter-gradient lanes). */
function bigConvCase(seed: number) {
  const rng = new Rng(seed);
  const p: ConvParams = { batch: 11, inChannels: 32, outChannels: 24, group: 1, inShape: [14, 14], kernel: [3, 3], outShape: [14, 14], strides: [1, 1], padsBegin: [1, 1], dilations: [1, 1] };
  return { p, x: randomData(rng, 11 * 32 * 196), w: randomData(rng, 24 * 32 * 9), dy: randomData(rng, 11 * 24 * 196) };
}

/** The layer shapes of a ResNet-18 at a small input (stem 7×7/2 pad 3, 3×3/2 downsampling, 1×1/2
 * shortcut, 3×3 same) and batch 3: the strided, padded and shifted-plane implicit-GEMM paths. */
function resnetConvCases(seed: number) {
  const rng = new Rng(seed);
  const layer = (inC: number, outC: number, size: number, k: number, stride: number, pad: number) => {
    const out = Math.floor((size + 2 * pad - k) / stride) + 1;
    const p: ConvParams = { batch: 3, inChannels: inC, outChannels: outC, group: 1, inShape: [size, size], kernel: [k, k], outShape: [out, out], strides: [stride, stride], padsBegin: [pad, pad], dilations: [1, 1] };
    return { p, x: randomData(rng, 3 * inC * size * size), w: randomData(rng, outC * inC * k * k), dy: randomData(rng, 3 * outC * out * out) };
  };
  return [layer(3, 16, 30, 7, 2, 3), layer(16, 32, 15, 3, 2, 1), layer(16, 32, 15, 1, 2, 0), layer(32, 32, 8, 3, 1, 1)];
}

function poolCase(seed: number) {
  const rng = new Rng(seed);
  const r = 1 + rng.int(3);
  const kernel = Array.from({ length: r }, () => 1 + rng.int(3));
  const strides = Array.from({ length: r }, () => 1 + rng.int(3));
  const dilations = Array.from({ length: r }, () => (rng.next() < 0.7 ? 1 : 2));
  const pads = kernel.flatMap(() => [0]).concat(kernel.map(() => 0)).map((_, i) => rng.int(Math.max(1, kernel[i % r]!)));
  const inShape = kernel.map((kk, i) => (kk - 1) * dilations[i]! + 1 + rng.int(r === 3 ? 4 : 10));
  const ceil = rng.next() < 0.3;
  const outShape = inShape.map((d, i) => poolOutSize(d, kernel[i]!, strides[i]!, pads[i]!, pads[i + r]!, dilations[i]!, ceil));
  const p: PoolParams = { planes: 1 + rng.int(6), inShape, kernel, outShape, strides, padsBegin: pads.slice(0, r), padsEnd: pads.slice(r), dilations, countIncludePad: rng.next() < 0.5 };
  return { p, x: randomData(rng, p.planes * numel(inShape), rng.next() < 0.2 ? 'special' : 'normal'), dy: randomData(rng, p.planes * numel(outShape)) };
}

const runPool = (c: ReturnType<typeof poolCase>) => (a: Arena) => {
  const { p } = c;
  const x = a.buf('float32', c.x);
  const dy = a.buf('float32', c.dy);
  const y = a.buf('float32', c.dy.length);
  const idx = a.buf('int64', c.dy.length);
  const avg = a.buf('float32', c.dy.length);
  const dxMax = a.buf('float32', c.x.length);
  const dxAvg = a.buf('float32', c.x.length);
  a.b.maxPool(x, y, idx, p);
  a.b.maxPoolBackward(dy, idx, dxMax, p);
  a.b.avgPool(x, avg, p);
  a.b.avgPoolBackward(dy, dxAvg, p);
  return [a.read(y), a.read(idx), a.read(dxMax), a.read(avg), a.read(dxAvg)];
};

describe.skipIf(skipNative)(`native matmul, conv and pooling match the JS backend${nativeReason}`, () => {
  const saved = skipNative ? undefined : { path: nativeBackend().kernelPath, threads: nativeBackend().threads };
  afterAll(() => {
    if (!saved) return;
    nativeBackend().kernelPath = saved.path;
    nativeBackend().threads = saved.threads;
  });
  const paths = skipNative ? [] : nativeBackend().kernelPaths();

  it('has a portable path (and the wide ones this CPU supports)', () => {
    expect(paths[0]).toBe('portable');
  });

  for (const path of paths) {
    it(`matmul on the ${path} path: transposes, broadcast batches, odd and empty sizes`, () => {
      nativeBackend().kernelPath = path;
      for (let s = 0; s < 40; s++) expectParity(onBoth(runMatmul(matmulCase(2000 + s))), 2e-5, 2e-5, `matmul seed ${s}`);
      for (let s = 0; s < 4; s++) expectParity(onBoth(runMatmul(matmulCase(2100 + s, true))), 5e-5, 5e-5, `big matmul seed ${s}`);
    });

    it(`conv forward, data and filter gradients on the ${path} path`, () => {
      nativeBackend().kernelPath = path;
      for (let s = 0; s < 40; s++) expectParity(onBoth(runConv(convCase(3000 + s))), 2e-5, 2e-5, `conv seed ${s}`);
      expectParity(onBoth(runConv(bigConvCase(3100))), 5e-5, 5e-5, 'CNN-sized conv');
      resnetConvCases(3200).forEach((c, i) => expectParity(onBoth(runConv(c)), 5e-5, 5e-5, `ResNet layer ${i}`));
    });
  }

  it('pooling forward and backward (max indices exact)', () => {
    for (let s = 0; s < 60; s++) expectParity(onBoth(runPool(poolCase(4000 + s))), 1e-6, 1e-6, `pool seed ${s}`);
  });

  it('gives bitwise the same results on 1 and 2 threads', () => {
    const b = nativeBackend();
    const run = (threads: number) => {
      b.threads = threads;
      const outs: number[][] = [];
      for (let s = 0; s < 6; s++) {
        for (const fn of [runMatmul(matmulCase(2100 + s, true)), runConv(convCase(3000 + s)), runConv(bigConvCase(3100 + s)), runPool(poolCase(4000 + s))]) {
          const r = onBoth(fn);
          outs.push(...r.native.map((x) => Array.from(x)));
        }
      }
      return outs;
    };
    const one = run(1);
    const two = run(2);
    expect(two).toEqual(one);
  });
});
