// Which layers get tiled, at which p and along which axis. A layer is tiled when its weight
// has at least λ parameters (or it is named in --layer-p), p divides its size, it matches the
// include/exclude patterns, computes in float32, float16 or bfloat16 (its weight may be stored
// quantized) and does not share its weight with another node. Every layer that is not tiled
// gets a reason. `tbn inspect` asks the same questions (tileableLayers, lambdaFor), so both
// commands agree on what is tileable.

import { UsageError } from '../errors.js';
import { consumerMap } from '../ir/graph.js';
import type { Model } from '../ir/types.js';
import { TILE_FLOAT_TYPES } from './format.js';
import { findWeightLayers, hiddenSize, isRecurrent, RECURRENT_GATES, type WeightLayer } from './layers.js';
import { chooseLambda, tensorBytes, type LambdaChoice } from './sizes.js';
import type { TileLayout } from './tile.js';

/** `hidden` is for recurrent W/R (hiddenLayout); other layers read it as `auto`. */
export type AxisPolicy = 'auto' | 'output' | 'input' | 'row-major' | 'hidden';
export const AXIS_POLICIES = ['auto', 'output', 'input', 'row-major', 'hidden'] as const satisfies readonly AxisPolicy[];

/** A layer's p in --layer-p that keeps it fp32. */
export const KEEP_FP32 = 0;

export interface SelectOptions {
  p?: number;
  /** node or weight name → p (1 = binary with one α, KEEP_FP32 = left as it is). */
  layerP?: Map<string, number>;
  /** Layers under λ (or excluded by size only) become binary with one α (p = 1). */
  binarizeRest?: boolean;
  /** λ; chosen from the model (lambdaFor) when absent. */
  minParams?: number;
  include?: string[];
  exclude?: string[];
  tileAxis?: AxisPolicy;
  /** Per-layer axis policy (node or weight name, glob or /regex/ → policy); wins over `tileAxis`. */
  layerAxis?: [string, AxisPolicy][];
  /**
   * Nodes whose hidden units the permutation moved. Under `auto` a recurrent W/R goes along its
   * hidden units, where the units sharing bits are made alike, only when its node is here; where
   * they did not move the gate rows measured better at p = 4 (docs/design.md, "Recurrent
   * layers"). Absent: before the permutation, which scores the hidden-unit layout.
   */
  movedNodes?: ReadonlySet<number>;
}

export interface LayerChoice {
  layer: WeightLayer;
  layout: TileLayout;
  /** The tile regions run along the layer's output features (so groups of outputs share bits). */
  regionsAlongOutput: boolean;
}

export interface Selection {
  chosen: LayerChoice[];
  /** underLambda: skipped for its size alone (λ), so a lower --min-params would tile it. */
  skipped: { layer: WeightLayer; reason: string; underLambda?: boolean }[];
}

/** Distinct output rows of bits below which output-axis tiling loses too much
 * (docs/design.md §1). */
const MIN_DISTINCT_ROWS = 16;

/** A glob (`*`, `?`) or a /regex/. */
export function namePattern(spec: string): RegExp {
  const m = /^\/(.*)\/([a-z]*)$/.exec(spec);
  if (m) {
    try {
      return new RegExp(m[1]!, m[2]);
    } catch {
      throw new UsageError(`pattern '${spec}' is not a valid regular expression`);
    }
  }
  const re = spec.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

export function parseLayerAxis(specs: readonly string[] | undefined): [string, AxisPolicy][] {
  return (specs ?? []).map((s) => {
    const eq = s.lastIndexOf('=');
    const policy = s.slice(eq + 1) as AxisPolicy;
    if (eq <= 0 || !(AXIS_POLICIES as readonly string[]).includes(policy)) throw new UsageError(`--layer-axis '${s}': expected name=${AXIS_POLICIES.join('|')}`);
    return [s.slice(0, eq), policy];
  });
}

export function parseLayerP(specs: readonly string[] | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of specs ?? []) {
    const eq = s.lastIndexOf('=');
    const value = s.slice(eq + 1);
    const p = value === 'fp32' ? KEEP_FP32 : Number(value);
    if (eq <= 0 || !Number.isInteger(p) || p < 0) throw new UsageError(`--layer-p '${s}': expected name=p with p a positive integer, or name=fp32`);
    m.set(s.slice(0, eq), p);
  }
  return m;
}

