// Quantized weights as layers.ts finds them. Two forms are tiled:
//   QDQ      — a constant int8/uint8/int4/uint4/int16/uint16 tensor behind DequantizeLinear
//              (per tensor or per axis): W = (q − zero_point) · scale, in the scale's float type.
//   dynamic  — onnxruntime's quantize_dynamic: x → DynamicQuantizeLinear → ConvInteger /
//              MatMulInteger(x_q, W_q, x_zp, w_zp) → Cast(float) → Mul(·, Mul(x_scale, w_scale)).
//              Its float equivalent is Conv/MatMul(x, (W_q − w_zp) · w_scale): the tiled layer
//              reads x itself and writes the Mul's output; the activation quantization that only
//              fed it is dropped (it existed only to feed the integer op).
// Everything else quantized (QLinearConv, QLinearMatMul, integer ops in other arrangements,
// blocked DequantizeLinear) is reported with the reason it is not tiled.

import { getAttr } from '../ir/attrs.js';
import { bfloat16ToFloat, dtypeFromCode, halfToFloat, type ElementType } from '../ir/dtype.js';
import type { Graph, Node, OnnxTensor } from '../ir/types.js';
import { isDefaultDomain } from '../ir/graph.js';

/** W = (q − zeroPoint) · scale, per tensor or along one axis of the stored tensor. */
export interface Dequantize {
  /** One value (per tensor) or one per index of `axis`. */
  scale: Float32Array;
  zeroPoint: Float64Array;
  axis: number;
  /** The float type W has (the scale's type). */
  dtype: ElementType;
  /** The values holding scale and zero point (initializers or Constant outputs). */
  params: string[];
}

/** How a ConvInteger/MatMulInteger node sits in onnxruntime's dynamic-quantization chain. */
export interface IntegerChain {
  /** The float value DynamicQuantizeLinear quantizes: the tiled layer's input. */
  input: string;
  /** The output of the scale Mul: the tiled layer's output. */
  output: string;
  /** Cast and output Mul: they are replaced by the tiled layer. */
  replaced: number[];
  /** DynamicQuantizeLinear and the scales Mul: dropped when nothing else reads them. */
  feeders: number[];
  /** The float type of the output (the Cast's target). */
  dtype: ElementType;
}

export interface Lookups {
  inits: Map<string, OnnxTensor>;
  prod: Map<string, number>;
  cons: Map<string, number[]>;
}

const QUANTIZED_TYPES = new Set<ElementType>(['int8', 'uint8', 'int4', 'uint4', 'int16', 'uint16', 'int32']);

const isDefault = (n: Node) => isDefaultDomain(n.domain);

/** The constant tensor a value is (an initializer or a Constant's output), if it is one. */
export function constantTensor(graph: Graph, name: string, look: Pick<Lookups, 'inits' | 'prod'>): OnnxTensor | undefined {
  if (!name) return undefined;
  const init = look.inits.get(name);
  if (init) return graph.inputs.some((v) => v.name === name) ? undefined : init;
  const p = look.prod.get(name);
  const n = p === undefined ? undefined : graph.nodes[p];
  return n && isDefault(n) && n.opType === 'Constant' ? getAttr(n, 'value')?.t : undefined;
}

/** Element values of a numeric tensor (packed 4-bit types unpacked, low nibble first). */
export function tensorValues(t: OnnxTensor): Float64Array {
  const n = t.dims.reduce((a, b) => a * b, 1);
  const d = t.data;
  if (Array.isArray(d)) throw new Error(`'${t.name}' is a string tensor`);
  if (t.dtype === 'int4' || t.dtype === 'uint4') {
    const bytes = d as Uint8Array;
    return Float64Array.from({ length: n }, (_, i) => {
      const v = (bytes[i >> 1]! >> ((i & 1) * 4)) & 15;
      return t.dtype === 'int4' && v > 7 ? v - 16 : v;
    });
  }
  if (t.dtype === 'float16') return Float64Array.from(d as Uint16Array, halfToFloat);
  if (t.dtype === 'bfloat16') return Float64Array.from(d as Uint16Array, bfloat16ToFloat);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  return Float64Array.from(d as ArrayLike<number>);
}

/** The values of `q` dequantized: (q − zp) · scale in float32, as onnxruntime computes it. */
export function dequantizeTensor(q: OnnxTensor, d: Dequantize): Float32Array {
  const values = tensorValues(q);
  const dims = q.dims;
  const inner = dims.slice(d.axis + 1).reduce((a, b) => a * b, 1);
  const len = dims[d.axis] ?? 1;
  const out = new Float32Array(values.length);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / inner) % len;
    const s = d.scale[d.scale.length === 1 ? 0 : c]!;
    const z = d.zeroPoint[d.zeroPoint.length === 1 ? 0 : c]!;
    out[i] = Math.fround(Math.fround(values[i]! - z) * s);
  }
  return out;
}

function perAxis(t: OnnxTensor, len: number, what: string): Float64Array | string {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (n !== 1 && n !== len) return `its ${what} has ${n} values, not 1 or ${len}`;
  return tensorValues(t);
}

/**
 * The dequantization a DequantizeLinear node applies to constant `q`, or why it cannot be
 * tiled. `scale` and `zero point` must be constants; blocked quantization is not handled.
 */
