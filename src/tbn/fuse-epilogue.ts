// Folds what follows a tiled layer into its fused ai.tbn op (the version-2 epilogue), so the
// kernels apply it while the layer's output block is in cache instead of onnxruntime running
// each node as another pass over the output:
//   BatchNormalization (inference form), Mul/Div/Add/Sub by a per-channel constant → scale, shift
//   Add of a tensor of the output's shape                                          → residual
//   any elementwise subgraph that computes a supported activation (activation-match.ts)
//   Transpose(NHWC→NCHW) → TbnConv → Transpose(NCHW→NHWC)                            → TbnConvNhwc
//   then a MaxPool reading a channels-first TbnConv's output                       → TbnConvMaxPool
// (the channels-last epilogue is folded through the TbnConvNhwc; unless channelsLastOp, the node
// is then written back as Transpose → TbnConv → Transpose, channels-last.ts: onnxruntime cancels
// the Transpose pairs between convs, which is faster than the transposes inside TbnConvNhwc)
// in the order y = act(scale·v + shift + residual): an affine step is folded only before any
// residual or activation, a residual before the activation. A node is absorbed only when it is
// the only reader of the value between (the activation's own subgraph may read it several
// times) and that value is not a graph output, so the model computes exactly what it did. The
// model-local functions are rewritten to compute the same epilogue with standard ops.
// float16/bfloat16 models: the epilogue inputs are written in the fused op's float type T (that
// of its scales); Clip and GELU, whose function bodies need constants of T, are folded only when
// every fused op of the model has the same T (epilogue-body.ts).

import { Attrs, getAttr } from '../ir/attrs.js';
import { floatTensorOf, valueInfo as makeValueInfo } from '../ir/build.js';
import { bfloat16ToFloat, halfToFloat } from '../ir/dtype.js';
import { defaultOpset, initializerMap, isDefaultDomain, nodeReads } from '../ir/graph.js';
import { NameSource, collectNames } from '../ir/names.js';
import type { Attribute, Dim, Graph, Model, Node, OnnxTensor, ValueInfo } from '../ir/types.js';
import { isElementwise, matchActivation, type MatchedActivation } from './activation-match.js';
import { ACTIVATIONS, EPILOGUE_INPUTS, OPS, TBN_DOMAIN, baseInputCount, inputIndex, tbnOpsetVersion, type TbnOpName } from './format.js';
import { TYPED_ACTIVATIONS, type EpilogueFloat } from './epilogue-body.js';
import { channelsFirst } from './channels-last.js';
import { tbnFunction, type EpilogueUse } from './functions.js';
import { probeValueShapes } from './shapes.js';

export interface FuseReport {
  node: string;
  op: TbnOpName;
  /** Op types absorbed, in order. */
  fused: string[];
}

interface Epi {
  scale?: Float64Array;
  shift?: Float64Array;
  residual?: string;
  act?: MatchedActivation;
  fused: string[];
  last: number; // graph index of the last absorbed node: where the fused node goes
}

const FUSED_OPS = new Set(['TbnGemm', 'TbnMatMul', 'TbnConv', 'TbnConvNhwc', 'TbnConvMaxPool']);
const NUMERIC = new Set(['float32', 'float64', 'int32', 'int64', 'int8', 'uint8', 'int16', 'uint16']);
const NARROW: Record<string, (bits: number) => number> = { float16: halfToFloat, bfloat16: bfloat16ToFloat };
const isStd = (n: Node) => isDefaultDomain(n.domain);