/** The stream axis (tile_axis) whose regions run along the layer's output or input features. */
export function axisFor(layer: WeightLayer, along: 'output' | 'input'): 0 | 1 {
  // tile_axis 0 cuts regions along shape[0]; tile_axis 1 along the rest.
  const outIsFirst = layer.outAxis === 0;
  return along === 'output' ? (outIsFirst ? 0 : 1) : outIsFirst ? 1 : 0;
}

function chooseAxis(layer: WeightLayer, p: number, policy: Exclude<AxisPolicy, 'hidden'>): 0 | 1 {
  if (policy === 'row-major') return 0;
  if (policy === 'output') return axisFor(layer, 'output');
  if (policy === 'input') return axisFor(layer, 'input');
  // Embedding rows are tokens: regions along them would give p tokens one bit pattern.
  if (layer.op === 'Gather' && layer.outDim % p === 0) return axisFor(layer, 'output');
  // Recurrent W/R where hiddenLayout does not apply (p does not divide H): the gate rows
  // (docs/design.md, "Recurrent layers").
  if (isRecurrent(layer.op) && layer.outDim % p === 0) return axisFor(layer, 'output');
  const outOk = layer.outDim % p === 0 && layer.outDim / p >= MIN_DISTINCT_ROWS;
  const inOk = layer.inDim % p === 0 && (layer.op !== 'Conv' || layer.shape.length === 2);
  if (outOk || !inOk) return axisFor(layer, layer.outDim % p === 0 || !inOk ? 'output' : 'input');
  return axisFor(layer, 'input');
}

/**
 * A recurrent W/R [D, G·H, in] with regions along its hidden units and every gate its own bits:
 * the view [D·G, H·in] streamed column-first (tile_axis 1) puts direction and gate innermost,
 * so region r holds hidden units [r·H/p, (r+1)·H/p) of every gate, and the D·G gate rows of a
 * hidden unit read distinct bits (the gate-row layout gives them one pattern at p = G). The
 * same data as the node's weight, so TbnDecode and Reshape express it. Undefined where p does
 * not divide H (a region would cut a hidden unit's row) or p = 1.
 */
export function hiddenLayout(layer: WeightLayer, p: number): TileLayout | undefined {
  // p = 1 (--binarize-rest) has one region: no bits are shared, whatever the layout.
  if (!isRecurrent(layer.op) || !layer.nodeShape || p < 2) return undefined;
  const [d, , cols] = layer.nodeShape as [number, number, number];
  const gates = RECURRENT_GATES[layer.op];
  const hidden = hiddenSize(layer);
  if (!Number.isInteger(hidden) || hidden % p !== 0) return undefined;
  return { shape: [d * gates, hidden * cols], p, tileAxis: 1 };
}

/** Whether a choice is a recurrent W/R in hiddenLayout (its hidden units are what moving them groups). */
export function alongHiddenUnits(c: LayerChoice): boolean {
  const h = hiddenLayout(c.layer, c.layout.p);
  return !!h && c.layout.tileAxis === h.tileAxis && c.layout.shape.every((d, i) => d === h.shape[i]);
}

/** The layout for `layer` at `p` under an axis policy. */
export function makeChoice(layer: WeightLayer, p: number, policy: AxisPolicy = 'auto', movedNodes?: ReadonlySet<number>): LayerChoice {
  // Recurrent W/R: along the hidden units by default — with the hidden units moved so that
  // the units sharing bits are alike it measured best at p = 2 and 4 (docs/design.md,
  // "Recurrent layers"); SelectOptions.movedNodes says where they did not move.
  const auto = policy === 'auto' && (!movedNodes || movedNodes.has(layer.nodeIndex));
  const hidden = policy === 'hidden' || auto ? hiddenLayout(layer, p) : undefined;
  // Hidden units j, j + H/p, … share bits: the node's output channels, grouped as for a Gemm.
  if (hidden) return { layer, layout: hidden, regionsAlongOutput: true };
  // `hidden` where p does not divide H, or on a layer that is not recurrent: as `auto`.
  const tileAxis = chooseAxis(layer, p, policy === 'hidden' ? 'auto' : policy);
  return { layer, layout: { shape: layer.shape, p, tileAxis }, regionsAlongOutput: tileAxis === axisFor(layer, 'output') && layer.outDim % p === 0 };
}

export function layerNames(l: WeightLayer): string[] {
  return [l.node.name ?? '', l.source.name].filter(Boolean);
}

export interface TileableLayer {
  layer: WeightLayer;
  /** Why the layer cannot be tiled at any p or λ; undefined when it can be. */
  blocked?: string;
}

