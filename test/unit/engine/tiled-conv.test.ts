// Convolution with a TBN-tiled weight (Tensor.tiling: conv(x, T) scaled per block of filters,
// the data gradient through T only) against the dense convolution of the same decoded weight —
// which grad.test.ts checks against finite differences — forward, data gradient, filter gradient
// and the gradients that reach the latent weights through the tile op. Also: the fast path is
// taken only where its layout holds (regions along the filters, group 1), and a weight made
// without it (regions along the input axis) convolves densely with the same result.

import { describe, expect, it } from 'vitest';
import * as E from '../../../src/engine/index.js';
import { tiledWeight, tiledWeightOnHost } from '../../../src/tbn/parametrize.js';
import type { AlphaMode, TileLayout } from '../../../src/tbn/tile.js';
import { Rng } from '../../../src/util/random.js';
import { randomData } from './gradcheck.js';

interface Case {
  name: string;
  x: number[];
  w: number[];
  p: number;
  mode: AlphaMode;
  opts: E.ConvOptions;
  bias?: boolean;
  /** A separate α source A (the `a` input of the tile op). */
  alphaSource?: boolean;
}

const CASES: Case[] = [
  { name: '3×3 same, p = 4, per-tile α, bias', x: [2, 3, 7, 6], w: [8, 3, 3, 3], p: 4, mode: 'per-tile', opts: { pads: [1, 1, 1, 1] }, bias: true },
  { name: '3×3 stride 2, asymmetric pads, p = 2, per-layer α', x: [3, 4, 9, 8], w: [6, 4, 3, 3], p: 2, mode: 'per-layer', opts: { strides: [2, 2], pads: [1, 0, 0, 1] } },
  { name: '1×1, p = 8 (one filter per block), separate α source', x: [2, 5, 4, 4], w: [8, 5, 1, 1], p: 8, mode: 'per-tile', opts: {}, alphaSource: true },
  { name: '1-D dilated, p = 3', x: [2, 2, 12], w: [6, 2, 3], p: 3, mode: 'per-tile', opts: { dilations: [2], pads: [2, 1] }, bias: true },
  { name: 'ResNet-stem-like 7×7 stride 2 pad 3, p = 4', x: [2, 3, 20, 20], w: [16, 3, 7, 7], p: 4, mode: 'per-tile', opts: { strides: [2, 2], pads: [3, 3, 3, 3] } },
];

/** Forward and every gradient of Σ g·conv(x, tile(w[, a]), b): the tiled path, or dense when `dense`. */
function run(c: Case, tile: typeof tiledWeight, dense: boolean, seed: number) {
  const rng = new Rng(seed);
  const layout: TileLayout = { shape: c.w, p: c.p, tileAxis: 0 };
  const x = E.parameter(randomData(c.x, rng), c.x);
  const w = E.parameter(randomData(c.w, rng), c.w);
  const a = c.alphaSource ? E.parameter(randomData(c.w, rng), c.w) : undefined;
  const b = c.bias ? E.parameter(randomData([c.w[0]!], rng), [c.w[0]!]) : undefined;
  const tiled = tile(w, a, layout, c.mode);
  expect(tiled.tiling, 'the tile op describes a weight tiled along its filters').toBeDefined();
  // The dense reference: the same values, as a plain differentiable tensor (identity drops tiling).
  const weight = dense ? E.identity(tiled) : tiled;
  expect(weight.tiling === undefined).toBe(dense);
  const y = E.conv(x, weight, b, c.opts);
  const g = E.tensor(randomData([...y.shape], rng), y.shape);
  E.backward(E.sum(E.mul(y, g)));
  const out = { y: y.toArray(), dx: x.grad!.toArray(), dw: w.grad!.toArray(), da: a?.grad?.toArray(), db: b?.grad?.toArray() };
  for (const t of [x, w, a, b, y, g, weight, tiled]) t?.dispose();
  return out;
}

describe.each(CASES)('tiled convolution: $name', (c) => {
  for (const [label, tile] of [['engine tile op', tiledWeight], ['host tile op', tiledWeightOnHost]] as const) {
    it(`forward and gradients equal the dense convolution of the decoded weight (${label})`, () => {
      const ours = run(c, tile, false, 31);
      const want = run(c, tile, true, 31);
      const tol = { atol: 2e-5, rtol: 1e-4 };
      expect(ours.y as Float32Array).toBeAllclose(want.y as Float32Array, tol);
      expect(ours.dx as Float32Array).toBeAllclose(want.dx as Float32Array, tol);
      expect(ours.dw as Float32Array).toBeAllclose(want.dw as Float32Array, tol);
      if (c.alphaSource) expect(ours.da as Float32Array).toBeAllclose(want.da as Float32Array, tol);
      if (c.bias) expect(ours.db as Float32Array).toBeAllclose(want.db as Float32Array, tol);
    });
  }
});

describe('tiled convolution: where the fast path does not apply', () => {
  it('regions along the input axis carry no tiling; the grouped conv of a tiled weight is dense and equal', () => {
    const rng = new Rng(3);
    const across = tiledWeight(E.tensor(randomData([6, 4, 3, 3], rng), [6, 4, 3, 3]), undefined, { shape: [6, 4, 3, 3], p: 4, tileAxis: 1 }, 'per-tile');
    expect(across.tiling).toBeUndefined();
    const w = tiledWeight(E.tensor(randomData([6, 2, 3, 3], rng), [6, 2, 3, 3]), undefined, { shape: [6, 2, 3, 3], p: 2, tileAxis: 0 }, 'per-tile');
    expect(w.tiling).toBeDefined();
    const x = E.tensor(randomData([2, 4, 5, 5], rng), [2, 4, 5, 5]);
    const opts = { group: 2, pads: [1, 1, 1, 1] };
    expect(E.conv(x, w, undefined, opts).toArray() as Float32Array).toBeAllclose(E.conv(x, E.identity(w), undefined, opts).toArray() as Float32Array, { atol: 1e-6 });
  });

  it('disposing the weight disposes the tiling it owns (no buffer outlives it)', () => {
    const before = E.getBackend().stats().buffers;
    E.tidy(() => {
      const w = tiledWeight(E.tensor(randomData([4, 2, 3, 3], new Rng(1)), [4, 2, 3, 3]), undefined, { shape: [4, 2, 3, 3], p: 2, tileAxis: 0 }, 'per-tile');
      expect(w.tiling).toBeDefined();
    });
    expect(E.getBackend().stats().buffers).toBe(before);
  });
});
