// The tile math against an independent reference written here from docs/design.md §1 (2-D
// indexing, no shared helpers), and the bit layout (LSB first, 1 = +1).
import { describe, expect, it } from 'vitest';
import { computeTile, decodeTile, packBits, unpackBits, type TileLayout } from '../../../src/tbn/tile.js';
import { Rng } from '../../../src/util/random.js';

/** Reference: W2 = W viewed [M, K] (or its transpose), stream row-major, p regions of q. */
function reference(w: number[], shape: number[], p: number, axis: 0 | 1, perLayer: boolean) {
  const m = shape[0]!;
  const k = w.length / m;
  const stream: number[] = [];
  if (axis === 0) stream.push(...w);
  else for (let j = 0; j < k; j++) for (let i = 0; i < m; i++) stream.push(w[i * k + j]!);
  const q = w.length / p;
  const rows = Array.from({ length: p }, (_, r) => stream.slice(r * q, (r + 1) * q));
  const signs = Array.from({ length: q }, (_, j) => (rows.reduce((s, row) => s + row[j]!, 0) > 0 ? 1 : -1));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + Math.abs(x), 0) / xs.length;
  const alpha = perLayer ? [mean(stream)] : rows.map(mean);
  const decodedStream = rows.flatMap((_, r) => signs.map((t) => t * (perLayer ? alpha[0]! : alpha[r]!)));
  const decoded = new Array<number>(w.length);
  if (axis === 0) decodedStream.forEach((v, i) => (decoded[i] = v));
  else decodedStream.forEach((v, s) => (decoded[(s % m) * k + Math.floor(s / m)] = v));
  return { signs, alpha, decoded };
}

describe('tile math', () => {
  const rng = new Rng(3);
  const cases: [number[], number, 0 | 1, boolean][] = [
    [[8, 6], 4, 0, false],
    [[8, 6], 4, 1, false],
    [[6, 10], 4, 0, true], // p does not divide the leading dimension
    [[10, 3, 2, 2], 8, 1, false],
    [[7, 5], 5, 1, false],
    [[16], 2, 0, false],
    [[12, 4], 1, 0, true], // p = 1: plain binary with one α
  ];
  it.each(cases)('shape %j, p %i, tile_axis %i, per-layer α %s', (shape, p, axis, perLayer) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const w = Array.from({ length: n }, () => rng.normal());
    const layout: TileLayout = { shape, p, tileAxis: axis };
    const tile = computeTile(Float32Array.from(w), layout, perLayer ? 'per-layer' : 'per-tile');
    const ref = reference(w, shape, p, axis, perLayer);
    expect(Array.from(unpackBits(tile.bits, n / p))).toEqual(ref.signs);
    expect(tile.alpha).toBeAllclose(ref.alpha, { rtol: 1e-6 });
    expect(decodeTile(tile, layout)).toBeAllclose(ref.decoded, { rtol: 1e-6 });
  });

  it('maps a zero region sum to −1, as the paper code does', () => {
    const tile = computeTile(Float32Array.of(1, -1, 2, -2), { shape: [4], p: 2, tileAxis: 0 });
    // sums: 1 + 2 = 3 > 0 → +1; −1 − 2 < 0 → −1
    expect(Array.from(unpackBits(tile.bits, 2))).toEqual([1, -1]);
    const zero = computeTile(Float32Array.of(1, 3, -1, -3), { shape: [4], p: 2, tileAxis: 0 });
    expect(Array.from(unpackBits(zero.bits, 2))).toEqual([-1, -1]);
  });

  it('packs bit j into bit (j & 7) of byte (j >> 3), 1 meaning +1', () => {
    const signs = [1, -1, 1, 1, -1, -1, -1, 1, /* byte 1 */ -1, 1];
    expect(Array.from(packBits(signs))).toEqual([0b10001101, 0b00000010]);
    expect(Array.from(unpackBits(Uint8Array.of(0b10001101, 0b10), 10))).toEqual(signs);
  });
});