class View {
  readonly inits: Map<string, OnnxTensor>;
  readonly outputs: Set<string>;
  constructor(
    readonly g: Graph,
    readonly nodes: (Node | null)[],
    readonly dims: Map<string, Dim[]>,
  ) {
    this.inits = initializerMap(g);
    this.outputs = new Set(g.outputs.map((o) => o.name!));
  }
  /** Nodes reading `value`, an If/Loop/Scan whose body reads it from this scope included. */
  consumers(value: string): number[] {
    const out: number[] = [];
    this.nodes.forEach((n, i) => n && nodeReads(n).includes(value) && out.push(i));
    return out;
  }
  producer(value: string): number | undefined {
    const i = this.nodes.findIndex((n) => n?.outputs.includes(value));
    return i < 0 ? undefined : i;
  }
  /** A constant's values (initializer or Constant node, through Identity) as float64. */
  constant(name: string): { dims: number[]; values: Float64Array } | undefined {
    const numeric = (t: OnnxTensor) => {
      if (NARROW[t.dtype]) return { dims: t.dims, values: Float64Array.from(t.data as Uint16Array, NARROW[t.dtype]!) };
      return NUMERIC.has(t.dtype) ? { dims: t.dims, values: Float64Array.from(t.data as ArrayLike<number | bigint>, Number) } : undefined;
    };
    const t = this.inits.get(name);
    if (t) return numeric(t);
    const p = this.producer(name);
    const n = p === undefined ? undefined : this.nodes[p]!;
    if (!n || !isStd(n)) return undefined;
    if (n.opType === 'Identity') return this.constant(n.inputs[0]!);
    if (n.opType !== 'Constant') return undefined;
    const a = n.attributes[0];
    if (a?.name === 'value' && a.t) return numeric(a.t);
    if (a?.name === 'value_float' && a.f !== undefined) return { dims: [], values: Float64Array.of(a.f) };
    return undefined;
  }
  scalar = (name: string): number | undefined => {
    const c = this.constant(name);
    return c && c.values.length === 1 ? c.values[0] : undefined;
  };
  sameShape(a: string, b: string): boolean {
    const [x, y] = [this.dims.get(a), this.dims.get(b)];
    if (!x || !y || x.length !== y.length) return false;
    return x.every((d, i) => (d.value !== undefined ? d.value === y[i]!.value : !!d.param && d.param === y[i]!.param));
  }
  rank(v: string): number | undefined {
    return this.dims.get(v)?.length;
  }
}

/** Output channels of a fused op (from weight_shape). */
function channelsOf(n: Node): number {
  const shape = (getAttr(n, 'weight_shape')?.ints ?? []).map(Number);
  if (n.opType === 'TbnGemm') return Attrs.of(n).int('transB', 0) ? shape[0]! : shape[1]!;
  if (n.opType === 'TbnMatMul') return shape[1]!;
  return shape[0]!;
}

/** Y's rank where the op fixes it: Conv (that of weight_shape), Gemm (2). */
function outputRank(n: Node): number | undefined {
  if (n.opType === 'TbnGemm') return 2;
  if (OPS[n.opType as TbnOpName]?.standard === 'Conv') return getAttr(n, 'weight_shape')?.ints?.length;
  return undefined;
}

/** Whether the op's channels are axis 1 (a channels-first conv) rather than the last. */
const channelsFirstOp = (n: Node) => OPS[n.opType as TbnOpName]?.standard === 'Conv' && n.opType !== 'TbnConvNhwc';

/** A fused op's float type T: that of its scales (format.ts: every input but the bits is T). */
function elemTypeOf(n: Node, inits: Map<string, OnnxTensor>): EpilogueFloat {
  const t = inits.get(n.inputs[inputIndex(n.opType as TbnOpName, 'scales')] ?? '')?.dtype;
  return t === 'float16' || t === 'bfloat16' ? t : 'float32';
}

const MATCH_TOLERANCE: Record<EpilogueFloat, number> = { float32: 1e-5, float16: 2e-3, bfloat16: 1.6e-2 };

/** A constant broadcast along one axis of an output of rank `rank` as C values, or undefined. */
function perChannel(c: { dims: number[]; values: Float64Array }, rank: number, axis: number, channels: number): Float64Array | undefined {
  if (c.values.length === 1) return new Float64Array(channels).fill(c.values[0]!);
  if (c.dims.length > rank || c.values.length !== channels) return undefined;
  const pos = axis - (rank - c.dims.length); // axis in the constant's (right-aligned) dims
  if (pos < 0 || c.dims[pos] !== channels) return undefined;
  return c.values;
}

const affine = (e: Epi, mul: Float64Array | undefined, add: Float64Array | undefined, channels: number) => {
  const scale = e.scale ?? new Float64Array(channels).fill(1);
  const shift = e.shift ?? new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    if (mul) scale[c]! *= mul[c]!, shift[c]! *= mul[c]!;
    if (add) shift[c]! += add[c]!;
  }
  if (mul) e.scale = scale;
  if (mul || add) e.shift = shift;
};