export function dequantizeLinear(graph: Graph, node: Node, q: OnnxTensor, look: Pick<Lookups, 'inits' | 'prod'>): Dequantize | string {
  if (!QUANTIZED_TYPES.has(q.dtype)) return `DequantizeLinear of a ${q.dtype} weight is not tiled`;
  if (Number(getAttr(node, 'block_size')?.i ?? 0) !== 0) return 'blocked DequantizeLinear (block_size) is not tiled';
  const scale = constantTensor(graph, node.inputs[1] ?? '', look);
  const zp = node.inputs[2] ? constantTensor(graph, node.inputs[2], look) : undefined;
  if (!scale || (node.inputs[2] && !zp)) return 'its DequantizeLinear scale or zero point is not a constant';
  const rank = q.dims.length;
  const perTensor = scale.dims.reduce((a, b) => a * b, 1) === 1 && scale.dims.length <= 1;
  let axis = Number(getAttr(node, 'axis')?.i ?? 1);
  if (axis < 0) axis += rank;
  if (!perTensor && (axis < 0 || axis >= rank)) return `DequantizeLinear axis ${axis} is out of range`;
  const len = perTensor ? 1 : q.dims[axis]!;
  const s = perAxis(scale, len, 'scale');
  const z = zp ? perAxis(zp, len, 'zero point') : Float64Array.of(0);
  if (typeof s === 'string') return s;
  if (typeof z === 'string') return z;
  return { scale: Float32Array.from(s), zeroPoint: z, axis: perTensor ? 0 : axis, dtype: scale.dtype, params: node.inputs.slice(1).filter(Boolean) };
}

const QLINEAR_REASONS: Record<string, string> = {
  QLinearConv: 'QLinearConv computes on quantized activations end to end; tbn tiles QDQ (DequantizeLinear) and ConvInteger weights',
  QLinearMatMul: 'QLinearMatMul computes on quantized activations end to end; tbn tiles QDQ (DequantizeLinear) and MatMulInteger weights',
};

/** The weight input of a quantized layer op tbn does not tile, and why; undefined for other ops. */
export function untiledQuantizedOp(node: Node): { weightInput: number; reason: string } | undefined {
  if (!isDefault(node)) return undefined;
  const reason = QLINEAR_REASONS[node.opType];
  return reason ? { weightInput: 3, reason } : undefined;
}

function single(look: Lookups, graph: Graph, value: string, op: string): { index: number; node: Node } | undefined {
  const c = look.cons.get(value) ?? [];
  if (c.length !== 1) return undefined;
  const node = graph.nodes[c[0]!]!;
  return isDefault(node) && node.opType === op ? { index: c[0]!, node } : undefined;
}

/**
 * The dynamic-quantization chain around ConvInteger/MatMulInteger node `index`, with the
 * weight's dequantization (zero point from the node, scale from the scales Mul), or why not.
 */
export function integerChain(graph: Graph, index: number, look: Lookups, featureAxisFromEnd: number): { chain: IntegerChain; dequantize: Omit<Dequantize, 'axis'> & { perFeature: boolean } } | string {
  const node = graph.nodes[index]!;
  const dqlIndex = look.prod.get(node.inputs[0] ?? '');
  const dql = dqlIndex === undefined ? undefined : graph.nodes[dqlIndex]!;
  if (!dql || !isDefault(dql) || dql.opType !== 'DynamicQuantizeLinear' || dql.outputs[0] !== node.inputs[0] || (node.inputs[2] && node.inputs[2] !== dql.outputs[2])) {
    return `${node.opType} input is not quantized by DynamicQuantizeLinear (only onnxruntime's dynamic-quantization form is tiled)`;
  }
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const cast = single(look, graph, node.outputs[0]!, 'Cast');
  if (outputs.has(node.outputs[0]!) || (cast && outputs.has(cast.node.outputs[0]!))) return `${node.opType} output or its Cast is a graph output`;
  const to = cast ? dtypeFromCode(Number(getAttr(cast.node, 'to')?.i ?? 0)) : undefined;
  if (!cast || (to !== 'float32' && to !== 'float16')) return `${node.opType} output is not read by one Cast to float`;
  const mul = single(look, graph, cast.node.outputs[0]!, 'Mul');
  if (!mul) return `${node.opType} output is not rescaled by one Mul`;
  const scalesValue = mul.node.inputs.find((v) => v !== cast.node.outputs[0]) ?? '';
  const sIndex = look.prod.get(scalesValue);
  const scales = sIndex === undefined ? undefined : graph.nodes[sIndex]!;
  const wScaleName = scales && isDefault(scales) && scales.opType === 'Mul' && scales.inputs.includes(dql.outputs[1]!) ? scales.inputs.find((v) => v !== dql.outputs[1]) : undefined;
  const wScale = wScaleName ? constantTensor(graph, wScaleName, look) : undefined;
  if (!wScale || !scales) return `${node.opType} output is not rescaled by DynamicQuantizeLinear's scale × a constant weight scale`;
  const zpName = node.inputs[3] ?? '';
  const zp = zpName ? constantTensor(graph, zpName, look) : undefined;
  if (zpName && !zp) return `${node.opType} weight zero point is not a constant`;
  const n = wScale.dims.reduce((a, b) => a * b, 1);
  // A per-feature scale broadcasts onto the output's feature axis (last for MatMul, channels for Conv).
  const at = wScale.dims.length - featureAxisFromEnd;
  if (n !== 1 && (at < 0 || wScale.dims[at] !== n)) return `${node.opType} weight scale of shape [${wScale.dims}] is not per tensor or per output feature`;
  return {
    chain: { input: dql.inputs[0]!, output: mul.node.outputs[0]!, replaced: [cast.index, mul.index], feeders: [dqlIndex!, sIndex!], dtype: to },
    dequantize: {
      scale: Float32Array.from(tensorValues(wScale)),
      zeroPoint: zp ? tensorValues(zp) : Float64Array.of(0),
      dtype: to,
      params: [wScaleName!, zpName].filter(Boolean),
      perFeature: n !== 1,
    },
  };
}
