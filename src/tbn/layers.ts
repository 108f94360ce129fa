// Finds the weight layers TBN can compress: Gemm, MatMul and Conv (1-D, 2-D) nodes whose
// weight is a constant — an initializer or a Constant node, possibly behind the Identity,
// Cast or Transpose nodes that exporters put in between, or quantized: behind DequantizeLinear
// (QDQ) or read by ConvInteger/MatMulInteger in onnxruntime's dynamic-quantization chain
// (quantized.ts) — and embedding tables (a Gather reading rows of a constant 2-D table: token
// and position embeddings), and the input and recurrent weights W and R of LSTM/GRU/RNN nodes
// (recurrentLayers). Quantized layers tbn does not tile are listed too, with the reason.

import { getAttr } from '../ir/attrs.js';
import { consumerMap, initializerMap, isDefaultDomain, nodeLabel, producerMap } from '../ir/graph.js';
import { bfloat16ToFloat, dtypeFromCode, halfToFloat, type ElementType } from '../ir/dtype.js';
import type { Graph, Model, Node, OnnxTensor } from '../ir/types.js';
import { dequantizeLinear, dequantizeTensor, integerChain, untiledQuantizedOp, type Dequantize, type IntegerChain, type Lookups } from './quantized.js';

export type LayerOp = 'Gemm' | 'MatMul' | 'Conv' | 'Gather' | RecurrentOp;

export type RecurrentOp = 'LSTM' | 'GRU' | 'RNN';
/** Gate blocks G of a recurrent W/R [D, G·H, in] (LSTM i o f c, GRU z r h, RNN one). */
export const RECURRENT_GATES: Record<RecurrentOp, number> = { LSTM: 4, GRU: 3, RNN: 1 };
export const isRecurrent = (op: string): op is RecurrentOp => Object.hasOwn(RECURRENT_GATES, op);
/** Hidden units H of a recurrent W/R, from its node shape [D, G·H, in]. */
export const hiddenSize = (layer: WeightLayer): number => layer.nodeShape![1]! / RECURRENT_GATES[layer.op as RecurrentOp];

export interface WeightSource {
  /** The constant that holds the values: an initializer, or the output of a Constant node. */
  tensor: OnnxTensor;
  kind: 'initializer' | 'constant';
  /** Name of the initializer or of the Constant node's output. */
  name: string;
  /** Index of the Constant node (kind 'constant'). */
  constantNode?: number;
  /** Nodes between the constant and the layer, nearest to the constant first. */
  chain: { node: number; op: 'Identity' | 'Cast' | 'Transpose' | 'DequantizeLinear'; perm?: number[] }[];
  /**
   * The stored values are quantized: this dequantizes them (applied first, to the stored
   * layout). From a DequantizeLinear in `chain`, or implied by an integer op (`integer`).
   */
  dequantize?: Dequantize;
}

export interface WeightLayer {
  nodeIndex: number;
  node: Node;
  label: string;
  /** The float op the layer computes (an integer op's float equivalent). */
  op: LayerOp;
  /** Which input of the node is the weight. */
  weightInput: number;
  source: WeightSource;
  /** Shape of the weight as the layer consumes it (after any Transpose). */
  shape: number[];
  params: number;
  /** Element type the layer computes with (after any Cast or dequantization). */
  dtype: ElementType;
  /** Size of the layer's output-feature axis in `shape`, and that axis. */
  outDim: number;
  outAxis: number;
  /** Size of the input-feature axis (the contracted one; for Conv, in/group · kernel). */
  inDim: number;
  /** ConvInteger/MatMulInteger: the dynamic-quantization chain the tiled layer replaces. */
  integer?: IntegerChain;
  /** Why tbn cannot tile this layer (it is found so that reports can say so). */
  unsupported?: string;
  /**
   * The shape the node reads, when `shape` is a 2-D view of it: a recurrent W/R
   * [D, G·H, in] is tiled as the [D·G·H, in] matrix of its gate rows (same row-major data).
   */
  nodeShape?: number[];
}

const PASS_THROUGH = new Set(['Identity', 'Cast', 'Transpose']);

type Cache = Pick<Lookups, 'inits' | 'prod'>;

/** Follows a value back through Identity/Cast/Transpose to a constant; undefined if it is not one. */
export function constantSource(graph: Graph, value: string, cache?: Cache): WeightSource | undefined {
  const r = traceConstant(graph, value, cache ?? { inits: initializerMap(graph), prod: producerMap(graph) });
  return r && !r.unsupported ? r.source : undefined;
}