/** Tries to absorb what reads the fused node's output; returns the node (changed) or undefined. */
function absorbNext(v: View, n: Node, e: Epi, typedActivations: boolean): Node | undefined {
  const y = n.outputs[0]!;
  if (v.outputs.has(y)) return undefined;
  const readers = v.consumers(y);
  const channels = channelsOf(n);
  // Unprobed shapes (a bfloat16 model stock onnxruntime cannot run): Conv and Gemm fix Y's rank.
  const rank = v.rank(y) ?? outputRank(n);
  const axis = channelsFirstOp(n) ? 1 : (rank ?? 0) - 1;
  const take = (idx: number[], out: string, label: string): Node => {
    for (const i of idx) v.nodes[i] = null;
    e.fused.push(label);
    e.last = Math.max(e.last, ...idx);
    return { ...n, outputs: [out] };
  };
  if (readers.length === 1) {
    const ri = readers[0]!;
    const r = v.nodes[ri]!;
    const plain = !e.residual && !e.act;
    if (isStd(r) && r.opType === 'Transpose' && n.opType === 'TbnConv' && !e.residual && absorbTranspose(v, n, r)) {
      return take([ri], r.outputs[0]!, 'Transpose');
    }
    if (plain && rank !== undefined && isStd(r) && r.opType === 'BatchNormalization' && r.inputs[0] === y && axis === 1) {
      const bn = batchNorm(v, r, channels);
      if (bn) {
        affine(e, bn.mul, bn.add, channels);
        return take([ri], r.outputs[0]!, 'BatchNormalization');
      }
    }
    if (plain && rank !== undefined && isStd(r) && ['Mul', 'Div', 'Add', 'Sub'].includes(r.opType) && r.inputs.length === 2) {
      const constIdx = r.inputs[0] === y ? 1 : 0;
      const k = r.inputs[constIdx] !== y ? v.constant(r.inputs[constIdx]!) : undefined;
      const vals = k && perChannel(k, rank, axis, channels);
      const firstIsY = constIdx === 1;
      if (vals && (r.opType === 'Mul' || r.opType === 'Add' || firstIsY)) {
        if (r.opType === 'Mul') affine(e, vals, undefined, channels);
        else if (r.opType === 'Div') affine(e, vals.map((x) => 1 / x), undefined, channels);
        else affine(e, undefined, r.opType === 'Sub' ? vals.map((x) => -x) : vals, channels);
        return take([ri], r.outputs[0]!, r.opType);
      }
      if (!k && r.opType === 'Add' && r.inputs[0] !== r.inputs[1]) {
        const res = r.inputs[0] === y ? r.inputs[1]! : r.inputs[0]!;
        if (v.sameShape(res, y) && v.sameShape(r.outputs[0]!, y)) {
          e.residual = res;
          return take([ri], r.outputs[0]!, 'Add');
        }
      }
    }
  }
  if (!e.act) {
    // float16/bfloat16 models store the activation's constants rounded: match within that rounding.
    const a = activationRegion(v, y, MATCH_TOLERANCE[elemTypeOf(n, v.inits)]);
    if (a && (typedActivations || !TYPED_ACTIVATIONS.has(ACTIVATIONS[a.match.code]!))) {
      e.act = a.match;
      return take(a.indices, a.result, a.indices.map((i) => v.nodes[i]!.opType).join('·'));
    }
  }
  return undefined;
}

/** A TbnConv (its epilogue absorbed) whose only reader is a MaxPool that the kernels run (no
 * Indices output read, dilations 1, explicit or VALID pads, each pad under the kernel) becomes
 * TbnConvMaxPool with the pool's attributes; the conv's output then never leaves the op. */
