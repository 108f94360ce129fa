// Finds the weight layers TBN can compress: Gemm, MatMul and Conv (1-D, 2-D) nodes whose
// weight is a constant — an initializer or a Constant node, possibly behind the Identity,
// Cast or Transpose nodes that exporters put in between — and embedding tables (a Gather
// reading rows of a constant 2-D table: token and position embeddings).

import { getAttr, initializerMap, nodeLabel, producerMap } from '../ir/graph.js';
import { bfloat16ToFloat, dtypeFromCode, halfToFloat, type DType } from '../ir/dtype.js';
import type { Graph, Model, Node, Tensor } from '../ir/types.js';

export type LayerOp = 'Gemm' | 'MatMul' | 'Conv' | 'Gather';

export interface WeightSource {
  /** The constant that holds the values: an initializer, or the output of a Constant node. */
  tensor: Tensor;
  kind: 'initializer' | 'constant';
  /** Name of the initializer or of the Constant node's output. */
  name: string;
  /** Index of the Constant node (kind 'constant'). */
  constantNode?: number;
  /** Nodes between the constant and the layer, nearest to the constant first. */
  chain: { node: number; op: 'Identity' | 'Cast' | 'Transpose'; perm?: number[] }[];
}

export interface WeightLayer {
  nodeIndex: number;
  node: Node;
  label: string;
  op: LayerOp;
  /** Which input of the node is the weight. */
  weightInput: number;
  source: WeightSource;
  /** Shape of the weight as the layer consumes it (after any Transpose). */
  shape: number[];
  params: number;
  /** Element type the layer computes with (after any Cast). */
  dtype: DType;
  /** Size of the layer's output-feature axis in `shape`, and that axis. */
  outDim: number;
  outAxis: number;
  /** Size of the input-feature axis (the contracted one; for Conv, in/group · kernel). */
  inDim: number;
}

const PASS_THROUGH = new Set(['Identity', 'Cast', 'Transpose']);

function isDefaultDomain(n: Node): boolean {
  return !n.domain || n.domain === 'ai.onnx';
}

/** Follows a value back through Identity/Cast/Transpose to a constant; undefined if it is not one. */
export function constantSource(graph: Graph, value: string, cache?: { inits: Map<string, Tensor>; prod: Map<string, number> }): WeightSource | undefined {
  const inits = cache?.inits ?? initializerMap(graph);
  const prod = cache?.prod ?? producerMap(graph);
  const chain: WeightSource['chain'] = [];
  let name = value;
  for (let hops = 0; hops < 16; hops++) {
    const init = inits.get(name);
    if (init && !graph.inputs.some((v) => v.name === name)) {
      return { tensor: init, kind: 'initializer', name, chain: chain.reverse() };
    }
    const p = prod.get(name);
    if (p === undefined) return undefined;
    const n = graph.nodes[p]!;
    if (!isDefaultDomain(n)) return undefined;
    if (n.opType === 'Constant') {
      const t = getAttr(n, 'value')?.t;
      if (!t) return undefined;
      return { tensor: t, kind: 'constant', name, constantNode: p, chain: chain.reverse() };
    }
    if (!PASS_THROUGH.has(n.opType) || n.inputs.length !== 1) return undefined;
    const perm = getAttr(n, 'perm')?.ints?.map(Number);
    chain.push({ node: p, op: n.opType as 'Identity' | 'Cast' | 'Transpose', perm });
    name = n.inputs[0]!;
  }
  return undefined;
}

function consumedType(graph: Graph, src: WeightSource): DType | undefined {
  let dtype: DType | undefined = src.tensor.dtype;
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

export function findWeightLayers(model: Model): WeightLayer[] {
  const graph = model.graph;
  const cache = { inits: initializerMap(graph), prod: producerMap(graph) };
  const layers: WeightLayer[] = [];
  graph.nodes.forEach((node, nodeIndex) => {
    if (!isDefaultDomain(node)) return;
    const op = node.opType;
    if (op === 'Gather') {
      const table = embeddingTable(graph, node, nodeIndex, cache);
      if (table) layers.push(table);
      return;
    }
    if (op !== 'Gemm' && op !== 'MatMul' && op !== 'Conv') return;
    const weightInput = op === 'MatMul' && !constantSource(graph, node.inputs[1] ?? '', cache) ? 0 : 1;
    const source = constantSource(graph, node.inputs[weightInput] ?? '', cache);
    if (!source || !FLOAT_WEIGHTS.has(source.tensor.dtype)) return;
    const dtype = consumedType(graph, source);
    if (!dtype) return;
    const shape = consumedShape(source);
    const params = shape.reduce((a, b) => a * b, 1);
    if (params === 0) return;
    let outAxis: number;
    let inDim: number;
    if (op === 'Conv') {
      if (shape.length !== 3 && shape.length !== 4) return; // 1-D and 2-D convolutions
      outAxis = 0;
      inDim = params / shape[0]!;
    } else if (op === 'Gemm') {
      if (shape.length !== 2) return;
      const transB = Number(getAttr(node, 'transB')?.i ?? 0);
      if (weightInput !== 1) return;
      outAxis = transB ? 0 : 1;
      inDim = shape[1 - outAxis]!;
    } else {
      if (shape.length !== 2) return; // a 2-D weight; batched constant weights are left alone
      outAxis = weightInput === 1 ? 1 : 0;
      inDim = shape[1 - outAxis]!;
    }
    layers.push({
      nodeIndex,
      node,
      label: nodeLabel(node, nodeIndex),
      op,
      weightInput,
      source,
      shape,
      params,
      dtype,
      outDim: shape[outAxis]!,
      outAxis,
      inDim,
    });
  });
  return layers;
}

/**
 * An embedding table: Gather(axis 0) of rows of a constant float [rows, dim] table. Its
 * output features are the embedding dimensions (axis 1), so tile regions along the output
 * give every row its own bits; its "input" axis is the rows (one per token or position).
 */
function embeddingTable(graph: Graph, node: Node, nodeIndex: number, cache: { inits: Map<string, Tensor>; prod: Map<string, number> }): WeightLayer | undefined {
  if (Number(getAttr(node, 'axis')?.i ?? 0) !== 0) return undefined;
  const source = constantSource(graph, node.inputs[0] ?? '', cache);
  if (!source || !FLOAT_WEIGHTS.has(source.tensor.dtype) || constantSource(graph, node.inputs[1] ?? '', cache)) return undefined;
  const dtype = consumedType(graph, source);
  const shape = consumedShape(source);
  if (!dtype || shape.length !== 2 || shape[0]! * shape[1]! === 0) return undefined;
  return { nodeIndex, node, label: nodeLabel(node, nodeIndex), op: 'Gather', weightInput: 0, source, shape, params: shape[0]! * shape[1]!, dtype, outDim: shape[1]!, outAxis: 1, inDim: shape[0]! };
}

/** The weight as the layer consumes it: float32, in the layout after any Transpose. */
export function consumedWeight(layer: WeightLayer): Float32Array {
  const t = layer.source.tensor;
  let data = toFloat32(t);
  let shape = [...t.dims];
  for (const step of layer.source.chain) {
    if (step.op !== 'Transpose') continue;
    const perm = step.perm ?? shape.map((_, i) => shape.length - 1 - i);
    data = transpose(data, shape, perm);
    shape = perm.map((p) => shape[p]!);
  }
  return data;
}

function toFloat32(t: Tensor): Float32Array {
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
