// Pushes a concrete permutation of some values' positions through a graph and proves the
// graph's function unchanged: every node either carries the permutation from its inputs to
// its outputs (equivariance, per-op rules below), or it cannot, and the flow fails with a
// reason. Constants on the way (weights, biases, norm affines, embedding tables, per-axis
// quantization scales and zero points) are edited; non-constant partners (residual adds, the
// keys of a query, the values of a head) are pulled in and pushed back to their producers.
// The fixed point is the smallest set of permutations that extends the seed and keeps the
// model's function.

import { getAttr } from '../ir/attrs.js';
import { consumerMap, defaultOpset, initializerMap, producerMap } from '../ir/graph.js';
import type { Graph, Model, Node, OnnxTensor } from '../ir/types.js';
import { join, numelOf, project, relabel, samePerm, simplify, PermConflict, type AxisPerm } from './perm-algebra.js';
import { carryFlat, embed, norm, restrict, spanOf, toConsumedAxes, toStoredAxes, type Selection } from './perm-maps.js';
import { constantSource, isRecurrent, RECURRENT_GATES, type WeightSource } from './layers.js';

export class FlowFailure extends Error {}

/** A participant of a node's frame: value axis i ↦ frame axis map[i] (−1: broadcast, −2: must not move). */
interface Part {
  value: string;
  map: number[];
}

interface Frame {
  sizes: number[];
  parts: Part[];
  /** Axis sets onto which the joint permutation must project (reductions, softmax fibres). */
  fibres?: number[][];
}

export interface FlowResult {
  /** Permutation of each non-constant value that moves. */
  values: Map<string, AxisPerm>;
  /** Permutation of each constant (initializer name or Constant output), in its stored axes. */
  edits: Map<string, AxisPerm>;
}

const ELEMENTWISE = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'PRelu', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Mod',
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Erf', 'Clip', 'Identity', 'Dropout', 'Sqrt', 'Neg', 'Exp', 'Log', 'Abs', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign',
  'HardSigmoid', 'HardSwish', 'Gelu', 'Mish', 'Reciprocal', 'Cast', 'CastLike', 'Not', 'Sign', 'Floor', 'Ceil', 'Round', 'IsNaN', 'IsInf', 'ThresholdedRelu', 'Shrink', 'Sin', 'Cos',
]);
const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSum', 'ReduceLogSumExp']);
const POOLS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'GlobalLpPool']);
const QDQ = new Set(['QuantizeLinear', 'DequantizeLinear']);
/** Outputs that depend on the input's shape only. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);
/** One value everywhere: any permutation of the output is the output itself. */
const UNIFORM = new Set(['ConstantOfShape']);

export class Flow {
  readonly values = new Map<string, AxisPerm>();
  readonly edits = new Map<string, AxisPerm>();
  private readonly g: Graph;
  private readonly inits: Map<string, OnnxTensor>;
  private readonly prod: Map<string, number>;
  private readonly cons: Map<string, number[]>;
  private readonly graphOutputs: Set<string>;
  private readonly graphInputs: Set<string>;
  private readonly queue: number[] = [];
  private readonly queued = new Set<number>();
  private readonly constCache = new Map<string, WeightSource | null>();
  private readonly defaultOpset: number;

  constructor(
    model: Model,
    private readonly shapes: Map<string, number[]>,
    /** Shapes with the dynamic input dimensions grown: axes that differ follow the data. */
    private readonly grown?: Map<string, number[]>,
  ) {
    this.g = model.graph;
    this.defaultOpset = defaultOpset(model) ?? 13;
    this.inits = initializerMap(this.g);
    this.prod = producerMap(this.g);
    this.cons = consumerMap(this.g);
    this.graphOutputs = new Set(this.g.outputs.map((o) => o.name!));
    this.graphInputs = new Set(this.g.inputs.map((i) => i.name!).filter((n) => !this.inits.has(n)));
  }