function absorbPool(v: View, n: Node, e: Epi): boolean {
  const y = n.outputs[0]!;
  const readers = v.consumers(y);
  if (n.opType !== 'TbnConv' || v.outputs.has(y) || readers.length !== 1) return false;
  const r = v.nodes[readers[0]!]!;
  if (!isStd(r) || r.opType !== 'MaxPool' || r.inputs[0] !== y) return false;
  if (r.outputs.slice(1).some((o) => o && (v.consumers(o).length || v.outputs.has(o)))) return false;
  const spatial = (getAttr(n, 'weight_shape')?.ints ?? []).length - 2;
  const a = Attrs.of(r);
  const kernel = a.ints('kernel_shape', []);
  const strides = a.ints('strides', new Array<number>(spatial).fill(1));
  const autoPad = a.string('auto_pad', 'NOTSET');
  const pads = autoPad === 'VALID' ? new Array<number>(2 * spatial).fill(0) : a.ints('pads', new Array<number>(2 * spatial).fill(0));
  const ceil = a.int('ceil_mode', 0);
  if (kernel.length !== spatial || strides.length !== spatial || pads.length !== 2 * spatial) return false;
  if (a.ints('dilations', []).some((d) => d !== 1) || (autoPad !== 'NOTSET' && autoPad !== 'VALID') || (ceil !== 0 && ceil !== 1)) return false;
  if (kernel.some((k) => k < 1) || strides.some((s) => s < 1) || pads.some((p, i) => p < 0 || p >= kernel[i % spatial]!)) return false;
  n.opType = 'TbnConvMaxPool';
  n.outputs = [r.outputs[0]!];
  n.attributes = [
    ...n.attributes,
    { name: 'pool_kernel_shape', type: 'INTS', ints: kernel },
    { name: 'pool_strides', type: 'INTS', ints: strides },
    { name: 'pool_pads', type: 'INTS', ints: pads },
    ...(ceil ? [{ name: 'pool_ceil_mode', type: 'INT' as const, i: 1 }] : []),
  ];
  v.nodes[readers[0]!] = null;
  e.fused.push('MaxPool');
  e.last = Math.max(e.last, readers[0]!);
  return true;
}

/** TbnConv between Transpose(perm 0,3,1,2) and Transpose(perm 0,2,3,1) becomes TbnConvNhwc on the
 * first one's input (that Transpose stays when something else reads it). */
function absorbTranspose(v: View, n: Node, after: Node): boolean {
  const perm = (t: Node) => (getAttr(t, 'perm')?.ints ?? []).map(Number).join(',');
  if ((getAttr(n, 'weight_shape')?.ints ?? []).length !== 4 || perm(after) !== '0,2,3,1') return false;
  const x = inputIndex('TbnConv', 'X');
  const pi = v.producer(n.inputs[x]!);
  const before = pi === undefined ? undefined : v.nodes[pi]!;
  if (!before || !isStd(before) || before.opType !== 'Transpose' || perm(before) !== '0,3,1,2') return false;
  const t = before.outputs[0]!;
  const alone = v.consumers(t).length === 1 && !v.outputs.has(t);
  n.opType = 'TbnConvNhwc';
  n.inputs = n.inputs.map((v, i) => (i === x ? before.inputs[0]! : v));
  if (alone) v.nodes[pi!] = null;
  return true;
}

/** BatchNormalization in inference form with constant parameters, as y = mul·x + add. */
function batchNorm(v: View, r: Node, channels: number): { mul: Float64Array; add: Float64Array } | undefined {
  if (Attrs.of(r).int('training_mode', 0) !== 0 || r.inputs.length < 5) return undefined;
  if (r.outputs.slice(1).some((o) => o && (v.consumers(o).length || v.outputs.has(o)))) return undefined;
  const [gamma, beta, mean, variance] = r.inputs.slice(1, 5).map((x) => v.constant(x));
  if (!gamma || !beta || !mean || !variance || [gamma, beta, mean, variance].some((c) => c.values.length !== channels)) return undefined;
  const eps = getAttr(r, 'epsilon')?.f ?? 1e-5;
  const mul = new Float64Array(channels);
  const add = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    mul[c] = gamma.values[c]! / Math.sqrt(variance.values[c]! + eps);
    add[c] = beta.values[c]! - mean.values[c]! * mul[c]!;
  }
  return { mul, add };
}

