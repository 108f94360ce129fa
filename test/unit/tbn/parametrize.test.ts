// The TBN op's gradients: the α path (a separate α source A) against central finite
// differences — α = mean |A| per region is differentiable away from A = 0 — and the
// straight-through path to W exactly as defined (dW = dB̂ · α of W's region).
import { describe, expect, it } from 'vitest';
import * as E from '../../../src/engine/index.js';
import { tiledWeight } from '../../../src/tbn/parametrize.js';
import { computeTile, decodeTile, type TileLayout } from '../../../src/tbn/tile.js';
import { Rng } from '../../../src/util/random.js';

const layouts: [TileLayout, 'per-tile' | 'per-layer'][] = [
  [{ shape: [6, 4], p: 3, tileAxis: 0 }, 'per-tile'],
  [{ shape: [6, 4], p: 4, tileAxis: 1 }, 'per-tile'],
  [{ shape: [4, 3, 2], p: 2, tileAxis: 1 }, 'per-layer'],
];

function loss(w: E.Tensor, a: E.Tensor, g: Float32Array, layout: TileLayout, mode: 'per-tile' | 'per-layer'): E.Tensor {
  return E.sum(E.mul(tiledWeight(w, a, layout, mode), E.tensor(g, layout.shape)));
}

describe.each(layouts)('tiledWeight %j %s', (layout, mode) => {
  const rng = new Rng(5);
  const n = layout.shape.reduce((a, b) => a * b, 1);
  const wv = Float32Array.from({ length: n }, () => rng.normal());
  const av = Float32Array.from({ length: n }, () => rng.normal() + (rng.next() < 0.5 ? 2 : -2)); // away from 0
  const g = Float32Array.from({ length: n }, () => rng.normal());

  it('forward equals the tile decode of computeTile', () => {
    const y = tiledWeight(E.tensor(wv, layout.shape), E.tensor(av, layout.shape), layout, mode);
    expect(y.toArray() as Float32Array).toBeAllclose(decodeTile(computeTile(wv, layout, mode, av), layout), { rtol: 1e-6 });
  });

  it('dA matches central finite differences, dW is the straight-through gradient', () => {
    const w = E.parameter(wv, layout.shape);
    const a = E.parameter(av, layout.shape);
    E.backward(loss(w, a, g, layout, mode));
    const dA = a.grad!.toArray() as Float32Array;
    const dW = w.grad!.toArray() as Float32Array;
    const eps = 1e-2;
    const f = (x: Float32Array) => E.noGrad(() => loss(E.tensor(wv, layout.shape), E.tensor(x, layout.shape), g, layout, mode).item());
    for (let k = 0; k < n; k++) {
      const plus = Float32Array.from(av);
      const minus = Float32Array.from(av);
      plus[k]! += eps;
      minus[k]! -= eps;
      expect(dA[k]!).toBeCloseTo((f(plus) - f(minus)) / (2 * eps), 3);
    }
    const tile = computeTile(wv, layout, mode, av);
    const unit = decodeTile({ bits: tile.bits, alpha: tile.alpha.map(() => 1) }, layout); // ±1 of each position
    const scaleOf = decodeTile(tile, layout).map((v, k) => v / unit[k]!); // α of each position
    expect(dW).toBeAllclose(g.map((gk, k) => gk * scaleOf[k]!), { rtol: 1e-5 });
  });
});