/** Every weight layer, and why those that can never be tiled cannot (what λ is chosen over). */
export function tileableLayers(model: Model): TileableLayer[] {
  const consumers = consumerMap(model.graph);
  return findWeightLayers(model).map((layer) => {
    if (layer.unsupported) return { layer, blocked: layer.unsupported };
    if (!(TILE_FLOAT_TYPES as readonly string[]).includes(layer.dtype)) return { layer, blocked: `computes in ${layer.dtype}; tbn tiles float32, float16 and bfloat16 layers` };
    if (sharedWeight(layer, model, consumers)) return { layer, blocked: 'its weight also feeds other nodes' };
    return { layer };
  });
}

/** Bytes a layer's weight takes in the file. */
export const storedBytes = (layer: WeightLayer): number => tensorBytes(layer.source.tensor);

/** λ for a model: `minParams` when given, else chosen from its tileable layers (chooseLambda). */
export function lambdaFor(model: Model, minParams?: number, layers: TileableLayer[] = tileableLayers(model)): LambdaChoice {
  if (minParams !== undefined && (!Number.isInteger(minParams) || minParams < 0)) throw new UsageError('--min-params must be a non-negative integer');
  const seen = new Set<string>();
  const open = layers.filter((t) => !t.blocked && !seen.has(t.layer.source.name) && seen.add(t.layer.source.name));
  const first = Math.min(...open.map((t) => t.layer.nodeIndex));
  return chooseLambda(open.map((t) => ({ params: t.layer.params, bytes: storedBytes(t.layer), first: t.layer.nodeIndex === first })), minParams);
}

export function selectLayers(model: Model, opts: SelectOptions = {}): Selection {
  const p = opts.p ?? 4;
  if (!Number.isInteger(p) || p < 1) throw new UsageError(`-p must be a positive integer, not ${opts.p}`);
  const tileable = tileableLayers(model);
  const minParams = opts.minParams ?? lambdaFor(model, undefined, tileable).value;
  const include = (opts.include ?? []).map(namePattern);
  const exclude = (opts.exclude ?? []).map(namePattern);
  const layerP = opts.layerP ?? new Map();
  const layerAxis = (opts.layerAxis ?? []).map(([pat, policy]) => [namePattern(pat), policy] as const);
  const axisOf = (names: string[]) => layerAxis.find(([re]) => names.some((n) => re.test(n)))?.[1] ?? opts.tileAxis;
  const known = new Set(tileable.flatMap((t) => layerNames(t.layer)));
  for (const name of layerP.keys()) {
    if (!known.has(name)) throw new UsageError(`--layer-p ${name}: no compressible layer has that node or weight name`);
  }
  const chosen: LayerChoice[] = [];
  const skipped: Selection['skipped'] = [];
  for (const { layer, blocked } of tileable) {
    const names = layerNames(layer);
    const override = names.map((n) => layerP.get(n)).find((v) => v !== undefined);
    const lp = override ?? p;
    const skip = (reason: string, underLambda?: boolean) => skipped.push({ layer, reason, ...(underLambda && { underLambda }) });
    if (layer.unsupported) skip(layer.unsupported);
    else if (include.length && !names.some((n) => include.some((re) => re.test(n)))) skip('not matched by --include');
    else if (names.some((n) => exclude.some((re) => re.test(n)))) skip('matched by --exclude');
    else if (lp === KEEP_FP32) skip('kept fp32 (--layer-p)');
    else if (blocked) skip(blocked);
    else if (override === undefined && layer.params < minParams) {
      if (opts.binarizeRest) chosen.push(makeChoice(layer, 1, axisOf(names), opts.movedNodes));
      else skip(`${layer.params} parameters < λ = ${minParams}`, true);
    } else if (layer.params % lp !== 0) skip(`p = ${lp} does not divide ${layer.params}`);
    else chosen.push(makeChoice(layer, lp, axisOf(names), opts.movedNodes));
  }
  return { chosen, skipped };
}

/** True when the weight, or any value on its way to the layer, is read by another node too. */
function sharedWeight(layer: WeightLayer, model: Model, consumers: Map<string, number[]>): boolean {
  const values = [layer.source.name, ...layer.source.chain.map((c) => model.graph.nodes[c.node]!.outputs[0]!)];
  const graphOutputs = new Set(model.graph.outputs.map((o) => o.name));
  return values.some((v) => (consumers.get(v)?.length ?? 0) > 1 || graphOutputs.has(v));
}