  /** Seeds a permutation on a value and runs to the fixed point; throws FlowFailure. */
  run(seeds: [string, AxisPerm][], maxSteps = 200_000): FlowResult {
    for (const [v, p] of seeds) this.assign(v, p);
    for (let steps = 0; this.queue.length; steps++) {
      if (steps > maxSteps) throw new FlowFailure('the permutation does not settle');
      const i = this.queue.shift()!;
      this.queued.delete(i);
      this.visit(i);
    }
    return { values: this.values, edits: this.edits };
  }

  private shape(v: string): number[] {
    const s = this.shapes.get(v) ?? this.inits.get(v)?.dims ?? this.constant(v)?.tensor.dims;
    if (!s) throw new FlowFailure(`no shape for '${v}'`);
    return s;
  }

  private constant(v: string): WeightSource | undefined {
    if (!this.constCache.has(v)) this.constCache.set(v, constantSource(this.g, v, { inits: this.inits, prod: this.prod }) ?? null);
    return this.constCache.get(v) ?? undefined;
  }

  private current(v: string): AxisPerm | undefined {
    const c = this.constant(v);
    if (!c) return this.values.get(v);
    const e = this.edits.get(c.name);
    return e && toConsumedAxes(e, c);
  }

  private enqueue(i: number | undefined) {
    if (i === undefined || this.queued.has(i)) return;
    this.queued.add(i);
    this.queue.push(i);
  }

  /** Sets the permutation of a value (an extension of what it had), and revisits its neighbours. */
  assign(v: string, p: AxisPerm | undefined): void {
    const next = p && simplify(p);
    const before = this.current(v);
    if (samePerm(before, next)) return;
    if (!next) throw new FlowFailure(`'${v}' would move and stay`);
    const c = this.constant(v);
    if (c) {
      // A shared constant moves for every reader: each is revisited and must agree.
      this.edits.set(c.name, toStoredAxes(next, c));
      for (const x of [c.name, ...c.chain.map((s) => this.g.nodes[s.node]!.outputs[0]!)]) this.cons.get(x)?.forEach((i) => this.enqueue(i));
      return;
    }
    if (this.graphInputs.has(v)) throw new FlowFailure(`reaches graph input '${v}'`);
    if (this.graphOutputs.has(v)) throw new FlowFailure(`'${v}' is a graph output`);
    this.values.set(v, next);
    this.enqueue(this.prod.get(v));
    this.cons.get(v)?.forEach((i) => this.enqueue(i));
  }

  private visit(i: number): void {
    const n = this.g.nodes[i]!;
    if (n.domain && n.domain !== 'ai.onnx') return this.fail(n, 'it is not a standard op');
    if (SHAPE_ONLY.has(n.opType) || UNIFORM.has(n.opType) || n.opType === 'Constant') return;
    try {
      if (isRecurrent(n.opType)) return this.recurrent(n);
      if (['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'].includes(n.opType)) return this.reshape(n);
      if (['Gather', 'Slice', 'Split', 'Concat'].includes(n.opType)) return this.select(n);
      const frame = this.frame(n);
      if (!frame) return this.fail(n, 'no rule for this op');
      this.solve(n, frame);
    } catch (e) {
      if (e instanceof PermConflict) this.fail(n, e.message);
      throw e;
    }
  }

  private fail(n: Node, why: string): never {
    throw new FlowFailure(`cannot follow channels through ${n.opType} '${n.name || n.outputs[0]}': ${why}`);
  }

  /** Joins the participants' permutations in the frame and gives each its projection. */
  private solve(n: Node, f: Frame): void {
    const inFrame: AxisPerm[] = [];
    for (const part of f.parts) {
      const p = this.current(part.value);
      if (!p) continue;
      if (p.axes.some((a) => part.map[a]! < 0)) this.fail(n, `'${part.value}' moves along an axis the op does not carry`);
      inFrame.push(relabel(p, (a) => part.map[a]!));
    }
    const joint = join(inFrame, (a) => f.sizes[a]!);
    if (!joint) return;
    for (const fibre of f.fibres ?? []) if (!project(joint, fibre)) this.fail(n, 'it mixes positions the permutation moves');
    for (const part of f.parts) {
      const axes = part.map.map((m, i) => (m >= 0 ? i : -1)).filter((i) => i >= 0);
      const onPart = project(joint, axes.map((i) => part.map[i]!));
      if (!onPart) this.fail(n, `the permutation cannot be written on '${part.value}'`);
      const inverse = new Map(axes.map((i) => [part.map[i]!, i]));
      this.assign(part.value, onPart.axes.length ? relabel(onPart, (a) => inverse.get(a)!) : undefined);
    }
  }

