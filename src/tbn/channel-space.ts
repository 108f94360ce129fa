// Channel spaces: the set of tensors whose channel axis carries the same indexing as a
// layer's output channels. Permuting those channels keeps the model's function only if
// every member is permuted together: the producing layers' output rows and biases, the
// per-channel constants on the way (BatchNorm, bias adds, LayerNorm), residual partners,
// and the input axis of the layers that consume the channels. A space that reaches a graph
// output, a graph input or an op we cannot follow is pinned (left as it is). Quantized (QDQ)
// layers take part: a per-axis DequantizeLinear's scale and zero point move with its weight's
// channels, and per-tensor QuantizeLinear/DequantizeLinear pass channels through; so do
// onnxruntime's dynamic-quantization chains (ConvInteger/MatMulInteger layers with their
// per-feature scale and zero point; Cast, DynamicQuantizeLinear, scalar rescaling and
// Reshape-broadcast biases pass channels).

import { consumerMap, getAttr, initializerMap, producerMap } from '../ir/graph.js';
import type { Model, Node, Tensor } from '../ir/types.js';
import type { WeightLayer } from './layers.js';
import { constantSource, findWeightLayers, type WeightSource } from './layers.js';

/** An initializer to permute along `axis`, in blocks of `block` consecutive indices. */
export interface PermuteEdit {
  initializer: string;
  axis: number;
  block: number;
}

export interface ChannelSpace {
  channels: number;
  /** Node indices of the layers whose output channels define the space. */
  producers: number[];
  edits: PermuteEdit[];
  pinned: string | null;
}

interface Member {
  value: string;
  /** Channel axis counted from the end (−1 = last). */
  axisFromEnd: number;
  block: number;
}

const PASS_UNARY = new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Erf', 'Clip', 'Identity', 'Dropout', 'Sqrt', 'Neg', 'Exp', 'Abs', 'Elu', 'Selu', 'Softplus', 'HardSigmoid', 'HardSwish', 'Gelu', 'Mish', 'Cast', 'DynamicQuantizeLinear']);
const POOLS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow']);

export interface SpaceContext {
  model: Model;
  /** Concrete shapes (batch 1) of graph values. */
  shapes: Map<string, number[]>;
}

/** The context with the integer-op layers (ConvInteger/MatMulInteger chains) by node. */
interface Ctx extends SpaceContext {
  integer: Map<Node, WeightLayer>;
  inits: Map<string, Tensor>;
}