/**
 * The constant behind `value` (through Identity/Cast/Transpose and one DequantizeLinear next to
 * the constant), with the reason when it is a quantized constant tbn cannot dequantize.
 */
function traceConstant(graph: Graph, value: string, cache: Cache): { source: WeightSource; unsupported?: string } | undefined {
  const { inits, prod } = cache;
  const chain: WeightSource['chain'] = [];
  let dq: Node | undefined;
  let name = value;
  const found = (t: OnnxTensor, rest: Omit<WeightSource, 'tensor' | 'chain' | 'dequantize'>) => {
    chain.reverse();
    const source: WeightSource = { tensor: t, chain, ...rest };
    if (!dq) return { source };
    // Only a DequantizeLinear that reads the constant itself: its axis refers to the stored layout.
    if (chain[0]?.op !== 'DequantizeLinear') return { source, unsupported: 'DequantizeLinear after a Transpose or Cast of the weight is not tiled' };
    const d = dequantizeLinear(graph, dq, t, cache);
    return typeof d === 'string' ? { source, unsupported: d } : { source: { ...source, dequantize: d } };
  };
  for (let hops = 0; hops < 16; hops++) {
    const init = inits.get(name);
    if (init && !graph.inputs.some((v) => v.name === name)) return found(init, { kind: 'initializer', name });
    const p = prod.get(name);
    if (p === undefined) return undefined;
    const n = graph.nodes[p]!;
    if (!isDefaultDomain(n.domain)) return undefined;
    if (n.opType === 'Constant') {
      const t = getAttr(n, 'value')?.t;
      return t ? found(t, { kind: 'constant', name, constantNode: p }) : undefined;
    }
    if (n.opType === 'DequantizeLinear' && !dq) {
      dq = n;
      chain.push({ node: p, op: 'DequantizeLinear' });
      name = n.inputs[0]!;
      continue;
    }
    if (!PASS_THROUGH.has(n.opType) || n.inputs.length !== 1) return undefined;
    const perm = getAttr(n, 'perm')?.ints?.map(Number);
    chain.push({ node: p, op: n.opType as 'Identity' | 'Cast' | 'Transpose', perm });
    name = n.inputs[0]!;
  }
  return undefined;
}

function consumedType(graph: Graph, src: WeightSource): ElementType | undefined {
  let dtype: ElementType | undefined = src.dequantize?.dtype ?? src.tensor.dtype;
  for (const step of src.chain) {
    if (step.op === 'Cast') dtype = dtypeFromCode(Number(getAttr(graph.nodes[step.node]!, 'to')?.i ?? 0));
  }
  return dtype;
}

function consumedShape(src: WeightSource): number[] {
  let shape = [...src.tensor.dims];
  for (const step of src.chain) {
    if (step.op === 'Transpose') {
      const perm = step.perm ?? shape.map((_, i) => shape.length - 1 - i);
      shape = perm.map((p) => shape[p]!);
    }
  }
  return shape;
}

const FLOAT_WEIGHTS = new Set(['float32', 'float16', 'float64', 'bfloat16']);

/** Output-feature axis and contracted size of a weight of `shape`, or why the layer is not tiled. */
function geometry(op: LayerOp, node: Node, shape: number[], weightInput: number): { outAxis: number; inDim: number } | string | undefined {
  const params = shape.reduce((a, b) => a * b, 1);
  if (op === 'Conv') {
    if (shape.length !== 3 && shape.length !== 4) return undefined; // 1-D and 2-D convolutions
    return { outAxis: 0, inDim: params / shape[0]! };
  }
  if (shape.length !== 2) return undefined; // a 2-D weight; batched constant weights are left alone
  if (op === 'Gemm') {
    if (weightInput !== 1) return undefined;
    const outAxis = Number(getAttr(node, 'transB')?.i ?? 0) ? 0 : 1;
    return { outAxis, inDim: shape[1 - outAxis]! };
  }
  const outAxis = weightInput === 1 ? 1 : 0;
  return { outAxis, inDim: shape[1 - outAxis]! };
}

function layerFrom(node: Node, nodeIndex: number, op: LayerOp, weightInput: number, source: WeightSource, dtype: ElementType, extra: Partial<WeightLayer> = {}): WeightLayer | undefined {
  const shape = consumedShape(source);
  const params = shape.reduce((a, b) => a * b, 1);
  if (params === 0) return undefined;
  const g = geometry(op, node, shape, weightInput);
  if (!g) return undefined;
  const unsupported = typeof g === 'string' ? g : extra.unsupported;
  const { outAxis, inDim } = typeof g === 'string' ? { outAxis: 0, inDim: params / shape[0]! } : g;
  return { nodeIndex, node, label: nodeLabel(node, nodeIndex), op, weightInput, source, shape, params, dtype, outDim: shape[outAxis]!, outAxis, inDim, ...extra, unsupported };
}