  /** Elementwise broadcast: frame = output axes; an input's size-1 axes do not take part. */
  private broadcast(values: string[], out: string[], rank: number, outShape: number[]): Part[] {
    const parts: Part[] = [];
    for (const v of values) {
      if (!v) continue;
      const s = this.shape(v);
      parts.push({ value: v, map: s.map((d, i) => (d === outShape[i + rank - s.length] && d !== 1 ? i + rank - s.length : -1)) });
    }
    for (const o of out) if (o) parts.push({ value: o, map: outShape.map((_, i) => i) });
    return parts;
  }

  private frame(n: Node): Frame | undefined {
    const op = n.opType;
    const y = n.outputs[0]!;
    if (ELEMENTWISE.has(op) || op === 'Expand') {
      const outShape = this.shape(y);
      const data = op === 'Expand' ? [n.inputs[0]!] : n.inputs;
      return { sizes: outShape, parts: this.broadcast(data, n.outputs.slice(0, op === 'Dropout' ? 2 : 1), outShape.length, outShape) };
    }
    if (op === 'Transpose') {
      const s = this.shape(n.inputs[0]!);
      const perm = getAttr(n, 'perm')?.ints?.map(Number) ?? s.map((_, i) => s.length - 1 - i);
      return { sizes: s, parts: [{ value: n.inputs[0]!, map: s.map((_, i) => i) }, { value: y, map: perm }] };
    }
    if (op === 'Softmax' || op === 'LogSoftmax' || op === 'Hardmax') {
      const s = this.shape(y);
      const a = norm(Number(getAttr(n, 'axis')?.i ?? (this.defaultOpset >= 13 ? -1 : 1)), s.length);
      const within = this.defaultOpset >= 13 ? [a] : s.map((_, i) => i).filter((i) => i >= a);
      return { sizes: s, parts: this.broadcast([n.inputs[0]!], [y], s.length, s), fibres: [s.map((_, i) => i).filter((i) => !within.includes(i))] };
    }
    if (QDQ.has(op)) return this.quantizeLinear(n);
    if (op === 'DynamicQuantizeLinear') {
      // Its scale and zero point come from the whole tensor's min and max: scalars no permutation changes.
      const s = this.shape(y);
      return { sizes: s, parts: this.broadcast([n.inputs[0]!], [y], s.length, s) };
    }
    if (REDUCE.has(op)) return this.reduce(n);
    if (op === 'LayerNormalization') {
      const s = this.shape(n.inputs[0]!);
      const a = norm(Number(getAttr(n, 'axis')?.i ?? -1), s.length);
      const kept = s.map((_, i) => i).filter((i) => i < a);
      const parts = this.broadcast([n.inputs[0]!, n.inputs[1]!, n.inputs[2] ?? ''], [y], s.length, s);
      for (const o of n.outputs.slice(1)) if (o) parts.push({ value: o, map: this.shape(o).map((_, i) => (i < a ? i : -1)) });
      return { sizes: s, parts, fibres: [kept] };
    }
    if (op === 'BatchNormalization' || op === 'InstanceNormalization') {
      const s = this.shape(n.inputs[0]!);
      const parts: Part[] = [{ value: n.inputs[0]!, map: s.map((_, i) => (i <= 1 ? i : -2)) }, { value: y, map: s.map((_, i) => (i <= 1 ? i : -2)) }];
      for (const v of n.inputs.slice(1)) if (v) parts.push({ value: v, map: [1] });
      return { sizes: s, parts };
    }
    if (POOLS.has(op)) {
      if (n.outputs[1]) return undefined; // MaxPool indices count channels
      const s = this.shape(n.inputs[0]!);
      const map = (r: number) => Array.from({ length: r }, (_, i) => (i <= 1 ? i : -2));
      return { sizes: s.slice(0, 2), parts: [{ value: n.inputs[0]!, map: map(s.length) }, { value: y, map: map(this.shape(y).length) }] };
    }
    if (op === 'MatMul' || op === 'MatMulInteger') return this.matmul(n);
    if (op === 'Gemm') {
      const ta = Number(getAttr(n, 'transA')?.i ?? 0);
      const tb = Number(getAttr(n, 'transB')?.i ?? 0);
      const [m, nn] = this.shape(y);
      const k = this.shape(n.inputs[0]!)[ta ? 0 : 1]!;
      const parts: Part[] = [
        { value: n.inputs[0]!, map: ta ? [2, 0] : [0, 2] },
        { value: n.inputs[1]!, map: tb ? [1, 2] : [2, 1] },
        ...this.broadcast([n.inputs[2] ?? ''], [y], 2, [m!, nn!]),
      ];
      return { sizes: [m!, nn!, k], parts };
    }
    if (op === 'Conv' || op === 'ConvInteger') return this.conv(n);
    return undefined;
  }

