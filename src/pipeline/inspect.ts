// `tbn inspect`: what a model holds and what TBN can make of it — every compressible weight
// layer with its divisors and sizes at each p, and whole-model estimates.

import { UsageError } from '../errors.js';

import { dtypeBits, type DType } from '../ir/dtype.js';
import type { Graph, Model, Tensor } from '../ir/types.js';
import { loadModel } from '../onnx/file.js';
import { findWeightLayers } from '../tbn/layers.js';
import { layerSensitivity, type LayerSensitivity } from '../tbn/sensitivity.js';
import { loadData } from '../data/dataset.js';
import { parseInputShapes } from '../data/synthetic.js';
import { CANDIDATE_P, DEFAULT_MIN_PARAMS, bitsPerWeight, tiledBytes } from '../tbn/sizes.js';

export interface InspectOptions {
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
  underThreshold: boolean;
  /** Why tbn cannot tile this layer (a quantized form it does not handle), or null. */
  notTileable: string | null;
  candidates: LayerCandidate[];
}

export interface InspectTotals {
  params: number;
  weightBytes: number;
  /** Bytes of everything that is not a tileable layer at or above λ. */
  restBytes: number;
  tileableParams: number;
  perP: { p: number; tiledLayers: number; tiledParams: number; tiledBytes: number; estimatedFileBytes: number; bitsPerTiledWeight: number | null; bitsPerWeight: number }[];
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
  layers: InspectLayer[];
  totals: InspectTotals;
  sensitivity: LayerSensitivity[] | null;
}

/** Bytes of one α: the layer's float type (float32 for anything else). */
function alphaBytes(dtype: DType): number {
  return dtype === 'float16' || dtype === 'bfloat16' ? 2 : 4;
}

function tensorBytes(t: Tensor): number {
  const n = t.dims.reduce((a, b) => a * b, 1);
  return t.dtype === 'string' ? 0 : Math.ceil((n * dtypeBits(t.dtype)) / 8);
}

function countOps(graph: Graph, into: Record<string, number>): void {
  for (const n of graph.nodes) {
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    into[key] = (into[key] ?? 0) + 1;
    for (const a of n.attributes) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) countOps(g, into);
  }
}

/** All constant weight bytes: initializers and Constant-node tensors. */
function constantBytes(model: Model): { params: number; bytes: number } {
  let params = 0;
  let bytes = 0;
  const add = (t: Tensor) => {
    params += t.dims.reduce((a, b) => a * b, 1);
    bytes += tensorBytes(t);
  };
  model.graph.initializers.forEach(add);
  for (const n of model.graph.nodes) if (n.opType === 'Constant') for (const a of n.attributes) if (a.t) add(a.t);
  return { params, bytes };
}

function describeValue(v: Graph['inputs'][number]) {
  const t = v.type?.kind === 'tensor' ? v.type : undefined;
  return {
    name: v.name ?? '',
    dtype: t?.elemType ?? 'unknown',
    shape: (t?.shape ?? []).map((d) => d.value ?? d.param ?? '?'),
  };
}

/** Rough size of the ONNX functions and node attributes a compressed model adds. */
const FORMAT_OVERHEAD_BYTES = 4096;

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

export function inspectModel(file: string, opts: InspectOptions = {}): InspectReport {
  const minParams = opts.minParams ?? DEFAULT_MIN_PARAMS;
  if (!Number.isInteger(minParams) || minParams < 0) throw new UsageError(`--min-params must be a non-negative integer`);
  const { model, fileBytes, externalBytes } = loadModel(file);
  const found = findWeightLayers(model);
  const layers: InspectLayer[] = found.map((l) => ({
    node: l.node.name || l.label,
    op: l.node.opType,
    weight: l.source.name,
    weightSource: [l.source.kind, ...l.source.chain.map((c) => c.op), ...(l.integer ? [`${l.node.opType} (as ${l.op})`] : [])].join(' → '),
    shape: l.shape,
    params: l.params,
    outDim: l.outDim,
    fp32Bytes: 4 * l.params,
    storedBytes: tensorBytes(l.source.tensor),
    underThreshold: l.params < minParams,
    notTileable: l.unsupported ?? null,
    candidates: CANDIDATE_P.map((p) => {
      const divides = l.params % p === 0 && !l.unsupported;
      return { p, divides, dividesOut: divides && l.outDim % p === 0, bytes: divides ? tiledBytes(l.params, p, p, alphaBytes(l.dtype)) : null };
    }),
  }));
  const alphaBytesOf = new Map(found.map((l) => [l.source.name, alphaBytes(l.dtype)]));
  const all = constantBytes(model);
  // A weight shared by several layers is counted once.
  const seen = new Set<string>();
  const tileable = layers.filter((l) => !l.underThreshold && !l.notTileable && !seen.has(l.weight) && seen.add(l.weight));
  const tileableStored = tileable.reduce((a, l) => a + l.storedBytes, 0);
  const totalFile = fileBytes + externalBytes;
  const perP = CANDIDATE_P.map((p) => {
    const tiled = tileable.filter((l) => l.params % p === 0);
    const tiledParams = tiled.reduce((a, l) => a + l.params, 0);
    const tb = tiled.reduce((a, l) => a + tiledBytes(l.params, p, p, alphaBytesOf.get(l.weight)), 0);
    const saved = tiled.reduce((a, l) => a + l.storedBytes, 0) - tb;
    const estimatedFileBytes = totalFile - saved + (tiled.length ? FORMAT_OVERHEAD_BYTES : 0);
    return {
      p,
      tiledLayers: tiled.length,
      tiledParams,
      tiledBytes: tb,
      estimatedFileBytes,
      bitsPerTiledWeight: tiledParams ? bitsPerWeight(tiledParams, tb) : null,
      bitsPerWeight: all.params ? bitsPerWeight(all.params, all.bytes - saved) : 0,
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
    layers,
    sensitivity: null,
    totals: {
      params: all.params,
      weightBytes: all.bytes,
      restBytes: all.bytes - tileableStored,
      tileableParams: tileable.reduce((a, l) => a + l.params, 0),
      perP,
    },
  };
}