/** The largest elementwise subgraph reading y (and scalars) that computes a supported activation. */
function activationRegion(v: View, y: string, tolerance: number): { indices: number[]; result: string; match: MatchedActivation } | undefined {
  const region: number[] = [];
  const values = new Set([y]);
  for (let grew = true; grew && region.length < 16; ) {
    grew = false;
    for (const [i, n] of v.nodes.entries()) {
      if (!n || region.includes(i) || !isElementwise(n) || !n.inputs.some((x) => values.has(x))) continue;
      if (!n.inputs.every((x) => !x || values.has(x) || v.scalar(x) !== undefined)) continue;
      region.push(i);
      n.outputs.forEach((o) => o && values.add(o));
      grew = true;
    }
  }
  region.sort((a, b) => a - b);
  const yReaders = v.consumers(y);
  let best: { indices: number[]; result: string; match: MatchedActivation } | undefined;
  for (const zi of region) {
    const z = v.nodes[zi]!.outputs[0]!;
    // nodes of the region z depends on
    const need = new Set([zi]);
    for (let k = region.length - 1; k >= 0; k--) {
      const i = region[k]!;
      if (!need.has(i)) continue;
      for (const x of v.nodes[i]!.inputs) {
        const p = region.find((j) => v.nodes[j]!.outputs.includes(x));
        if (p !== undefined) need.add(p);
      }
    }
    const idx = region.filter((i) => need.has(i));
    const closed =
      yReaders.every((i) => need.has(i)) &&
      idx.every((i) => i === zi || v.nodes[i]!.outputs.every((o) => !o || (!v.outputs.has(o) && v.consumers(o).every((c) => need.has(c)))));
    if (!closed) continue;
    const match = matchActivation(idx.map((i) => v.nodes[i]!), y, z, v.scalar, tolerance);
    if (match && (!best || idx.length >= best.indices.length)) best = { indices: idx, result: z, match };
  }
  return best;
}

export interface FuseOptions {
  /** --input-shape values (shapes are probed with onnxruntime to check residual shapes). */
  shapes?: Map<string, number[]>;
  /** Keep channels-last convs as TbnConvNhwc nodes (default: Transpose → TbnConv → Transpose). */
  channelsLastOp?: boolean;
}

/** Folds epilogues into the model's fused ai.tbn ops. */
export async function fuseEpilogues(model: Model, opts: FuseOptions = {}): Promise<{ model: Model; report: FuseReport[] }> {
  const g = model.graph;
  if (!g.nodes.some((n) => n.domain === TBN_DOMAIN && FUSED_OPS.has(n.opType))) return { model, report: [] };
  const probeNames = g.nodes.filter((n) => !(isStd(n) && n.opType === 'Constant')).flatMap((n) => n.outputs).filter(Boolean);
  const dims = new Map<string, Dim[]>();
  for (const vi of await probeValueShapes(model, probeNames, opts.shapes)) {
    if (vi.type?.kind === 'tensor' && vi.type.shape) dims.set(vi.name!, vi.type.shape);
  }
  for (const vi of [...g.inputs, ...g.valueInfo]) if (vi.type?.kind === 'tensor' && vi.type.shape && !dims.has(vi.name!)) dims.set(vi.name!, vi.type.shape);
  const view = new View(g, [...g.nodes], dims);
  // Function bodies with constants of T serve one T: with mixed types, only generic activations.
  const types = new Set(g.nodes.filter((n) => n.domain === TBN_DOMAIN && FUSED_OPS.has(n.opType)).map((n) => elemTypeOf(n, view.inits)));
  const typedActivations = types.size === 1;
  const report: FuseReport[] = [];
  const epis = new Map<Node, Epi>();
  const done = new Set<Node>();
  for (let i = 0; i < view.nodes.length; i++) {
    let n = view.nodes[i];
    if (!n || done.has(n) || n.domain !== TBN_DOMAIN || !FUSED_OPS.has(n.opType) || Attrs.of(n).int('activation', 0) !== 0) continue;
    // already has an epilogue; or a pool, after which nothing may be folded (the epilogue comes before it)
    if (n.inputs.length > baseInputCount(n.opType as TbnOpName) || n.opType === 'TbnConvMaxPool') continue;
    const e: Epi = { fused: [], last: i };
    n = { ...n, inputs: [...n.inputs], attributes: [...n.attributes] };
    for (let next = absorbNext(view, n, e, typedActivations); next; next = absorbNext(view, n, e, typedActivations)) n = next;
    absorbPool(view, n, e);
    if (!e.fused.length) continue;
    view.nodes[i] = null;
    view.nodes[e.last] = n;
    epis.set(n, e);
    done.add(n);
    report.push({ node: n.name ?? n.outputs[0]!, op: n.opType as TbnOpName, fused: e.fused });
  }
  if (!report.length) return { model, report };
  if (opts.channelsLastOp) return { model: withTbnVersion(rebuild(model, view, epis, false)), report };
  // The Transposes stay in the model (onnxruntime cancels them): they are not folded.
  const unfolded = report.map((r) => (r.op === 'TbnConvNhwc' ? { ...r, op: 'TbnConv' as const, fused: r.fused.filter((f) => f !== 'Transpose') } : r));
  return { model: withTbnVersion(rebuild(model, view, epis, true)), report: unfolded };
}