  private reduce(n: Node): Frame {
    const s = this.shape(n.inputs[0]!);
    const keep = Number(getAttr(n, 'keepdims')?.i ?? 1);
    let axes = getAttr(n, 'axes')?.ints?.map(Number);
    if (!axes && n.inputs[1]) {
      const c = this.constant(n.inputs[1]);
      if (!c) this.fail(n, 'its axes are not a constant');
      axes = Array.from(c.tensor.data as ArrayLike<number | bigint>, Number);
    }
    const reduced = (axes && axes.length ? axes : s.map((_, i) => i)).map((a) => norm(a, s.length));
    const kept = s.map((_, i) => i).filter((i) => !reduced.includes(i));
    const outMap = keep ? s.map((_, i) => (reduced.includes(i) ? -1 : i)) : kept;
    return { sizes: s, parts: [{ value: n.inputs[0]!, map: s.map((_, i) => i) }, { value: n.outputs[0]!, map: outMap }], fibres: [kept] };
  }

  private matmul(n: Node): Frame {
    const [a, b] = [n.inputs[0]!, n.inputs[1]!];
    const sa = this.shape(a);
    const sb = this.shape(b);
    const y = this.shape(n.outputs[0]!);
    if (sa.length < 2 || sb.length < 2) this.fail(n, '1-D operands');
    const r = y.length;
    const K = r; // the contracted axis gets its own frame axis
    const batch = (s: number[]) => s.slice(0, -2).map((d, i) => (d === y[i + r - s.length] && d !== 1 ? i + r - s.length : -1));
    const partA: Part = { value: a, map: [...batch(sa), r - 2, K] };
    const partB: Part = { value: b, map: [...batch(sb), K, r - 1] };
    const parts = [partA, partB, { value: n.outputs[0]!, map: y.map((_, i) => i) }];
    if (n.opType === 'MatMulInteger') parts.push(...this.zeroPoint(n, 2, partA, K), ...this.zeroPoint(n, 3, partB, K));
    return { sizes: [...y, sa[sa.length - 1]!], parts };
  }

  /**
   * A zero point of MatMulInteger's operand A (input 2) or B (input 3): one value, or one per
   * row of A ([M] or [..., M, 1]) or per column of B ([N] or [..., 1, N]) — the operand's
   * shape with the contracted axis 1 — so it moves with the operand's rows or columns.
   */
  private zeroPoint(n: Node, input: number, operand: Part, K: number): Part[] {
    const v = n.inputs[input];
    if (!v) return [];
    const stored = this.shape(v);
    if (numelOf(stored) === 1) return [];
    const d = stored.length > 1 ? stored : input === 2 ? [stored[0]!, 1] : [1, stored[0]!];
    const so = this.shape(operand.value);
    const offset = operand.map.length - d.length;
    const map = d.map((size, i) => {
      const at = i + offset;
      if (size === 1) return -1;
      if (at < 0 || operand.map[at] === K || size !== so[at]) this.fail(n, `its zero point '${v}' of shape [${stored}] is not per tensor, per row or per column`);
      return operand.map[at]!;
    });
    // A 1-D zero point is the padded shape's row (A) or column (B) axis.
    return [{ value: v, map: stored.length > 1 ? map : [map[input === 2 ? 0 : 1]!] }];
  }

