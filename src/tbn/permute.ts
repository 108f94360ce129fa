// Channel permutation before tiling (docs/design.md §1, "starting from a trained model"). With
// regions along the output channels, output rows j, j + O/p, …, j + (p−1)·O/p share one tile
// row. We reorder output channels so that the rows sharing a tile row are alike — within the
// permutations channel-space.ts proves harmless (whole pools: a greedy grouping on cosine
// similarity; then swaps inside every pool and of whole heads while they help) — and permute
// every tensor the permutation reaches, so the fp32 model computes exactly what it did before.

import { dtypeBits } from '../ir/dtype.js';
import { getAttr } from '../ir/attrs.js';
import type { Model, Node, OnnxTensor } from '../ir/types.js';
import { ChannelSpaces, producerOf, STRIDE, type BaseAnalysis, type Pool, type Producer } from './channel-space.js';
import { consumedWeight, findWeightLayers, isRecurrent, transpose, type WeightLayer } from './layers.js';
import { applyPerm, lift, type AxisPerm } from './perm-algebra.js';
import { FlowFailure } from './perm-flow.js';
import { alongHiddenUnits, type LayerChoice } from './select.js';

export interface PermutationReport {
  layers: string[];
  channels: number;
  p: number | null;
  permuted: boolean;
  reason?: string;
  /** How the channels may move (one pool, pools of head dimensions, heads as blocks). */
  structure?: string;
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

interface Objective {
  /** Per tiled producer: similarity of its channels and its tile-row period (channels / p). */
  sim: Map<number, { s: Float64Array; n: number; groups: number; p: number; layers: number }>;
}

function groupScore(obj: Objective, pi: number, order: Int32Array, g: number): number {
  const o = obj.sim.get(pi)!;
  let total = 0;
  for (let a = 0; a < o.p; a++) {
    for (let b = a + 1; b < o.p; b++) total += o.s[order[g + a * o.groups]! * o.n + order[g + b * o.groups]!]!;
  }
  return total;
}

/** Objective change of swapping units i and j of a pool (applied when it helps). */
function trySwap(obj: Objective, orders: Map<number, Int32Array>, pool: Pool, i: number, j: number): boolean {
  const touched = new Map<number, Set<number>>();
  for (let k = 0; k < pool.units[i]!.length; k++) {
    for (const gch of [pool.units[i]![k]!, pool.units[j]![k]!]) {
      const pi = Math.floor(gch / STRIDE);
      const o = obj.sim.get(pi);
      if (!o) continue;
      const set = touched.get(pi) ?? new Set<number>();
      set.add((gch % STRIDE) % o.groups);
      touched.set(pi, set);
    }
  }
  if (!touched.size) return false;
  const score = () => [...touched].reduce((acc, [pi, gs]) => acc + [...gs].reduce((a, g) => a + groupScore(obj, pi, orders.get(pi)!, g), 0), 0);
  const before = score();
  swapUnits(orders, pool, i, j);
  if (score() > before + 1e-9) return true;
  swapUnits(orders, pool, i, j);
  return false;
}

function swapUnits(orders: Map<number, Int32Array>, pool: Pool, i: number, j: number): void {
  pool.units[i]!.forEach((a, k) => {
    const b = pool.units[j]![k]!;
    const o = orders.get(Math.floor(a / STRIDE))!;
    const x = a % STRIDE;
    const y = b % STRIDE;
    [o[x], o[y]] = [o[y]!, o[x]!];
  });
}

function meanSimilarity(obj: Objective, orders: Map<number, Int32Array>, producers: number[]): number | undefined {
  let total = 0;
  let pairs = 0;
  for (const pi of producers) {
    const o = obj.sim.get(pi);
    if (!o) continue;
    const order = orders.get(pi) ?? Int32Array.from({ length: o.n }, (_, i) => i);
    for (let g = 0; g < o.groups; g++) total += groupScore(obj, pi, order, g) / o.layers;
    pairs += (o.groups * o.p * (o.p - 1)) / 2;
  }
  return pairs ? total / pairs : undefined;
}

/** A greedy start for a pool holding every channel of a tiled base: whole tile rows at once. */
function greedyStart(obj: Objective, orders: Map<number, Int32Array>, pool: Pool, norms: Map<number, Float64Array>): void {
  const o = obj.sim.get(pool.base);
  const m = pool.units.length;
  if (!o || pool.block !== 1 || m !== o.n) return;
  const unitSim = new Float64Array(m * m);
  const unitNorm = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < pool.units[i]!.length; k++) {
      const gi = pool.units[i]![k]!;
      const pi = Math.floor(gi / STRIDE);
      const op = obj.sim.get(pi);
      if (!op) continue;
      unitNorm[i]! += norms.get(pi)![gi % STRIDE]!;
      for (let j = 0; j < m; j++) unitSim[i * m + j]! += op.s[(gi % STRIDE) * op.n + (pool.units[j]![k]! % STRIDE)]!;
    }
  }
  const order = groupChannels(unitSim, m, o.p, unitNorm);
  const snapshot = new Map([...orders].map(([k, v]) => [k, Int32Array.from(v)]));
  for (let slot = 0; slot < m; slot++) {
    pool.units[slot]!.forEach((g, k) => {
      const from = pool.units[order[slot]!]![k]!;
      orders.get(Math.floor(g / STRIDE))![g % STRIDE] = snapshot.get(Math.floor(from / STRIDE))![from % STRIDE]!;
    });
  }
}

