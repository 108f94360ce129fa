// Channel permutation before tiling (design.md §1, "beyond the paper"). With regions along
// the output channels, output rows j, j + O/p, …, j + (p−1)·O/p share one tile row. We
// reorder each layer's output channels so that the rows sharing a tile row are alike — a
// greedy grouping on cosine similarity — and permute every tensor of the channel space the
// same way, so the fp32 model computes exactly what it did before.

import type { Model, Tensor } from '../ir/types.js';
import { channelSpace, type ChannelSpace, type PermuteEdit } from './channel-space.js';
import { consumedWeight, findWeightLayers } from './layers.js';
import type { LayerChoice } from './select.js';

export interface PermutationReport {
  layers: string[];
  channels: number;
  p: number | null;
  permuted: boolean;
  reason?: string;
  /** Mean cosine similarity of rows that share a tile row, before and after. */
  similarityBefore?: number;
  similarityAfter?: number;
}

/** Feature columns kept per layer for the similarity (cost O(O² · features)). */
const MAX_FEATURES = 2048;

/** Rows of `layer`'s weight along its output channels, L2-normalised, at most MAX_FEATURES wide. */
function outputRows(w: Float32Array, shape: number[], outAxis: number): Float32Array[] {
  const o = shape[outAxis]!;
  const k = w.length / o;
  const step = Math.max(1, Math.ceil(k / MAX_FEATURES));
  const width = Math.ceil(k / step);
  const rows: Float32Array[] = [];
  for (let r = 0; r < o; r++) {
    const row = new Float32Array(width);
    let norm = 0;
    for (let c = 0, f = 0; c < k; c += step, f++) {
      const v = outAxis === 0 ? w[r * k + c]! : w[c * o + r]!;
      row[f] = v;
      norm += v * v;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let f = 0; f < width; f++) row[f]! *= inv;
    rows.push(row);
  }
  return rows;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Cosine similarity matrix of channels, summed over the space's tiled layers. */
function similarity(features: Float32Array[][], channels: number): Float64Array {
  const s = new Float64Array(channels * channels);
  for (const rows of features) {
    for (let i = 0; i < channels; i++) {
      for (let j = i; j < channels; j++) {
        const d = dot(rows[i]!, rows[j]!);
        s[i * channels + j]! += d;
        if (i !== j) s[j * channels + i]! += d;
      }
    }
  }
  return s;
}

/** order[newIndex] = oldIndex; group j occupies positions j + r·(O/p). */
export function groupChannels(sim: Float64Array, channels: number, p: number, norms: Float64Array): Uint32Array {
  const groups = channels / p;
  const free = new Uint8Array(channels).fill(1);
  const order = new Uint32Array(channels);
  const byNorm = Array.from({ length: channels }, (_, i) => i).sort((a, b) => norms[b]! - norms[a]! || a - b);
  let seedCursor = 0;
  for (let j = 0; j < groups; j++) {
    while (!free[byNorm[seedCursor]!]) seedCursor++;
    const members = [byNorm[seedCursor]!];
    free[members[0]!] = 0;
    const score = Float64Array.from({ length: channels }, (_, c) => sim[members[0]! * channels + c]!);
    for (let r = 1; r < p; r++) {
      let best = -1;
      for (let c = 0; c < channels; c++) if (free[c] && (best < 0 || score[c]! > score[best]!)) best = c;
      members.push(best);
      free[best] = 0;
      for (let c = 0; c < channels; c++) score[c]! += sim[best * channels + c]!;
    }
    // Larger rows first, so region 0 holds each group's largest row and α per region fits.
    members.sort((a, b) => norms[b]! - norms[a]! || a - b);
    members.forEach((c, r) => (order[j + r * groups] = c));
  }
  return order;
}

function meanTileRowSimilarity(sim: Float64Array, channels: number, p: number, order: ArrayLike<number>, layers: number): number {
  const groups = channels / p;
  let total = 0;
  let pairs = 0;
  for (let j = 0; j < groups; j++) {
    for (let a = 0; a < p; a++) {
      for (let b = a + 1; b < p; b++) {
        total += sim[order[j + a * groups]! * channels + order[j + b * groups]!]! / layers;
        pairs++;
      }
    }
  }
  return pairs ? total / pairs : 1;
}

/** Permutes `t` along `axis` in blocks: new block c ← old block order[c]. */
export function permuteTensor(t: Tensor, edit: PermuteEdit, order: Uint32Array): Tensor {
  const dims = t.dims;
  const outer = dims.slice(0, edit.axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(edit.axis + 1).reduce((a, b) => a * b, 1);
  const axisLen = dims[edit.axis]!;
  const span = edit.block * inner;
  if (axisLen !== order.length * edit.block) throw new Error(`cannot permute ${t.name}: axis ${edit.axis} has ${axisLen}, not ${order.length}×${edit.block}`);
  const src = t.data as Float32Array;
  const out = new (src.constructor as new (n: number) => Float32Array)(src.length);
  for (let o = 0; o < outer; o++) {
    const base = o * axisLen * inner;
    for (let c = 0; c < order.length; c++) {
      out.set(src.subarray(base + order[c]! * span, base + (order[c]! + 1) * span), base + c * span);
    }
  }
  return { ...t, data: out, encoding: t.encoding === 'typed' ? 'raw' : t.encoding };
}

export function permuteChannels(model: Model, choices: LayerChoice[], shapes: Map<string, number[]>): { model: Model; report: PermutationReport[] } {
  const byNode = new Map(choices.map((c) => [c.layer.nodeIndex, c]));
  const layers = new Map(findWeightLayers(model).map((l) => [l.nodeIndex, l]));
  const done = new Set<number>();
  const report: PermutationReport[] = [];
  const replaced = new Map<string, Tensor>();
  const inits = new Map(model.graph.initializers.map((t) => [t.name, t]));
  for (const choice of choices) {
    if (!choice.regionsAlongOutput || done.has(choice.layer.nodeIndex)) continue;
    const space: ChannelSpace = channelSpace({ model, shapes }, choice.layer.nodeIndex);
    space.producers.forEach((p) => done.add(p));
    const names = space.producers.map((p) => model.graph.nodes[p]!.name || `#${p}`);
    const tiled = space.producers.map((p) => byNode.get(p)).filter((c): c is LayerChoice => !!c && c.regionsAlongOutput);
    const ps = new Set(tiled.map((c) => c.layout.p));
    const entry: PermutationReport = { layers: names, channels: space.channels, p: ps.size === 1 ? [...ps][0]! : null, permuted: false };
    report.push(entry);
    if (space.pinned) {
      entry.reason = space.pinned;
      continue;
    }
    if (ps.size !== 1) {
      entry.reason = `layers tiled at different p (${[...ps].join(', ')})`;
      continue;
    }
    const p = entry.p!;
    const features = tiled.map((c) => outputRows(consumedWeight(layers.get(c.layer.nodeIndex)!), c.layer.shape, c.layer.outAxis));
    const sim = similarity(features, space.channels);
    const norms = new Float64Array(space.channels);
    for (const c of tiled) {
      const w = consumedWeight(c.layer);
      const k = w.length / space.channels;
      for (let r = 0; r < space.channels; r++) {
        for (let i = 0; i < k; i++) {
          const v = c.layer.outAxis === 0 ? w[r * k + i]! : w[i * space.channels + r]!;
          norms[r]! += v * v;
        }
      }
    }
    const identity = Uint32Array.from({ length: space.channels }, (_, i) => i);
    const order = groupChannels(sim, space.channels, p, norms);
    entry.similarityBefore = meanTileRowSimilarity(sim, space.channels, p, identity, tiled.length);
    entry.similarityAfter = meanTileRowSimilarity(sim, space.channels, p, order, tiled.length);
    for (const e of space.edits) {
      const t = replaced.get(e.initializer) ?? inits.get(e.initializer)!;
      replaced.set(e.initializer, permuteTensor(t, e, order));
    }
    entry.permuted = true;
  }
  const initializers = model.graph.initializers.map((t) => (t.name && replaced.get(t.name)) || t);
  return { model: { ...model, graph: { ...model.graph, initializers } }, report };
}
