// `tbn inspect`: what a model holds and what TBN can make of it — every compressible weight
// layer with its divisors and sizes at each p, and whole-model estimates.

import { UserError } from '../errors.js';
import type { ElementType } from '../ir/dtype.js';
import { graph as buildGraph, model as buildModel } from '../ir/build.js';
import { compactValueNames } from '../ir/compact-names.js';
import { float16Saving } from '../ir/float16-storage.js';
import { defaultOpset } from '../ir/graph.js';
import type { Graph, Model } from '../ir/types.js';
import { upgradeOpset, type UpgradeStep } from '../ir/upgrade/index.js';
import { encodeModelInline, loadModel } from '../onnx/file.js';
import { MIN_FUNCTION_OPSET, type TbnOpName } from '../tbn/format.js';
import { tbnFunction } from '../tbn/functions.js';
import { fusedOpFor } from '../tbn/rewrite.js';
import { lambdaFor, storedBytes, tileableLayers } from '../tbn/select.js';
import { layerSensitivity, type LayerSensitivity } from '../tbn/sensitivity.js';
import { loadData } from '../data/dataset.js';
import { parseInputShapes } from '../data/synthetic.js';
import { CANDIDATE_P, constantWeights, modelBitsPerWeight, tiledBytes, bitsPerWeight, type LambdaChoice } from '../tbn/sizes.js';

export interface InspectOptions {
  /** λ; chosen from the model (as tbn compress does) when absent. */
  minParams?: number;
  /** Per-layer sensitivity on this data (tbn inspect --data … --sensitivity). */
  sensitivity?: { data: string; labelKey?: string; preprocess?: string[]; labels?: string; inputShape?: string[]; maxP?: number; seed?: number; onLayer?: (done: number, total: number, node: string) => void };
}

export interface LayerCandidate {
  p: number;
  /** p divides the parameter count: the layer can be tiled at this p. */
  divides: boolean;
  /** p also divides the output dimension: kernels need p× fewer multiply-accumulates. */
  dividesOut: boolean;
  bytes: number | null;
}

export interface InspectLayer {
  node: string;
  op: string;
  weight: string;
  weightSource: string;
  shape: number[];
  params: number;
  outDim: number;
  fp32Bytes: number;
  /** Bytes the weight takes in the file now (float16 weights take half of fp32). */
  storedBytes: number;
  /** Why the layer can never be tiled (its type, a shared weight, a quantized form tbn does not handle), or null. */
  blocked: string | null;
  underThreshold: boolean;
  /** The quantized form tbn does not handle, when that is why (also in `blocked`), or null. */
  notTileable: string | null;
  candidates: LayerCandidate[];
}

export interface InspectTotals {
  params: number;
  weightBytes: number;
  /** Bytes of everything that is not a tileable layer at or above λ. */
  restBytes: number;
  /** What `compress --rest-dtype float16` would save of restBytes (the float32 tensors it can hold). */
  restFloat16Saving: number;
  tileableParams: number;
  perP: { p: number; tiledLayers: number; tiledParams: number; tiledBytes: number; estimatedFileBytes: number; bitsPerTiledWeight: number | null; bitsPerWeight: number | null }[];
}

export interface InspectReport {
  file: string;
  fileBytes: number;
  externalBytes: number;
  irVersion: number | null;
  opsets: { domain: string; version: number | null }[];
  producer: string;
  inputs: { name: string; dtype: string; shape: (number | string)[] }[];
  outputs: { name: string; dtype: string; shape: (number | string)[] }[];
  ops: Record<string, number>;
  minParams: number;
  /** How λ was set (--min-params or chosen from the model) and why. */
  lambda: LambdaChoice;
  /** What the custom format's opset upgrade would do (null: the model's opset needs none). */
  opsetUpgrade: { from: number; to: number; converted: UpgradeStep[]; versionOnly: number; problem: string | null } | null;
  layers: InspectLayer[];
  totals: InspectTotals;
  sensitivity: LayerSensitivity[] | null;
}

/** Bytes of one α: the layer's float type (float32 for anything else). */
function alphaBytes(dtype: ElementType): number {
  return dtype === 'float16' || dtype === 'bfloat16' ? 2 : 4;
}

function countOps(graph: Graph, into: Record<string, number>): void {
  for (const n of graph.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    into[key] = (into[key] ?? 0) + 1;
    for (const a of n.attributes) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) countOps(g, into);
  }
}

function describeValue(v: Graph['inputs'][number]) {
  const t = v.type?.kind === 'tensor' ? v.type : undefined;
  return {
    name: v.name ?? '',
    dtype: t?.elemType ?? 'unknown',
    shape: (t?.shape ?? []).map((d) => d.value ?? d.param ?? '?'),
  };
}

/** What a tiled layer adds besides its tile: the op's attributes, its tile tensors' names (the
 * weight's name and a suffix, each written where defined and where read) and its tbn.layers
 * entry in the metadata (names again). */
const layerOverheadBytes = (node: string, weight: string) => 120 + 2 * node.length + 5 * weight.length;

/** Encoded size of the model-local function an ai.tbn op brings (its base body, no epilogue). */
function functionBytes(op: TbnOpName, opset: number): number {
  const bare = buildModel(buildGraph({ nodes: [], inputs: [], outputs: [] }), { opset });
  return encodeModelInline({ ...bare, functions: [tbnFunction(op, opset)] }).length - encodeModelInline(bare).length;
}