/**
 * A recurrent W/R [D, G·H, in] as H rows, one per hidden unit: its D·G gate rows side by side
 * (in hiddenLayout a hidden unit's gate rows share bits with those of the units in its group).
 */
function hiddenUnitWeights(w: Float32Array, layer: WeightLayer, hidden: number): Float32Array {
  const [d, rows, cols] = layer.nodeShape!;
  return transpose(w, [(d! * rows!) / hidden, hidden, cols!], [1, 0, 2]);
}

function objective(tiled: { pi: number; producer: Producer; choice: LayerChoice }[]): { obj: Objective; norms: Map<number, Float64Array> } {
  const sim: Objective['sim'] = new Map();
  const norms = new Map<number, Float64Array>();
  const features = new Map<number, Float32Array[][]>();
  const pOf = new Map<number, number>(); // a node's W and R: the last one's p, as one space
  for (const { pi, producer, choice } of tiled) {
    const n = producer.channels;
    let w = consumedWeight(choice.layer);
    let [shape, outAxis] = [choice.layer.shape, choice.layer.outAxis];
    if (isRecurrent(choice.layer.op)) [w, shape, outAxis] = [hiddenUnitWeights(w, choice.layer, n), [n, w.length / n], 0];
    const rows = outputRows(w, shape, outAxis);
    // W and R of one recurrent node are one producer: their similarities and norms add.
    features.set(pi, [...(features.get(pi) ?? []), rows]);
    const nrm = norms.get(pi) ?? new Float64Array(n);
    const k = w.length / n;
    for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) nrm[r]! += (outAxis === 0 ? w[r * k + i]! : w[i * n + r]!) ** 2;
    norms.set(pi, nrm);
    pOf.set(pi, choice.layout.p);
  }
  for (const [pi, rows] of features) {
    const n = rows[0]!.length;
    const p = pOf.get(pi)!;
    sim.set(pi, { s: similarity(rows, n), n, groups: n / p, p, layers: rows.length });
  }
  return { obj: { sim }, norms };
}

/**
 * Permutes the output channels of the chosen layers (and everything tied to them). `grown`:
 * shapes with the dynamic input dimensions grown (growableShapes), so that no permutation is
 * carried through a reshape that mixes channels with a batch or sequence axis.
 */
export function permuteChannels(model: Model, choices: LayerChoice[], shapes: Map<string, number[]>, grown?: Map<string, number[]>): { model: Model; report: PermutationReport[]; movedNodes: Set<number> } {
  const layers = findWeightLayers(model);
  const producers: Producer[] = [];
  const byNode = new Map<number, number>();
  for (const l of layers) {
    const p = producerOf(l, shapes);
    if (!p || byNode.has(l.nodeIndex)) continue; // a recurrent node's W and R: one producer
    byNode.set(l.nodeIndex, producers.length);
    producers.push(p);
  }
  const spaces = new ChannelSpaces(model, shapes, producers, grown);
  // A recurrent W/R along its gate rows gives a hidden unit's gates one pattern, whatever
  // order the hidden units are in: only hiddenLayout is helped by moving them.
  const along = choices.filter((c) => c.regionsAlongOutput && byNode.has(c.layer.nodeIndex) && (!isRecurrent(c.layer.op) || alongHiddenUnits(c)));
  const tiled = along.map((c) => ({ pi: byNode.get(c.layer.nodeIndex)!, producer: producers[byNode.get(c.layer.nodeIndex)!]!, choice: c }));
  const covered = new Set<number>();
  const analyses: BaseAnalysis[] = [];
  // A recurrent node's W and R share one producer index: analysed once.
  for (const pi of new Set(tiled.map((t) => t.pi))) if (!covered.has(pi * STRIDE)) analyses.push(spaces.analyse(pi, covered));
  const { obj, norms } = objective(tiled);
  const orders = new Map<number, Int32Array>(producers.map((p, i) => [i, Int32Array.from({ length: p.channels }, (_, c) => c)]));
  const before = new Map([...orders].map(([k, v]) => [k, Int32Array.from(v)]));
  const pools = analyses.flatMap((a) => a.pools);
  for (const pool of pools) greedyStart(obj, orders, pool, norms);
  for (let pass = 0; pass < 4; pass++) {
    let improved = false;
    for (const pool of pools) {
      for (let i = 0; i < pool.units.length; i++) for (let j = i + 1; j < pool.units.length; j++) improved = trySwap(obj, orders, pool, i, j) || improved;
    }
    if (!improved) break;
  }
  const moved = new Map([...orders].filter(([, o]) => o.some((v, i) => v !== i)));
  let failure: string | undefined;
  let permuted = model;
  if (moved.size) {
    try {
      permuted = applyEdits(model, spaces.flow(moved).edits);
    } catch (e) {
      if (!(e instanceof FlowFailure)) throw e;
      failure = `the chosen permutation did not check (${e.message})`;
    }
  }
  const report = analyses.map((a): PermutationReport => {
    const members = [...new Set([a.base, ...a.pools.flatMap((p) => p.units.flat().map((g) => Math.floor(g / STRIDE)))])];
    const names = members.map((pi) => producers[pi]!.layer.node.name || producers[pi]!.layer.label);
    const ps = new Set(members.map((pi) => obj.sim.get(pi)?.p).filter((x): x is number => x !== undefined));
    const entry: PermutationReport = { layers: names, channels: producers[a.base]!.channels, p: ps.size === 1 ? [...ps][0]! : null, permuted: false, structure: a.structure };
    if (a.pinned) return { ...entry, reason: a.pinned };
    if (failure) return { ...entry, reason: failure };
    entry.permuted = members.some((pi) => moved.has(pi));
    if (!entry.permuted) entry.reason = 'the tiles fit best as the channels are';
    entry.similarityBefore = meanSimilarity(obj, before, members);
    entry.similarityAfter = meanSimilarity(obj, failure ? before : orders, members);
    return entry;
  });
  const movedNodes = new Set(failure ? [] : [...moved.keys()].map((pi) => producers[pi]!.layer.nodeIndex));
  return { model: failure ? model : permuted, report: [...report, ...recurrentReports(choices)], movedNodes };
}