/** A ConvInteger/MatMulInteger node as the float layer it stands for. */
function integerLayer(graph: Graph, node: Node, nodeIndex: number, look: Lookups): WeightLayer | undefined {
  const op: LayerOp = node.opType === 'ConvInteger' ? 'Conv' : 'MatMul';
  const traced = traceConstant(graph, node.inputs[1] ?? '', look)?.source;
  if (!traced || traced.chain.length || (traced.tensor.dtype !== 'int8' && traced.tensor.dtype !== 'uint8')) return undefined;
  const rank = traced.tensor.dims.length;
  // Features: W's axis 0 for Conv (output rank = W's rank), W's last axis for MatMul.
  const r = integerChain(graph, nodeIndex, look, op === 'Conv' ? rank - 1 : 1);
  if (typeof r === 'string') return layerFrom(node, nodeIndex, op, 1, traced, 'float32', { unsupported: r });
  const axis = op === 'Conv' ? 0 : rank - 1;
  const len = traced.tensor.dims[axis] ?? 1;
  const { perFeature, ...d } = r.dequantize;
  const source: WeightSource = { ...traced, dequantize: { ...d, axis: perFeature || d.zeroPoint.length > 1 ? axis : 0 } };
  const bad = [d.scale.length, d.zeroPoint.length].some((n) => n !== 1 && n !== len);
  return layerFrom(node, nodeIndex, op, 1, source, r.chain.dtype, bad ? { unsupported: `${node.opType} weight zero point is not per tensor or per output feature` } : { integer: r.chain });
}

/** A quantized layer op tbn does not tile, so that reports name it. */
function untiledLayer(graph: Graph, node: Node, nodeIndex: number, look: Lookups): WeightLayer | undefined {
  const q = untiledQuantizedOp(node);
  const source = q && constantSource(graph, node.inputs[q.weightInput] ?? '', look);
  if (!q || !source) return undefined;
  const op: LayerOp = node.opType === 'QLinearConv' ? 'Conv' : 'MatMul';
  return layerFrom(node, nodeIndex, op, 1, source, source.tensor.dtype, { unsupported: q.reason });
}

export function findWeightLayers(model: Model): WeightLayer[] {
  const graph = model.graph;
  const look: Lookups = { inits: initializerMap(graph), prod: producerMap(graph), cons: consumerMap(graph) };
  const layers: WeightLayer[] = [];
  graph.nodes.forEach((node, nodeIndex) => {
    if (!isDefaultDomain(node.domain)) return;
    const op = node.opType;
    let layer: WeightLayer | undefined;
    if (isRecurrent(op)) return void layers.push(...recurrentLayers(graph, node, nodeIndex, look));
    if (op === 'Gather') layer = embeddingTable(graph, node, nodeIndex, look);
    else if (op === 'ConvInteger' || op === 'MatMulInteger') layer = integerLayer(graph, node, nodeIndex, look);
    else if (op !== 'Gemm' && op !== 'MatMul' && op !== 'Conv') layer = untiledLayer(graph, node, nodeIndex, look);
    else {
      const weightInput = op === 'MatMul' && !traceConstant(graph, node.inputs[1] ?? '', look) ? 0 : 1;
      const traced = traceConstant(graph, node.inputs[weightInput] ?? '', look);
      const src = traced?.source;
      // A quantized weight tbn cannot dequantize is found too, so that the reason is reported.
      if (traced?.unsupported) layer = layerFrom(node, nodeIndex, op, weightInput, traced.source, 'float32', { unsupported: traced.unsupported });
      else if (src && (FLOAT_WEIGHTS.has(src.tensor.dtype) || src.dequantize)) {
        const dtype = consumedType(graph, src);
        layer = dtype && layerFrom(node, nodeIndex, op, weightInput, src, dtype);
      }
    }
    if (layer) layers.push(layer);
  });
  return layers;
}

/**
 * The layer as the float node it computes: the node itself, or for an integer layer the
 * Conv/MatMul on its float activation, writing the rescaling Mul's output.
 */
export function floatLayerNode(layer: WeightLayer): Node {
  const n = layer.node;
  const i = layer.integer;
  return i ? { ...n, opType: layer.op, inputs: [i.input, n.inputs[1]!], outputs: [i.output] } : n;
}