export async function inspectWithSensitivity(file: string, opts: InspectOptions): Promise<InspectReport> {
  const report = inspectModel(file, opts);
  const s = opts.sensitivity;
  if (!s) return report;
  const { model } = loadModel(file);
  const data = await loadData(s.data, model, { labelKey: s.labelKey, preprocess: s.preprocess, labels: s.labels });
  const table = await layerSensitivity(file, model, data, { minParams: report.minParams }, parseInputShapes(s.inputShape), {
    maxP: s.maxP ?? 32,
    powersOfTwo: true,
    alpha: 'per-tile',
    permute: true,
    seed: s.seed ?? 0,
    onLayer: s.onLayer,
  });
  return { ...report, sensitivity: table };
}

/** The custom format's opset upgrade, tried without running anything. */
function previewUpgrade(model: Model): InspectReport['opsetUpgrade'] {
  const from = defaultOpset(model);
  if (from === undefined || from >= MIN_FUNCTION_OPSET) return null;
  try {
    const { report } = upgradeOpset(model, MIN_FUNCTION_OPSET);
    return { from, to: report.to, converted: report.converted, versionOnly: report.versionOnly, problem: null };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { from, to: MIN_FUNCTION_OPSET, converted: [], versionOnly: 0, problem: e.message };
  }
}

export function inspectModel(file: string, opts: InspectOptions = {}): InspectReport {
  const { model, fileBytes, externalBytes } = loadModel(file);
  const found = tileableLayers(model);
  const lambda = lambdaFor(model, opts.minParams, found);
  const minParams = lambda.value;
  const layers: InspectLayer[] = found.map(({ layer: l, blocked }) => ({
    node: l.node.name || l.label,
    op: l.node.opType,
    weight: l.source.name,
    weightSource: [l.source.kind, ...l.source.chain.map((c) => c.op), ...(l.integer ? [`${l.node.opType} (as ${l.op})`] : [])].join(' → '),
    shape: l.shape,
    params: l.params,
    outDim: l.outDim,
    fp32Bytes: 4 * l.params,
    storedBytes: storedBytes(l),
    blocked: blocked ?? null,
    underThreshold: l.params < minParams,
    notTileable: l.unsupported ?? null,
    candidates: CANDIDATE_P.map((p) => {
      const divides = l.params % p === 0 && !l.unsupported;
      return { p, divides, dividesOut: divides && l.outDim % p === 0, bytes: divides ? tiledBytes(l.params, p, p, alphaBytes(l.dtype)) : null };
    }),
  }));
  const alphaBytesOf = new Map(found.map(({ layer: l }) => [l.source.name, alphaBytes(l.dtype)]));
  const opOf = new Map(found.map(({ layer: l }) => [l.source.name, fusedOpFor(l)]));
  const opset = Math.max(defaultOpset(model) ?? MIN_FUNCTION_OPSET, MIN_FUNCTION_OPSET);
  const all = constantWeights(model);
  // A weight shared by several layers is counted once.
  const seen = new Set<string>();
  const tileable = layers.filter((l) => !l.blocked && !l.underThreshold && !seen.has(l.weight) && seen.add(l.weight));
  const tileableStored = tileable.reduce((a, l) => a + l.storedBytes, 0);
  const totalFile = fileBytes + externalBytes;
  // tbn compress writes short value names.
  const namesSaved = compactValueNames(model).bytesSaved;
  const functionSize = new Map([...new Set(opOf.values())].map((op) => [op, functionBytes(op, opset)]));
  const perP = CANDIDATE_P.map((p) => {
    const tiled = tileable.filter((l) => l.params % p === 0);
    const tiledParams = tiled.reduce((a, l) => a + l.params, 0);
    const tb = tiled.reduce((a, l) => a + tiledBytes(l.params, p, p, alphaBytesOf.get(l.weight)), 0);
    const saved = tiled.reduce((a, l) => a + l.storedBytes, 0) - tb;
    const ops = new Set(tiled.map((l) => opOf.get(l.weight)!));
    const format = [...ops].reduce((a, op) => a + functionSize.get(op)!, 0) + tiled.reduce((a, l) => a + layerOverheadBytes(l.node, l.weight), 0);
    const estimatedFileBytes = totalFile - saved + (tiled.length ? format - namesSaved : 0);
    return {
      p,
      tiledLayers: tiled.length,
      tiledParams,
      tiledBytes: tb,
      estimatedFileBytes,
      bitsPerTiledWeight: tiledParams ? bitsPerWeight(tiledParams, tb) : null,
      bitsPerWeight: modelBitsPerWeight(all.params, all.bytes - saved),
    };
  });
  const ops: Record<string, number> = {};
  countOps(model.graph, ops);
  return {
    file,
    fileBytes,
    externalBytes,
    irVersion: model.irVersion ?? null,
    opsets: model.opsetImports.map((o) => ({ domain: o.domain || 'ai.onnx', version: o.version ?? null })),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: model.graph.inputs.filter((v) => !model.graph.initializers.some((t) => t.name === v.name)).map(describeValue),
    outputs: model.graph.outputs.map(describeValue),
    ops,
    minParams,
    lambda,
    opsetUpgrade: previewUpgrade(model),
    layers,
    sensitivity: null,
    totals: {
      params: all.params,
      weightBytes: all.bytes,
      restBytes: all.bytes - tileableStored,
      restFloat16Saving: float16Saving(model, new Set(tileable.map((l) => l.weight))),
      tileableParams: tileable.reduce((a, l) => a + l.params, 0),
      perP,
    },
  };
}