/** The ai.tbn import at the version the nodes now need (3 once a TbnConvMaxPool is there). */
function withTbnVersion(model: Model): Model {
  const version = tbnOpsetVersion(model.graph.nodes);
  return { ...model, opsetImports: model.opsetImports.map((o) => (o.domain === TBN_DOMAIN ? { ...o, version } : o)) };
}

/** The graph with the fused nodes' epilogues written (inputs, attributes), dead constants and
 * stale value_info dropped, then normalised (normalizeEpilogues). */
function rebuild(model: Model, v: View, epis: Map<Node, Epi>, firstChannels: boolean): Model {
  const g = model.graph;
  const names = new NameSource(collectNames(g));
  const initializers = [...g.initializers];
  const addInit = (base: string, values: Float64Array, t: EpilogueFloat) => {
    const name = names.fresh(base);
    initializers.push(floatTensorOf(name, t, [values.length], Float32Array.from(values)));
    return name;
  };
  let nodes = v.nodes.filter((n): n is Node => !!n).map((n) => {
    const e = epis.get(n);
    if (!e) return n;
    const base = baseInputCount(n.opType as TbnOpName);
    const label = n.name || n.outputs[0]!;
    const t = elemTypeOf(n, v.inits);
    const epi = [e.scale ? addInit(`${label}_tbn_scale`, e.scale, t) : '', e.shift ? addInit(`${label}_tbn_shift`, e.shift, t) : '', e.residual ?? ''];
    while (epi.length && !epi[epi.length - 1]) epi.pop();
    const attrs = n.attributes.filter((a) => !EPILOGUE_ATTR_NAMES.includes(a.name ?? ''));
    const act = e.act ?? { code: 0, alpha: 0, beta: 0 };
    const extra: Attribute[] = act.code ? [{ name: 'activation', type: 'INT', i: act.code }] : [];
    if (ACTIVATIONS[act.code] === 'LeakyRelu' || ACTIVATIONS[act.code] === 'Clip') extra.push({ name: 'activation_alpha', type: 'FLOAT', f: act.alpha });
    if (ACTIVATIONS[act.code] === 'Clip') extra.push({ name: 'activation_beta', type: 'FLOAT', f: act.beta });
    return { ...n, inputs: [...n.inputs.slice(0, base), ...epi], attributes: [...attrs, ...extra] };
  });
  // Constants (initializers, Constant nodes) that only absorbed nodes read go with them.
  const kept0 = new Set(v.nodes.filter(Boolean));
  const absorbed = g.nodes.filter((n) => !kept0.has(n)); // (and the tiled nodes' old copies, whose inputs are still read)
  const absorbedReads = new Set(absorbed.flatMap((n) => n.inputs));
  const read = new Set([...nodes.flatMap((n) => n.inputs), ...g.outputs.map((o) => o.name!)]);
  nodes = nodes.filter((n) => !(isStd(n) && n.opType === 'Constant' && n.outputs.every((o) => absorbedReads.has(o) && !read.has(o))));
  const kept = initializers.filter((t) => !absorbedReads.has(t.name!) || read.has(t.name!));
  const gone = new Set(absorbed.flatMap((n) => n.outputs));
  for (const n of nodes) for (const o of n.outputs) gone.delete(o);
  const valueInfo: ValueInfo[] = g.valueInfo.filter((x) => !gone.has(x.name!));
  const outputs = new Set(g.outputs.map((o) => o.name));
  for (const n of epis.keys()) {
    const z = n.outputs[0]!;
    const d = v.dims.get(z);
    if (outputs.has(z) || valueInfo.some((x) => x.name === z)) continue;
    const t = elemTypeOf(n, v.inits);
    valueInfo.push(d ? { name: z, type: { kind: 'tensor', elemType: t, shape: d } } : makeValueInfo(z, t));
  }
  const folded = { ...model, graph: { ...g, nodes, initializers: kept, valueInfo } };
  return normalizeEpilogues(firstChannels ? channelsFirst(folded) : folded);
}

