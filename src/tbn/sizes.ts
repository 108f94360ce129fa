// Storage arithmetic of the compressed format (docs/design.md §2): q = N/p tile bits packed into
// ⌈q/8⌉ bytes, plus one α per tile region (or one per layer) in the layer's float type (4 bytes
// for float32, 2 for float16/bfloat16: format.ts); the model's constant weights; and λ, the size
// under which layers are not tiled.

import { rawByteLength } from '../ir/dtype.js';
import type { Model, OnnxTensor } from '../ir/types.js';

export const CANDIDATE_P = [2, 4, 8, 16, 32] as const;

/**
 * λ chosen from the model when --min-params is not given: the largest tileable layers are
 * tiled until they hold at least this share of the tileable weight bytes (the paper's fixed
 * λ = 64 000 was set for CIFAR/ImageNet networks and tiles nothing in a 300 k-parameter model),
 * and further until the layers left in full precision take no more bytes than the tiled ones
 * would at one bit per weight: a 10 % tail of uniform layers (a ViT-Tiny's twelve attention
 * output projections) otherwise held the file to under 10× smaller. The model's first layer
 * (the stem, reading the input) does not count in that tail: it is the most sensitive to
 * tiling, and tiling the ViT fixture's 3 136-parameter patch projection for 11 kB cost it a
 * point of top-1 (93.20 → 92.20 %)…
 */
export const AUTO_LAMBDA_COVERAGE = 0.9;
/** …and never a layer under this many parameters (its tile and scales would barely shrink it). */
export const AUTO_LAMBDA_FLOOR = 1024;

export interface LambdaChoice {
  /** Layers with fewer parameters are not tiled. */
  value: number;
  /** Chosen from the model (true) or given with --min-params. */
  auto: boolean;
  /** Tileable layers and their weight bytes, and those at or above λ. */
  layers: number;
  bytes: number;
  layersAtOrAbove: number;
  bytesAtOrAbove: number;
  /** One sentence: the value and why. */
  reason: string;
}

/** λ for these tileable layers: given (`minParams`) or chosen by the rule above. */
export function chooseLambda(layers: readonly { params: number; bytes: number; first?: boolean }[], minParams?: number): LambdaChoice {
  const sorted = [...layers].sort((a, b) => b.params - a.params);
  const bytes = sorted.reduce((a, l) => a + l.bytes, 0);
  let value = minParams ?? AUTO_LAMBDA_FLOOR;
  if (minParams === undefined) {
    const open = sorted.filter((l) => l.params >= AUTO_LAMBDA_FLOOR);
    let covered = 0;
    let tiledParams = 0;
    let tailBytes = open.reduce((a, t) => a + (t.first ? 0 : t.bytes), 0);
    for (const l of open) {
      covered += l.bytes;
      tiledParams += l.params;
      if (!l.first) tailBytes -= l.bytes;
      value = l.params;
      if (covered >= AUTO_LAMBDA_COVERAGE * bytes && tailBytes <= tiledParams / 8) break;
    }
  }
  const above = sorted.filter((l) => l.params >= value);
  const bytesAtOrAbove = above.reduce((a, l) => a + l.bytes, 0);
  const share = bytes ? `${((100 * bytesAtOrAbove) / bytes).toFixed(1)} %` : '0 %';
  const held = `${above.length} of ${sorted.length} tileable layers, ${share} of their ${formatBytes(bytes)} of weights`;
  let reason: string;
  if (minParams !== undefined) reason = `λ = ${fmtInt(value)} (--min-params): ${held} are at or above it`;
  else if (!sorted.length) reason = `λ = ${fmtInt(value)} (chosen from the model): it has no tileable layer`;
  else if (bytesAtOrAbove >= AUTO_LAMBDA_COVERAGE * bytes) {
    reason = `λ = ${fmtInt(value)} (chosen from the model): the largest layers until they hold ≥ ${100 * AUTO_LAMBDA_COVERAGE} % of the tileable weight bytes and the rest (the first layer aside) no more than they would at 1 bit per weight — ${held}`;
  } else {
    reason = `λ = ${fmtInt(value)} (chosen from the model): every layer with ≥ ${fmtInt(AUTO_LAMBDA_FLOOR)} parameters — ${held}; smaller layers are not tiled by default`;
  }
  return { value, auto: minParams === undefined, layers: sorted.length, bytes, layersAtOrAbove: above.length, bytesAtOrAbove, reason };
}

const fmtInt = (n: number) => n.toLocaleString('en-US');

export function tileBits(params: number, p: number): number {
  return params / p;
}

export function tiledBytes(params: number, p: number, alphaCount = p, alphaBytes = 4): number {
  return Math.ceil(params / p / 8) + alphaBytes * alphaCount;
}

export function bitsPerWeight(params: number, bytes: number): number {
  return (8 * bytes) / params;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function tensorBytes(t: OnnxTensor): number {
  return rawByteLength(t.dtype, t.dims.reduce((a, b) => a * b, 1));
}

/** Constants that are shapes, indices or masks, not weights. */
const NOT_WEIGHTS = new Set(['int64', 'bool', 'string']);

/**
 * The weights of a model's main graph — initializers and Constant-node tensors, except int64,
 * bool and string ones (shapes, indices, masks): count and bytes.
 */
export function constantWeights(model: Model): { params: number; bytes: number } {
  let params = 0;
  let bytes = 0;
  const add = (t: OnnxTensor) => {
    if (NOT_WEIGHTS.has(t.dtype)) return;
    params += t.dims.reduce((a, b) => a * b, 1);
    bytes += tensorBytes(t);
  };
  model.graph.initializers.forEach(add);
  for (const n of model.graph.nodes) if (n.opType === 'Constant') for (const a of n.attributes) if (a.t) add(a.t);
  return { params, bytes };
}

/** Bits per weight over a whole model, or null when it has no constant weights to divide by. */
export function modelBitsPerWeight(params: number, bytes: number): number | null {
  return params > 0 ? bitsPerWeight(params, bytes) : null;
}