  private conv(n: Node): Frame {
    const x = this.shape(n.inputs[0]!);
    const w = this.shape(n.inputs[1]!);
    const y = this.shape(n.outputs[0]!);
    const group = Number(getAttr(n, 'group')?.i ?? 1);
    const fixed = (r: number, lead: number[]) => [...lead, ...Array.from({ length: r - lead.length }, () => -2)];
    const integer = n.opType === 'ConvInteger';
    if (integer && n.inputs[2] && numelOf(this.shape(n.inputs[2])) !== 1) this.fail(n, 'its input zero point is not per tensor');
    // Conv's bias, ConvInteger's weight zero point: one value per output channel, or one for all.
    const perChannel = n.inputs[integer ? 3 : 2];
    const perChannelShape = perChannel ? this.shape(perChannel) : [1];
    if (numelOf(perChannelShape) !== 1 && (perChannelShape.length !== 1 || perChannelShape[0] !== y[1])) this.fail(n, `'${perChannel}' is not per tensor or per output channel`);
    const perOut = (axis: number): Part[] => (numelOf(perChannelShape) !== 1 ? [{ value: perChannel!, map: [axis] }] : []);
    if (group === 1) {
      return {
        sizes: [y[0]!, y[1]!, x[1]!],
        parts: [{ value: n.inputs[0]!, map: fixed(x.length, [0, 2]) }, { value: n.inputs[1]!, map: fixed(w.length, [1, 2]) }, ...perOut(1), { value: n.outputs[0]!, map: fixed(y.length, [0, 1]) }],
      };
    }
    if (group === x[1] && group === y[1] && w[1] === 1) {
      return {
        sizes: [y[0]!, y[1]!],
        parts: [{ value: n.inputs[0]!, map: fixed(x.length, [0, 1]) }, { value: n.inputs[1]!, map: fixed(w.length, [1, -1]) }, ...perOut(1), { value: n.outputs[0]!, map: fixed(y.length, [0, 1]) }],
      };
    }
    return {
      sizes: [y[0]!],
      parts: [{ value: n.inputs[0]!, map: fixed(x.length, [0]) }, { value: n.inputs[1]!, map: fixed(w.length, []) }, ...perOut(-2), { value: n.outputs[0]!, map: fixed(y.length, [0]) }],
    };
  }

  /**
   * QuantizeLinear/DequantizeLinear compute elementwise. A per-axis scale and zero point (1-D,
   * one value per index of `axis`) take part along that axis: a quantized weight's channels
   * carry them, and a per-channel activation quantizer moves with its channels.
   */
  private quantizeLinear(n: Node): Frame {
    const s = this.shape(n.outputs[0]!);
    if (Number(getAttr(n, 'block_size')?.i ?? 0) !== 0) this.fail(n, 'blocked quantization shares one scale among a run of positions');
    const parts = this.broadcast([n.inputs[0]!], [n.outputs[0]!], s.length, s);
    const axis = norm(Number(getAttr(n, 'axis')?.i ?? 1), s.length);
    for (const v of n.inputs.slice(1)) {
      if (!v) continue;
      const d = this.shape(v);
      if (numelOf(d) === 1) continue;
      if (d.length !== 1 || d[0] !== s[axis]) this.fail(n, `its scale or zero point '${v}' of shape [${d}] is not per tensor or along axis ${axis}`);
      parts.push({ value: v, map: [axis] });
    }
    return { sizes: s, parts };
  }

