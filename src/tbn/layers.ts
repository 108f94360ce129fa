// Finds the weight layers TBN can compress: Gemm, MatMul and Conv (1-D, 2-D) nodes whose
// weight is a constant — an initializer or a Constant node, possibly behind the Identity,
// Cast or Transpose nodes that exporters put in between.

import { getAttr, initializerMap, nodeLabel, producerMap } from '../ir/graph.js';
import type { Graph, Model, Node, Tensor } from '../ir/types.js';

export type LayerOp = 'Gemm' | 'MatMul' | 'Conv';

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
    if (op !== 'Gemm' && op !== 'MatMul' && op !== 'Conv') return;
    const weightInput = op === 'MatMul' && !constantSource(graph, node.inputs[1] ?? '', cache) ? 0 : 1;
    const source = constantSource(graph, node.inputs[weightInput] ?? '', cache);
    if (!source || !FLOAT_WEIGHTS.has(source.tensor.dtype)) return;
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
      outDim: shape[outAxis]!,
      outAxis,
      inDim,
    });
  });
  return layers;
}
