// The fine-tuning student's view of a model: the same graph computing in float32, so that the
// engine trains every model the same way (the engine computes in float32 only, and a Cast to
// float16 in its path would cut the gradient). The teacher stays the ORIGINAL model: its feeds
// are converted to its input types at the boundary, its outputs back to float32.
//
//   float16/bfloat16 initializers, Constant values and tensor attributes → float32
//   Cast(to = float16/bfloat16) → Cast(to = float); graph inputs/outputs/value_info → float32
//   a tiled ConvInteger/MatMulInteger chain → Conv/MatMul(x, dequantized weight): what the
//     compressed model computes there (rewrite.ts), with the weight under its stored name
//   QDQ stays: the interpreter runs QuantizeLinear/DequantizeLinear (straight-through), which
//     is what the compressed model keeps around a tiled layer
//
// Node order is kept (removed nodes leave no gap that matters: values keep their names), and
// the quantization parameters are reported as frozen: training a scale or zero point would
// change what the kept Q/DQ pairs and untiled integer layers compute.

import { getAttr } from '../ir/attrs.js';
import { bfloat16ToFloat, floatsAs, halfToFloat, type ElementType, type NumericArray } from '../ir/dtype.js';
import type { Attribute, Graph, Model, Node, OnnxTensor, ValueInfo } from '../ir/types.js';
import type { OrtSession } from '../runtime/ort.js';
import { widenToFloat32, type HostTensor } from '../util/host-tensor.js';
import { consumedWeight } from './layers.js';
import type { LayerChoice } from './select.js';

const FLOAT = 1;
const NARROW = new Set<ElementType>(['float16', 'bfloat16']);
const NARROW_CODES = new Set([10, 16]);
/** Inputs of these ops that are quantization parameters (scale, zero point). */
const QUANT_PARAMS: Record<string, number[]> = {
  QuantizeLinear: [1, 2],
  DequantizeLinear: [1, 2],
  ConvInteger: [2, 3],
  MatMulInteger: [2, 3],
};

export interface FloatView {
  model: Model;
  /** Initializers fine-tuning must not train (quantization scales and zero points). */
  frozen: Set<string>;
}

function narrowToFloat(data: Uint16Array, dtype: ElementType): Float32Array {
  return Float32Array.from(data, dtype === 'float16' ? halfToFloat : bfloat16ToFloat);
}

function widenTensor(t: OnnxTensor): OnnxTensor {
  if (!NARROW.has(t.dtype)) return t;
  return { ...t, dtype: 'float32', data: narrowToFloat(t.data as Uint16Array, t.dtype), encoding: t.encoding === 'external' ? 'raw' : t.encoding };
}

function widenValue(v: ValueInfo): ValueInfo {
  return v.type?.kind === 'tensor' && v.type.elemType && NARROW.has(v.type.elemType) ? { ...v, type: { ...v.type, elemType: 'float32' } } : v;
}

function widenAttr(a: Attribute, opType: string): Attribute {
  if (a.t) return { ...a, t: widenTensor(a.t) };
  if (a.g) return { ...a, g: widenGraph(a.g) };
  if (a.graphs) return { ...a, graphs: a.graphs.map(widenGraph) };
  // Cast's `to`, and the `dtype` of the ops that make tensors (RandomNormal, EyeLike, …).
  if ((a.name === 'to' && opType === 'Cast') || a.name === 'dtype') {
    if (a.i !== undefined && NARROW_CODES.has(Number(a.i))) return { ...a, i: FLOAT };
  }
  return a;
}

function widenGraph(g: Graph): Graph {
  return {
    ...g,
    initializers: g.initializers.map(widenTensor),
    nodes: g.nodes.map((n) => ({ ...n, attributes: n.attributes.map((a) => widenAttr(a, n.opType)) })),
    inputs: g.inputs.map(widenValue),
    outputs: g.outputs.map(widenValue),
    valueInfo: g.valueInfo.map(widenValue),
  };
}

/** Tiled integer layers become the float op on the dequantized weight, as in the output. */
function floatIntegerLayers(g: Graph, choices: LayerChoice[]): Graph {
  const replace = new Map<number, Node | null>();
  const weights = new Map<string, Float32Array>();
  for (const { layer } of choices) {
    const chain = layer.integer;
    if (!chain) continue;
    const n = layer.node;
    const floatOp: Node = { ...n, opType: layer.op, inputs: [chain.input, n.inputs[1]!], outputs: [chain.output] };
    replace.set(layer.nodeIndex, floatOp);
    for (const r of chain.replaced) replace.set(r, null);
    weights.set(layer.source.name, consumedWeight(layer));
  }
  if (!replace.size) return g;
  let nodes = g.nodes.map((n, i) => (replace.has(i) ? replace.get(i) : n));
  // The scales Mul, then the DynamicQuantizeLinear, go when nothing reads them any more.
  const outputs = new Set(g.outputs.map((o) => o.name));
  for (const f of choices.flatMap((c) => c.layer.integer?.feeders ?? []).sort((a, b) => b - a)) {
    const read = new Set(nodes.flatMap((n) => n?.inputs ?? []));
    if (g.nodes[f]!.outputs.every((o) => !read.has(o) && !outputs.has(o))) nodes[f] = null;
  }
  nodes = nodes.filter((n): n is Node => !!n);
  const initializers = g.initializers.map((t) => (t.name && weights.has(t.name) ? { ...t, dtype: 'float32' as const, data: weights.get(t.name)!, encoding: 'raw' as const } : t));
  // A weight held by a Constant node gets its float value there.
  const constants = (nodes as Node[]).map((n) => {
    const w = n.opType === 'Constant' ? weights.get(n.outputs[0]!) : undefined;
    const t = w && getAttr(n, 'value')?.t;
    return t ? { ...n, attributes: n.attributes.map((a) => (a.name === 'value' ? { ...a, t: { ...t, dtype: 'float32' as const, data: w, encoding: 'raw' as const } } : a)) } : n;
  });
  return { ...g, nodes: constants, initializers };
}

export function floatView(model: Model, choices: LayerChoice[]): FloatView {
  const graph = widenGraph(floatIntegerLayers(model.graph, choices));
  const frozen = new Set<string>();
  for (const n of graph.nodes) for (const i of QUANT_PARAMS[n.opType] ?? []) if (n.inputs[i]) frozen.add(n.inputs[i]!);
  return { model: { ...model, graph }, frozen };
}

/** Float feeds as float32 (the student's input types); other feeds as they are. */
export function floatFeeds(feeds: Record<string, HostTensor>): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = widenToFloat32(t);
  return out;
}

/**
 * The original model's session behind float32 feeds and outputs: float32 feeds are converted
 * to the types `model` declares for its inputs, float outputs come back as float32.
 */
export function floatTeacher(session: OrtSession, model: Model): OrtSession {
  const types = new Map(model.graph.inputs.map((v) => [v.name, v.type?.kind === 'tensor' ? v.type.elemType : undefined]));
  return {
    ...session,
    async run(feeds) {
      const converted: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        const want = types.get(name);
        converted[name] = t.dtype === 'float32' && want && (NARROW.has(want) || want === 'float64') ? { dtype: want, dims: t.dims, data: floatsAs(t.data as Float32Array, want as 'float16') } : t;
      }
      return floatFeeds(await session.run(converted));
    },
  };
}

/** Values trained in float32 written back in the type of the tensor they replace. */
export function asStoredType(values: Float32Array, dtype: ElementType): NumericArray {
  return NARROW.has(dtype) || dtype === 'float64' ? floatsAs(values, dtype as 'float16') : values;
}