/** The channel space of layer `start`'s output (layer: Gemm/MatMul/Conv with a constant weight). */
export function channelSpace(spaceCtx: SpaceContext, start: number): ChannelSpace {
  const g = spaceCtx.model.graph;
  const inits = initializerMap(g);
  const ctx: Ctx = { ...spaceCtx, inits, integer: new Map(findWeightLayers(spaceCtx.model).filter((l) => l.integer).map((l) => [l.node, l])) };
  const prod = producerMap(g);
  const cons = consumerMap(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const space: ChannelSpace = { channels: 0, producers: [], edits: [], pinned: null };
  const seen = new Set<string>();
  const visitedNodes = new Set<string>();
  const queue: Member[] = [];
  const pin = (why: string) => {
    space.pinned ??= why;
  };
  const addEdit = (name: string | undefined, axis: number, block = 1) => {
    if (!name) return;
    const t = inits.get(name);
    if (!t) return pin(`'${name}' is not an initializer`);
    if ((cons.get(name)?.length ?? 0) > 1) return pin(`'${name}' is shared by several nodes`);
    if (!space.edits.some((e) => e.initializer === name)) space.edits.push({ initializer: name, axis, block });
  };
  const member = (value: string, axisFromEnd: number, block: number) => {
    const key = `${value}@${axisFromEnd}`;
    if (seen.has(key)) return;
    if ([...seen].some((k) => k.startsWith(`${value}@`))) return pin(`'${value}' would be permuted along two axes`);
    seen.add(key);
    if (outputs.has(value)) pin(`'${value}' is a graph output`);
    queue.push({ value, axisFromEnd, block });
  };

  const producerSide = (value: string, axisFromEnd: number, block: number) => {
    const p = prod.get(value);
    if (p === undefined) return pin(`'${value}' is a graph input or constant`);
    if (visitedNodes.has(`p${p}`)) return;
    visitedNodes.add(`p${p}`);
    const n = g.nodes[p]!;
    const layerOut = layerOutput(ctx, n);
    if (layerOut) {
      if (block !== 1) return pin(`${n.name} feeds a flattened space`);
      space.producers.push(p);
      space.channels ||= layerOut.channels;
      for (const e of layerOut.edits) addEdit(e.initializer, e.axis);
      return;
    }
    // A pass-through producer: its channel-carrying inputs join the space; processing them
    // forward then reaches this node again and records its per-channel constants.
    if (PASS_UNARY.has(n.opType) || POOLS.has(n.opType) || n.opType === 'BatchNormalization' || perTensorQdq(n, inits)) {
      member(n.inputs[0]!, axisFromEnd, block);
      return;
    }
    if (BINARY.has(n.opType)) {
      for (const input of n.inputs) if (operand(ctx, input) === 'value') member(input, axisFromEnd, block);
      return;
    }
    pin(`cannot follow channels back through ${n.opType} '${n.name}'`);
  };

  const startNode = g.nodes[start]!;
  const first = layerOutput(ctx, startNode);
  if (!first) return { ...space, producers: [start], pinned: `${startNode.opType} is not a layer whose channels tbn can follow` };
  visitedNodes.add(`p${start}`);
  space.producers.push(start);
  space.channels = first.channels;
  first.edits.forEach((e) => addEdit(e.initializer, e.axis));
  member(startNode.outputs[0]!, first.axisFromEnd, 1);

  while (queue.length && !space.pinned) {
    const m = queue.shift()!;
    producerSide(m.value, m.axisFromEnd, m.block);
    for (const ci of cons.get(m.value) ?? []) {
      const n = g.nodes[ci]!;
      const key = `c${ci}:${m.value}`;
      if (visitedNodes.has(key)) continue;
      visitedNodes.add(key);
      // This node's outputs join the space from its input side: its own producer check is done.
      visitedNodes.add(`p${ci}`);
      followConsumer(ctx, n, m, { member, pin, addEdit, inits });
    }
  }
  return space;
}

interface Ops {
  member: (value: string, axisFromEnd: number, block: number) => void;
  pin: (why: string) => void;
  addEdit: (name: string | undefined, axis: number, block?: number) => void;
  inits: Map<string, Tensor>;
}

function rankOf(ctx: SpaceContext, value: string): number | undefined {
  return ctx.shapes.get(value)?.length;
}

function followConsumer(ctx: Ctx, n: Node, m: Member, ops: Ops): void {
  const out = n.outputs[0]!;
  const rank = rankOf(ctx, m.value);
  if (rank === undefined) return ops.pin(`no shape for '${m.value}'`);
  const axis = rank + m.axisFromEnd;
  const op = n.domain && n.domain !== 'ai.onnx' ? '' : n.opType;
  if (PASS_UNARY.has(op) || (perTensorQdq(n, ops.inits) && n.inputs[0] === m.value)) return ops.member(out, m.axisFromEnd, m.block);
  if (POOLS.has(op)) return axis === 1 && m.block === 1 ? ops.member(out, m.axisFromEnd, 1) : ops.pin(`${op} on a non-channel axis`);
  if (op === 'BatchNormalization') {
    if (axis !== 1 || m.block !== 1 || n.inputs[0] !== m.value) return ops.pin('BatchNormalization off the channel axis');
    for (const name of n.inputs.slice(1)) ops.addEdit(name, 0);
    return ops.member(out, m.axisFromEnd, 1);
  }
  if (op === 'LayerNormalization') {
    const lnAxis = Number(getAttr(n, 'axis')?.i ?? -1);
    if (m.axisFromEnd !== -1 || !(lnAxis === -1 || lnAxis === rank - 1) || n.inputs[0] !== m.value) return ops.pin('LayerNormalization over other axes');
    for (const name of n.inputs.slice(1)) ops.addEdit(name, 0);
    return ops.member(out, -1, m.block);
  }
  if (BINARY.has(op)) {
    const other = n.inputs[0] === m.value ? n.inputs[1] : n.inputs[0];
    if (!other || n.inputs[0] === n.inputs[1]) return ops.member(out, m.axisFromEnd, m.block);
    const kind = operand(ctx, other);
    if (kind === 'scalar') return ops.member(out, m.axisFromEnd, m.block);
    const constant = kind === 'value' ? undefined : { name: kind === 'initializer' ? other : kind.initializer, dims: kind === 'initializer' ? ops.inits.get(other)!.dims : kind.dims };
    const outRank = rankOf(ctx, out);
    if (outRank !== rank) return ops.pin(`${op} '${n.name}' broadcasts to another rank`);
    if (constant) {
      const cAxis = constant.dims.length + m.axisFromEnd;
      if (cAxis < 0 || constant.dims[cAxis] === 1) return ops.member(out, m.axisFromEnd, m.block);
      if (m.block !== 1 && constant.dims[cAxis] !== ctx.shapes.get(m.value)![axis]) return ops.pin('constant on a flattened axis');
      // A bias Reshape'd to broadcast is a 1-D initializer: its only axis is the channel axis.
      ops.addEdit(constant.name, kind === 'initializer' ? cAxis : 0, m.block);
      return ops.member(out, m.axisFromEnd, m.block);
    }
    if (rankOf(ctx, other) !== rank) return ops.pin(`${op} '${n.name}' with an operand of another rank`);
    ops.member(other, m.axisFromEnd, m.block);
    return ops.member(out, m.axisFromEnd, m.block);
  }
  if (op === 'Flatten' || op === 'Reshape') {
    const inShape = ctx.shapes.get(m.value)!;
    const outShape = ctx.shapes.get(out);
    if (!outShape || axis !== 1 || m.block !== 1 || outShape.length !== 2 || outShape[0] !== inShape[0]) {
      return ops.pin(`${op} '${n.name}' reshapes the channel axis`);
    }
    return ops.member(out, -1, inShape.slice(2).reduce((a, b) => a * b, 1));
  }
  const layer = layerInput(ctx, n, m);
  if (layer === 'pin') return ops.pin(`cannot follow channels through ${n.opType} '${n.name}'`);
  ops.addEdit(layer.initializer, layer.axis, m.block);
  if (layer.passThrough) {
    for (const e of layer.passThrough) ops.addEdit(e.initializer, e.axis);
    ops.member(out, m.axisFromEnd, 1);
  }
}

/** A layer consuming the space on its contracted axis (or a depthwise conv passing it through). */
function layerInput(ctx: Ctx, n: Node, m: Member): { initializer: string; axis: number; passThrough?: PermuteEdit[] } | 'pin' {
  if (n.domain && n.domain !== 'ai.onnx') return 'pin';
  const g = ctx.model.graph;
  const il = ctx.integer.get(n);
  if (il) {
    // An integer layer reads the space on its contracted axis; its zero point and scale are per output feature.
    if (n.inputs[0] !== m.value || il.source.kind !== 'initializer') return 'pin';
    if (il.op === 'MatMul') return m.axisFromEnd === -1 ? { initializer: il.source.name, axis: 0 } : 'pin';
    const rank = rankOf(ctx, m.value)!;
    return Number(getAttr(n, 'group')?.i ?? 1) === 1 && rank + m.axisFromEnd === 1 && m.block === 1 ? { initializer: il.source.name, axis: 1 } : 'pin';
  }
  const w = n.inputs[1] ? constantSource(g, n.inputs[1]) : undefined;
  if (!w || !weightEdits(w, 0, ctx.inits) || n.inputs[0] !== m.value) return 'pin';
  const rank = rankOf(ctx, m.value)!;
  if (n.opType === 'Gemm') {
    if (Number(getAttr(n, 'transA')?.i ?? 0) !== 0 || m.axisFromEnd !== -1) return 'pin';
    return { initializer: w.name, axis: Number(getAttr(n, 'transB')?.i ?? 0) ? 1 : 0 };
  }
  if (n.opType === 'MatMul') {
    if (m.axisFromEnd !== -1 || w.tensor.dims.length !== 2) return 'pin';
    return { initializer: w.name, axis: 0 };
  }
  if (n.opType === 'Conv') {
    if (rank + m.axisFromEnd !== 1 || m.block !== 1) return 'pin';
    const group = Number(getAttr(n, 'group')?.i ?? 1);
    if (group === 1) return { initializer: w.name, axis: 1 };
    if (group === w.tensor.dims[0] && w.tensor.dims[1] === 1) {
      // depthwise: output channel c reads input channel c only
      return { initializer: w.name, axis: 0, passThrough: n.inputs[2] ? [{ initializer: n.inputs[2], axis: 0, block: 1 }] : [] };
    }
  }
  return 'pin';
}

/** For a Gemm/MatMul/Conv with a constant weight: its output channel count, axis and edits. */
function layerOutput(ctx: Ctx, n: Node): { channels: number; axisFromEnd: number; edits: PermuteEdit[] } | undefined {
  if (n.domain && n.domain !== 'ai.onnx') return undefined;
  const g = ctx.model.graph;
  const il = ctx.integer.get(n);
  if (il) {
    const edits = weightEdits(il.source, il.outAxis, ctx.inits);
    if (!edits || (il.op === 'Conv' && Number(getAttr(n, 'group')?.i ?? 1) !== 1)) return undefined;
    return { channels: il.outDim, axisFromEnd: il.op === 'Conv' ? -((rankOf(ctx, n.outputs[0]!) ?? il.shape.length) - 1) : -1, edits };
  }
  const w = n.inputs[1] ? constantSource(g, n.inputs[1]) : undefined;
  if (!w || !weightEdits(w, 0, ctx.inits)) return undefined;
  const dims = w.tensor.dims;
  if (n.opType === 'Conv' && Number(getAttr(n, 'group')?.i ?? 1) === 1) {
    return { channels: dims[0]!, axisFromEnd: -((rankOf(ctx, n.outputs[0]!) ?? dims.length) - 1), edits: [...weightEdits(w, 0, ctx.inits)!, ...bias(ctx, n.inputs[2], 0)] };
  }
  if (n.opType === 'Gemm' && Number(getAttr(n, 'transA')?.i ?? 0) === 0 && dims.length === 2) {
    const transB = Number(getAttr(n, 'transB')?.i ?? 0);
    const c = n.inputs[2] ? constantSource(g, n.inputs[2])?.tensor : undefined;
    const cEdits = c && c.dims.length >= 1 && c.dims[c.dims.length - 1]! > 1 ? bias(ctx, n.inputs[2], c.dims.length - 1) : [];
    return { channels: dims[transB ? 0 : 1]!, axisFromEnd: -1, edits: [...weightEdits(w, transB ? 0 : 1, ctx.inits)!, ...cEdits] };
  }
  if (n.opType === 'MatMul' && dims.length === 2) {
    return { channels: dims[1]!, axisFromEnd: -1, edits: weightEdits(w, 1, ctx.inits)! };
  }
  return undefined;
}

/**
 * Edits that permute a constant weight along `axis`: the stored initializer and, when a
 * DequantizeLinear reads it per axis along that axis, the scale and zero point. Undefined when
 * the weight cannot be permuted in place (a Constant node, a Transpose on the way).
 */
function weightEdits(w: WeightSource, axis: number, inits: Map<string, Tensor>): PermuteEdit[] | undefined {
  if (w.kind !== 'initializer' || w.chain.some((c) => c.op === 'Transpose')) return undefined;
  const edits: PermuteEdit[] = [{ initializer: w.name, axis, block: 1 }];
  const d = w.dequantize;
  if (d && d.axis === axis) {
    for (const name of d.params) {
      // A per-axis parameter moves along its one axis longer than 1 ([C], [C,1,1], [1,N]).
      const dims = inits.get(name)?.dims ?? [];
      const along = dims.findIndex((x) => x > 1);
      if (along >= 0) edits.push({ initializer: name, axis: along, block: 1 });
    }
  }
  return edits;
}

/**
 * What a binary op's other operand is: an initializer, a value of one element (a rescaling:
 * channels pass), a 1-D initializer Reshape'd to broadcast along one axis (a bias), or a value.
 */
function operand(ctx: Ctx, name: string): 'initializer' | 'scalar' | { initializer: string; dims: number[] } | 'value' {
  if (ctx.inits.has(name)) return 'initializer';
  const shape = ctx.shapes.get(name);
  if (shape && shape.reduce((a, b) => a * b, 1) === 1) return 'scalar';
  const p = ctx.model.graph.nodes.find((n) => n.outputs[0] === name);
  const src = p && (!p.domain || p.domain === 'ai.onnx') && (p.opType === 'Reshape' || p.opType === 'Unsqueeze') ? ctx.inits.get(p.inputs[0]!) : undefined;
  if (!src || src.dims.length !== 1 || !shape || shape.filter((x) => x !== 1).length !== 1 || !shape.includes(src.dims[0]!)) return 'value';
  return { initializer: p!.inputs[0]!, dims: shape };
}

/** A bias (an initializer, or a quantized one behind DequantizeLinear) permuted along `axis`. */
function bias(ctx: Ctx, name: string | undefined, axis: number): PermuteEdit[] {
  if (!name) return [];
  const w = constantSource(ctx.model.graph, name);
  const quantized = w?.dequantize && w.chain.length === 1 ? weightEdits(w, axis, ctx.inits) : undefined;
  return quantized ?? [{ initializer: name, axis, block: 1 }];
}

/** QuantizeLinear/DequantizeLinear with one scale and zero point: channels pass through. */
function perTensorQdq(n: Node, inits: Map<string, Tensor>): boolean {
  if ((n.domain && n.domain !== 'ai.onnx') || (n.opType !== 'QuantizeLinear' && n.opType !== 'DequantizeLinear')) return false;
  return n.inputs.slice(1).every((v) => !v || inits.get(v)?.dims.reduce((a, b) => a * b, 1) === 1);
}
