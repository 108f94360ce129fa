// The TBN tile op (src/tbn/parametrize.ts) on the native backend's fused kernels against its
// host-array reference: forward values (B̂), α and the gradients reaching W (and A) through
// backward, for both tiling axes, per-tile and per-layer α, α from W or a separate tensor, and
// sizes where q is not a multiple of anything convenient. Also: the native path reads no tensor
// back to JS (no host round trip) and frees everything it made.
import { describe, expect, it } from 'vitest';
import * as E from '../../src/engine/index.js';
import { tiledWeight, tiledWeightOnHost } from '../../src/tbn/parametrize.js';
import type { AlphaMode, TileLayout } from '../../src/tbn/tile.js';
import { Rng } from '../../src/util/random.js';
import { nativeBackend, nativeReason, skipNative } from './helpers.js';

const CASES: { shape: number[]; p: number; tileAxis: 0 | 1 }[] = [
  { shape: [8, 3, 3, 3], p: 4, tileAxis: 0 },
  { shape: [12, 10], p: 4, tileAxis: 1 },
  { shape: [7, 5], p: 7, tileAxis: 0 },
  { shape: [6, 35], p: 2, tileAxis: 1 },
  { shape: [64, 72], p: 8, tileAxis: 0 },
  { shape: [5, 13], p: 1, tileAxis: 1 },
];

function run(backend: E.Backend, useHost: boolean, layout: TileLayout, mode: AlphaMode, separate: boolean, seed: number) {
  return E.withBackend(backend, () => {
    const rng = new Rng(seed);
    const n = layout.shape.reduce((x, y) => x * y, 1);
    const w = E.parameter(Float32Array.from({ length: n }, () => rng.normal()), layout.shape);
    const a = separate ? E.parameter(Float32Array.from({ length: n }, () => rng.normal()), layout.shape) : undefined;
    const g = E.tensor(Float32Array.from({ length: n }, () => rng.normal()), layout.shape);
    const y = (useHost ? tiledWeightOnHost : tiledWeight)(w, a, layout, mode);
    E.backward(y, g);
    const out = { y: y.toArray(), dw: w.grad!.toArray(), da: a?.grad?.toArray() };
    for (const t of [y, g, w, w.grad, a, a?.grad]) t?.dispose();
    return out;
  });
}

describe.skipIf(skipNative)(`the TBN tile op on native kernels matches its host reference${nativeReason}`, () => {
  for (const c of CASES) {
    for (const mode of ['per-tile', 'per-layer'] as AlphaMode[]) {
      for (const separate of [false, true]) {
        it(`[${c.shape}] p = ${c.p}, axis ${c.tileAxis}, ${mode}, α from ${separate ? 'A' : 'W'}`, () => {
          const layout: TileLayout = { shape: c.shape, p: c.p, tileAxis: c.tileAxis };
          const want = run(new E.JsBackend(), true, layout, mode, separate, 7);
          const before = nativeBackend().stats().buffers;
          const got = run(nativeBackend(), false, layout, mode, separate, 7);
          expect(nativeBackend().stats().buffers, 'native buffers left behind').toBe(before);
          expect(got.y).toBeAllclose(want.y, { atol: 0, rtol: 0 });
          expect(got.dw).toBeAllclose(want.dw, { atol: 1e-7, rtol: 1e-6 });
          if (separate) expect(got.da!).toBeAllclose(want.da!, { atol: 1e-7, rtol: 1e-6 });
        });
      }
    }
  }

  it('runs on the backend: no tensor is read back to JS during forward and backward', () => {
    const b = nativeBackend();
    let reads = 0;
    const counting = new Proxy(b, { get: (t, k, r) => (k === 'read' ? (...x: [E.Buf]) => (reads++, t.read(...x)) : Reflect.get(t, k, r)) });
    E.withBackend(b, () => {
      const layout: TileLayout = { shape: [16, 9], p: 4, tileAxis: 0 };
      const w = E.parameter(new Float32Array(144).fill(0.5), layout.shape);
      Object.defineProperty(w.storage, 'backend', { value: counting });
      const y = tiledWeight(w, undefined, layout, 'per-tile');
      E.backward(E.sum(y));
      expect(reads).toBe(0);
      for (const t of [y, w.grad, w]) t?.dispose();
    });
  });
});