/** Recurrent nodes tiled along their gate rows only, reported as left as they are, and why. */
function recurrentReports(choices: LayerChoice[]): PermutationReport[] {
  const nodes = new Map<number, LayerChoice>();
  const hidden = new Set(choices.filter(alongHiddenUnits).map((c) => c.layer.nodeIndex));
  for (const c of choices) if (isRecurrent(c.layer.op) && !hidden.has(c.layer.nodeIndex) && !nodes.has(c.layer.nodeIndex)) nodes.set(c.layer.nodeIndex, c);
  return [...nodes.values()].map((c) => {
    const l = c.layer;
    const reason = `regions along the gate rows: a hidden unit's gates share bits in any order of the ${l.op}'s hidden units`;
    return { layers: [l.node.name || l.label], channels: l.outDim, p: c.layout.p, permuted: false, reason };
  });
}

/** The model with every edit applied (initializers and Constant nodes). */
export function applyEdits(model: Model, edits: Map<string, AxisPerm>): Model {
  const initializers = model.graph.initializers.map((t) => (t.name && edits.has(t.name) ? permuteTensor(t, edits.get(t.name)!) : t));
  const nodes = model.graph.nodes.map((n): Node => {
    if (n.opType !== 'Constant' || !edits.has(n.outputs[0]!)) return n;
    const t = getAttr(n, 'value')?.t;
    if (!t) throw new FlowFailure(`Constant '${n.outputs[0]}' holds no tensor`);
    const p = edits.get(n.outputs[0]!)!;
    return { ...n, attributes: n.attributes.map((a) => (a.name === 'value' ? { ...a, t: permuteTensor(t, p) } : a)) };
  });
  return { ...model, graph: { ...model.graph, initializers, nodes } };
}

/** A tensor with its positions permuted, whatever its element type holds (packed 2- and 4-bit codes, complex pairs). */
function permuteTensor(t: OnnxTensor, p: AxisPerm): OnnxTensor {
  const bits = dtypeBits(t.dtype); // 0 for strings: one byte array per element
  let data: OnnxTensor['data'];
  if (bits > 0 && bits < 8) data = permutePacked(t.data as Uint8Array, t.dims, bits, p);
  else if (t.dtype === 'complex64' || t.dtype === 'complex128') data = applyPerm(t.data as Float32Array, [...t.dims, 2], p);
  else data = applyPerm(t.data as Float32Array, t.dims, p);
  return { ...t, data, encoding: t.encoding === 'typed' ? 'raw' : t.encoding };
}

/** Sub-byte codes packed low bits first, `bits` each, moved element by element. */
function permutePacked(bytes: Uint8Array, dims: number[], bits: number, p: AxisPerm): Uint8Array {
  const full = lift(p, dims.map((_, i) => i), dims);
  const per = 8 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(bytes.length);
  for (let y = 0; y < full.order.length; y++) {
    const x = full.order[y]!;
    const code = (bytes[Math.floor(x / per)]! >> ((x % per) * bits)) & mask;
    out[Math.floor(y / per)]! |= code << ((y % per) * bits);
  }
  return out;
}
