// The tile math of docs/design.md §1, in plain TypeScript (the reference the kernels are tested
// against). A weight W (N elements) is read as a stream of N values, cut into p contiguous
// regions of q = N/p; the tile is the sign of the region sum (0 → −1) and α_i = mean |A_i|.
//
// Stream order (`tileAxis`): view W as 2-D [M, K] with M = shape[0]. Axis 0 streams W in its
// row-major order; axis 1 streams Wᵀ [K, M] row-major, so regions run along K (for a Gemm
// with transB = 1 that is the input axis — every output row keeps its own bits).

export type AlphaMode = 'per-tile' | 'per-layer';

export interface TileLayout {
  shape: number[];
  p: number;
  tileAxis: 0 | 1;
}

export interface Tile {
  /** q bits, LSB first: bit j is bit (j & 7) of byte (j >> 3); 1 means +1. */
  bits: Uint8Array;
  /** p scales (per-tile) or 1 (per-layer). */
  alpha: Float32Array;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tileLength(layout: TileLayout): number {
  const n = numel(layout.shape);
  if (!Number.isInteger(layout.p) || layout.p < 1 || n % layout.p !== 0) {
    throw new Error(`p = ${layout.p} does not divide the ${n} weights of shape [${layout.shape}]`);
  }
  return n / layout.p;
}

/** Index into W (row-major) of stream position k. */
export function streamIndex(k: number, layout: TileLayout): number {
  if (layout.tileAxis === 0) return k;
  const m = layout.shape[0]!;
  const kk = numel(layout.shape) / m;
  const j = Math.floor(k / m); // column of W2 = row of W2ᵀ
  const i = k - j * m;
  return i * kk + j;
}

/** W in stream order. */
export function toStream(w: Float32Array, layout: TileLayout): Float32Array {
  if (layout.tileAxis === 0) return w;
  const out = new Float32Array(w.length);
  for (let k = 0; k < w.length; k++) out[k] = w[streamIndex(k, layout)]!;
  return out;
}

/** Inverse of toStream. */
export function fromStream(s: Float32Array, layout: TileLayout): Float32Array {
  if (layout.tileAxis === 0) return s;
  const out = new Float32Array(s.length);
  for (let k = 0; k < s.length; k++) out[streamIndex(k, layout)] = s[k]!;
  return out;
}

/** Signs of the tile: +1 where the sum over regions is > 0, else −1. */
export function tileSigns(w: Float32Array, layout: TileLayout): Int8Array {
  const q = tileLength(layout);
  const s = toStream(w, layout);
  const sum = new Float64Array(q);
  for (let r = 0; r < layout.p; r++) {
    const base = r * q;
    for (let j = 0; j < q; j++) sum[j]! += s[base + j]!;
  }
  const t = new Int8Array(q);
  for (let j = 0; j < q; j++) t[j] = sum[j]! > 0 ? 1 : -1;
  return t;
}

/** α from A (W itself, or a separate full-precision tensor of W's shape). */
export function tileAlpha(a: Float32Array, layout: TileLayout, mode: AlphaMode): Float32Array {
  const q = tileLength(layout);
  const s = toStream(a, layout);
  if (mode === 'per-layer') {
    let acc = 0;
    for (let k = 0; k < s.length; k++) acc += Math.abs(s[k]!);
    return Float32Array.of(acc / s.length);
  }
  const alpha = new Float32Array(layout.p);
  for (let r = 0; r < layout.p; r++) {
    let acc = 0;
    for (let j = 0; j < q; j++) acc += Math.abs(s[r * q + j]!);
    alpha[r] = acc / q;
  }
  return alpha;
}

export function packBits(signs: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(signs.length / 8));
  for (let j = 0; j < signs.length; j++) if (signs[j]! > 0) bytes[j >> 3]! |= 1 << (j & 7);
  return bytes;
}

export function unpackBits(bits: Uint8Array, q: number): Int8Array {
  if (bits.length !== Math.ceil(q / 8)) throw new Error(`${bits.length} tile bytes for ${q} bits`);
  const t = new Int8Array(q);
  for (let j = 0; j < q; j++) t[j] = (bits[j >> 3]! >> (j & 7)) & 1 ? 1 : -1;
  return t;
}

export function computeTile(w: Float32Array, layout: TileLayout, mode: AlphaMode = 'per-tile', alphaSource?: Float32Array): Tile {
  if (w.length !== numel(layout.shape)) throw new Error(`weight has ${w.length} values, shape [${layout.shape}]`);
  return { bits: packBits(tileSigns(w, layout)), alpha: tileAlpha(alphaSource ?? w, layout, mode) };
}

/** B̂ = α ⊙ B in W's own (row-major) layout. */
export function decodeTile(tile: Tile, layout: TileLayout): Float32Array {
  const q = tileLength(layout);
  const t = unpackBits(tile.bits, q);
  if (tile.alpha.length !== layout.p && tile.alpha.length !== 1) {
    throw new Error(`${tile.alpha.length} scales for p = ${layout.p}`);
  }
  const s = new Float32Array(q * layout.p);
  for (let r = 0; r < layout.p; r++) {
    const a = tile.alpha.length === 1 ? tile.alpha[0]! : tile.alpha[r]!;
    for (let j = 0; j < q; j++) s[r * q + j] = a * t[j]!;
  }
  return fromStream(s, layout);
}