/** A constant value as float32 (a float16/bfloat16 tensor widened, a quantized one dequantized). */
export function constantFloat(graph: Graph, name: string): { dims: number[]; data: Float32Array } | undefined {
  const src = constantSource(graph, name);
  if (!src || src.chain.some((c) => c.op === 'Transpose')) return undefined;
  return { dims: src.tensor.dims, data: src.dequantize ? dequantizeTensor(src.tensor, src.dequantize) : toFloat32(src.tensor) };
}

/** The value a layer writes (an integer layer: the output of its rescaling Mul). */
export function layerOutput(layer: WeightLayer): string {
  return layer.integer?.output ?? layer.node.outputs[0]!;
}

/**
 * An embedding table: Gather(axis 0) of rows of a constant float [rows, dim] table. Its
 * output features are the embedding dimensions (axis 1), so tile regions along the output
 * give every row its own bits; its "input" axis is the rows (one per token or position).
 */
function embeddingTable(graph: Graph, node: Node, nodeIndex: number, cache: Cache): WeightLayer | undefined {
  if (Number(getAttr(node, 'axis')?.i ?? 0) !== 0) return undefined;
  const source = constantSource(graph, node.inputs[0] ?? '', cache);
  if (!source || !FLOAT_WEIGHTS.has(source.tensor.dtype) || constantSource(graph, node.inputs[1] ?? '', cache)) return undefined;
  const dtype = consumedType(graph, source);
  const shape = consumedShape(source);
  if (!dtype || shape.length !== 2 || shape[0]! * shape[1]! === 0) return undefined;
  return { nodeIndex, node, label: nodeLabel(node, nodeIndex), op: 'Gather', weightInput: 0, source, shape, params: shape[0]! * shape[1]!, dtype, outDim: shape[1]!, outAxis: 1, inDim: shape[0]! };
}

/**
 * W (input 1) and R (input 2) of an LSTM/GRU/RNN node: [D, G·H, in] with in = input size or H.
 * All gates' pre-activations of one direction are one product x·Wᵀ (h·Rᵀ), so each weight is
 * the Gemm weight [D·G·H, in] of its gate rows (outAxis 0), and λ, the axis policy and the
 * tile math apply as to any Gemm with transB = 1 (docs/design.md, "Recurrent layers").
 */
function recurrentLayers(graph: Graph, node: Node, nodeIndex: number, cache: Cache): WeightLayer[] {
  const op = node.opType as RecurrentOp;
  return [1, 2].flatMap((weightInput) => {
    const source = constantSource(graph, node.inputs[weightInput] ?? '', cache);
    if (!source || !FLOAT_WEIGHTS.has(source.tensor.dtype)) return [];
    const dtype = consumedType(graph, source);
    const nodeShape = consumedShape(source);
    if (!dtype || nodeShape.length !== 3) return [];
    const [d, rows, cols] = nodeShape as [number, number, number];
    if (d * rows * cols === 0) return [];
    const shape = [d * rows, cols];
    return [{ nodeIndex, node, label: `${nodeLabel(node, nodeIndex)}:${weightInput === 1 ? 'W' : 'R'}`, op, weightInput, source, shape, nodeShape, params: d * rows * cols, dtype, outDim: d * rows, outAxis: 0, inDim: cols }];
  });
}

/** The weight as the layer consumes it: float32, in the layout after any Transpose. */
export function consumedWeight(layer: WeightLayer): Float32Array {
  const t = layer.source.tensor;
  let data = layer.source.dequantize ? dequantizeTensor(t, layer.source.dequantize) : toFloat32(t);
  let shape = [...t.dims];
  for (const step of layer.source.chain) {
    if (step.op !== 'Transpose') continue;
    const perm = step.perm ?? shape.map((_, i) => shape.length - 1 - i);
    data = transpose(data, shape, perm);
    shape = perm.map((p) => shape[p]!);
  }
  return data;
}

function toFloat32(t: OnnxTensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  const out = new Float32Array(d.length);
  if (t.dtype === 'float16') for (let i = 0; i < out.length; i++) out[i] = halfToFloat((d as Uint16Array)[i]!);
  else if (t.dtype === 'bfloat16') for (let i = 0; i < out.length; i++) out[i] = bfloat16ToFloat((d as Uint16Array)[i]!);
  else for (let i = 0; i < out.length; i++) out[i] = Number((d as Float64Array)[i]);
  return out;
}

/** Row-major transpose of `data` (shape) by `perm`. */
export function transpose(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d]! * strides[perm[d]!]!;
    out[o] = data[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}