  /**
   * LSTM/GRU/RNN: its hidden units may move — the last axis of Y, Y_h, Y_c and the initial
   * states, together with the rows of every gate block of W, R and B, the peepholes and R's
   * columns (the recurrence reads the permuted state) — and its input features may move with
   * W's columns. Time, direction and batch stay; every direction takes the same order (Y holds
   * them on one hidden axis).
   */
  private recurrent(n: Node): void {
    const gates = RECURRENT_GATES[n.opType as keyof typeof RECURRENT_GATES];
    const [x, w, r, b, , h0, c0, peep] = n.inputs;
    const hidden = this.shape(r!)[2]!;
    const lastAxis = (v: string) => this.shape(v).length - 1;
    const orderOn = (v: string | undefined, what: string): Int32Array | undefined => {
      const p = v ? this.current(v) : undefined;
      if (!p) return undefined;
      if (p.axes.length !== 1 || p.axes[0] !== lastAxis(v!)) this.fail(n, `'${v}' moves along an axis other than its ${what}`);
      return p.order;
    };
    const states = [...n.outputs, h0, c0].filter((v): v is string => !!v);
    let units: Int32Array | undefined;
    for (const v of states) {
      const o = orderOn(v, 'hidden units');
      if (o && units && o.some((c, i) => c !== units![i])) this.fail(n, 'its states would move differently');
      units ??= o;
    }
    const features = orderOn(x, 'features');
    const blocks = (count: number) => units && Int32Array.from({ length: count * hidden }, (_, k) => Math.floor(k / hidden) * hidden + units![k % hidden]!);
    const on = (v: string, parts: [number, Int32Array | undefined][]) => {
      const live = parts.filter((q): q is [number, Int32Array] => !!q[1]).map(([axis, order]) => ({ axes: [axis], sizes: [order.length], order }));
      const want = join(live, (a) => this.shape(v)[a]!);
      // What v already has must be part of what the node asks (a weight reached before the
      // node's other inputs moved); anything else is a move the cell does not allow.
      const had = this.current(v);
      if (had && !samePerm(join([had, ...(want ? [want] : [])], (a) => this.shape(v)[a]!), want)) this.fail(n, `'${v}' would move otherwise`);
      this.assign(v, want);
    };
    for (const v of states) on(v, [[lastAxis(v), units]]);
    if (x) on(x, [[lastAxis(x), features]]);
    on(w!, [[1, blocks(gates)], [2, features]]);
    on(r!, [[1, blocks(gates)], [2, units]]);
    if (b) on(b, [[1, blocks(2 * gates)]]);
    if (peep) on(peep, [[1, blocks(3)]]);
  }

  /**
   * Reshape-like ops keep the row-major order: a permutation over a contiguous run of input
   * axes is the same permutation over the run of output axes that holds the same flat range.
   */
  private reshape(n: Node): void {
    const x = n.inputs[0]!;
    const y = n.outputs[0]!;
    const sx = this.shape(x);
    const sy = this.shape(y);
    const px = this.current(x);
    const py = this.current(y);
    const fromX = px && carryFlat(px, sx, sy);
    const fromY = py && carryFlat(py, sy, sx);
    if ((px && !fromX) || (py && !fromY)) this.fail(n, 'it merges the moving axes with others');
    const onY = join([fromX, py].filter((p): p is AxisPerm => !!p), (a) => sy[a]!);
    if (!onY) return;
    const onX = carryFlat(onY, sy, sx);
    if (!onX) this.fail(n, 'it merges the moving axes with others');
    // The row-major correspondence holds at every input size only if no data axis takes part.
    const gx = this.grown?.get(x);
    const gy = this.grown?.get(y);
    const dynamic = (p: AxisPerm, s: number[], other: number[], g: number[] | undefined) => !!g && spanOf(p, s, other).some((a) => g[a] !== s[a]);
    if (dynamic(onX, sx, sy, gx) || dynamic(onY, sy, sx, gy)) this.fail(n, 'it merges the moving axes with a dynamic (batch or sequence) axis');
    this.assign(x, onX);
    this.assign(y, onY);
  }