const EPILOGUE_ATTR_NAMES = ['activation', 'activation_alpha', 'activation_beta'];

/**
 * Makes every fused ai.tbn node fit its op's model-local function, and writes those functions:
 * per op, the function computes the epilogue pieces some node of that op uses; nodes without a
 * piece pass its identity (a scalar 1 or 0), nodes of an op with several activations all name
 * theirs (0 for none), with activation_alpha/beta where the function reads them. Identities
 * and the function's constants are in the nodes' float type T.
 */
export function normalizeEpilogues(model: Model): Model {
  const g = model.graph;
  const names = new NameSource(collectNames(g));
  const inits = initializerMap(g);
  const initializers = [...g.initializers];
  const identity = new Map<string, string>();
  const constName = (kind: 'one' | 'zero', t: EpilogueFloat) => {
    const key = `${kind}:${t}`;
    if (!identity.has(key)) {
      const name = names.fresh(`tbn_epilogue_${kind}${t === 'float32' ? '' : `_${t}`}`);
      initializers.push(floatTensorOf(name, t, [], Float32Array.of(kind === 'one' ? 1 : 0)));
      identity.set(key, name);
    }
    return identity.get(key)!;
  };
  const uses = new Map<TbnOpName, EpilogueUse>();
  const fused = (n: Node) => n.domain === TBN_DOMAIN && FUSED_OPS.has(n.opType);
  for (const n of g.nodes.filter(fused)) {
    const op = n.opType as TbnOpName;
    const use = uses.get(op) ?? { inputs: new Set(), activations: new Set(), elemType: elemTypeOf(n, inits) };
    uses.set(op, use);
    EPILOGUE_INPUTS.forEach((k, j) => n.inputs[baseInputCount(op) + j] && use.inputs.add(k));
    use.activations.add(Attrs.of(n).int('activation', 0));
  }
  const nodes = g.nodes.map((n) => {
    if (!fused(n)) return n;
    const op = n.opType as TbnOpName;
    const use = uses.get(op)!;
    const base = baseInputCount(op);
    const count = Math.max(base, ...EPILOGUE_INPUTS.filter((k) => use.inputs.has(k)).map((k) => OPS[op].inputs.indexOf(k) + 1));
    const inputs = n.inputs.slice(0, base);
    for (let j = base; j < count; j++) inputs.push(n.inputs[j] || constName(EPILOGUE_INPUTS[j - base] === 'scale' ? 'one' : 'zero', elemTypeOf(n, inits)));
    const kinds = [...use.activations];
    const code = Attrs.of(n).int('activation', 0);
    const f = (name: string) => getAttr(n, name)?.f ?? 0;
    const attrs = n.attributes.filter((a) => !EPILOGUE_ATTR_NAMES.includes(a.name ?? ''));
    if (code !== 0 || kinds.length > 1) attrs.push({ name: 'activation', type: 'INT', i: code });
    if (kinds.some((k) => ACTIVATIONS[k] === 'LeakyRelu' || ACTIVATIONS[k] === 'Clip')) attrs.push({ name: 'activation_alpha', type: 'FLOAT', f: getAttr(n, 'activation_alpha')?.f ?? (ACTIVATIONS[code] === 'LeakyRelu' ? 0.01 : 0) });
    if (kinds.some((k) => ACTIVATIONS[k] === 'Clip')) attrs.push({ name: 'activation_beta', type: 'FLOAT', f: f('activation_beta') });
    return { ...n, inputs, attributes: attrs };
  });
  const opset = defaultOpset(model) ?? 12;
  const tbnOps = new Set(nodes.filter((n) => n.domain === TBN_DOMAIN).map((n) => n.opType as TbnOpName));
  const functions = [...model.functions.filter((fn) => fn.domain !== TBN_DOMAIN), ...[...tbnOps].sort().map((op) => tbnFunction(op, opset, uses.get(op)))];
  return { ...model, graph: { ...g, nodes, initializers }, functions };
}