  /**
   * Gather/Slice/Split/Concat: every output position is one input position (a static index
   * map). Positions the permutation moves must stay inside the selected part.
   */
  private select(n: Node): void {
    const maps = this.selectionMaps(n);
    if (!maps) return this.fail(n, 'its indices are not constants');
    for (const m of maps) {
      // Pull the part's permutation into the whole, then give the part the whole's restriction.
      const whole = this.current(m.whole);
      const part = this.current(m.part);
      const sw = this.shape(m.whole);
      const sp = this.shape(m.part);
      const lifted = part && embed(part, m, sw, sp);
      if (part && !lifted) this.fail(n, `'${m.part}' moves along the selected axis`);
      const joint = join([whole, lifted].filter((p): p is AxisPerm => !!p), (a) => sw[a]!);
      if (!joint) continue;
      const restricted = restrict(joint, m, sw, sp);
      if (restricted === null) this.fail(n, 'the permutation moves positions across the selection');
      if (m.wholeIsConstant && !samePerm(joint, whole)) this.fail(n, 'its table would have to move');
      this.assign(m.whole, joint);
      this.assign(m.part, restricted);
    }
  }

  private selectionMaps(n: Node): Selection[] | undefined {
    const op = n.opType;
    const x = n.inputs[0]!;
    const sx = this.shape(x);
    const ints = (v: string | undefined) => {
      if (!v) return undefined;
      const c = this.constant(v);
      return c ? Array.from(c.tensor.data as ArrayLike<number | bigint>, Number) : undefined;
    };
    if (op === 'Gather') {
      const axis = norm(Number(getAttr(n, 'axis')?.i ?? 0), sx.length);
      const idx = ints(n.inputs[1]);
      if (!idx) {
        // A constant table read at data-dependent indices: only its other axes may move.
        if (!this.constant(x)) return undefined;
        const si = this.shape(n.inputs[1]!);
        return [{ whole: x, part: n.outputs[0]!, axis, index: null, indexRank: si.length, wholeIsConstant: false }];
      }
      const scalar = this.shape(n.inputs[1]!).length === 0;
      if (!scalar && this.shape(n.inputs[1]!).length !== 1) return undefined;
      return [{ whole: x, part: n.outputs[0]!, axis, index: idx.map((i) => (i < 0 ? i + sx[axis]! : i)), drop: scalar }];
    }
    // Split outputs and Concat inputs are consecutive runs of one axis of the whole.
    const runs = (whole: string, parts: string[], axis: number) => {
      let offset = 0;
      return parts.map((part): Selection => {
        const len = this.shape(part)[axis]!;
        offset += len;
        return { whole, part, axis, index: Array.from({ length: len }, (_, i) => offset - len + i) };
      });
    };
    if (op === 'Split') return runs(x, n.outputs, norm(Number(getAttr(n, 'axis')?.i ?? 0), sx.length));
    if (op === 'Concat') return runs(n.outputs[0]!, n.inputs, norm(Number(getAttr(n, 'axis')?.i), this.shape(n.outputs[0]!).length));
    // Slice: one selection per sliced axis is enough when at most one of them moves.
    const starts = ints(n.inputs[1]);
    const ends = ints(n.inputs[2]);
    const axes = n.inputs[3] ? ints(n.inputs[3]) : starts?.map((_, i) => i);
    const steps = n.inputs[4] ? ints(n.inputs[4]) : starts?.map(() => 1);
    if (!starts || !ends || !axes || !steps) return undefined;
    const y = n.outputs[0]!;
    const sy = this.shape(y);
    const sel: Selection = { whole: x, part: y, axis: -1, index: [], multi: new Map() };
    axes.forEach((a0, k) => {
      const a = norm(a0, sx.length);
      const d = sx[a]!;
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
      const st = steps[k]!;
      let s = starts[k]! < 0 ? starts[k]! + d : starts[k]!;
      s = st > 0 ? clamp(s, 0, d) : clamp(s, -1, d - 1);
      sel.multi!.set(a, Array.from({ length: sy[a]! }, (_, i) => s + i * st));
    });
    return [sel];
  }
}
