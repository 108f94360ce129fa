// What an adapter may use while it rewrites one node: fresh value
// names (unique in the whole model), new constant inputs (initializers of the node's own
// graph), and what is known about a value's element type and rank. Types come from declared
// inputs, outputs, value_info, initializers and Constant nodes, carried forward through the
// graph by simple per-op rules; ranks only from declarations and constants.

import { dtypeFromCode, floatToHalf, type ElementType } from '../dtype.js';
import { int64Tensor, tensor } from '../build.js';
import type { Graph, Node, OnnxTensor } from '../types.js';
import { getAttr } from '../attrs.js';
import type { NameSource } from '../names.js';

export class RefusedNode extends Error {}

interface ValueFacts {
  dtype?: ElementType;
  rank?: number;
}

const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);

/** Element types (and ranks where declared) of a graph's values; `outer` holds enclosing scopes. */
export class TypeScope {
  private facts = new Map<string, ValueFacts>();
  /** Initializers and Constant-node tensors of this scope. */
  private constants = new Map<string, OnnxTensor>();

  constructor(
    g: Graph,
    private outer?: TypeScope,
  ) {
    for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) {
      if (!v.name || v.type?.kind !== 'tensor') continue;
      this.facts.set(v.name, { dtype: v.type.elemType, rank: v.type.shape?.length });
    }
    for (const t of g.initializers) {
      if (!t.name) continue;
      this.facts.set(t.name, { dtype: t.dtype, rank: t.dims.length });
      this.constants.set(t.name, t);
    }
    for (const n of g.nodes) this.infer(n);
  }

  get(name: string): ValueFacts | undefined {
    return this.facts.get(name) ?? this.outer?.get(name);
  }

  constant(name: string): OnnxTensor | undefined {
    return this.constants.get(name) ?? this.outer?.constant(name);
  }

  private set(name: string | undefined, facts: ValueFacts): void {
    if (!name) return;
    const known = this.facts.get(name) ?? {};
    this.facts.set(name, { dtype: known.dtype ?? facts.dtype, rank: known.rank ?? facts.rank });
  }

  /** Carries element types forward through one node (only the common cases). */
  infer(n: Node): void {
    const first = n.inputs.find((i) => i !== '');
    const inType = first ? this.get(first)?.dtype : undefined;
    const op = n.opType;
    if (op === 'Constant') {
      const t = getAttr(n, 'value')?.t;
      if (t && n.outputs[0]) this.constants.set(n.outputs[0], t);
      if (t) this.set(n.outputs[0], { dtype: t.dtype, rank: t.dims.length });
      else if (getAttr(n, 'value_float')) this.set(n.outputs[0], { dtype: 'float32', rank: 0 });
      else if (getAttr(n, 'value_floats')) this.set(n.outputs[0], { dtype: 'float32', rank: 1 });
      else if (getAttr(n, 'value_int')) this.set(n.outputs[0], { dtype: 'int64', rank: 0 });
      else if (getAttr(n, 'value_ints')) this.set(n.outputs[0], { dtype: 'int64', rank: 1 });
      return;
    }
    if (op === 'Cast') return this.set(n.outputs[0], { dtype: dtypeFromCode(Number(getAttr(n, 'to')?.i ?? 0)) });
    if (INT64_OUT.has(op)) return this.set(n.outputs[0], { dtype: 'int64' });
    if (BOOL_OUT.has(op)) return this.set(n.outputs[0], { dtype: 'bool' });
    if (op === 'ConstantOfShape') return this.set(n.outputs[0], { dtype: getAttr(n, 'value')?.t?.dtype ?? 'float32' });
    if (op === 'TopK') {
      this.set(n.outputs[0], { dtype: inType });
      return this.set(n.outputs[1], { dtype: 'int64' });
    }
    if (op === 'Dropout') return this.set(n.outputs[0], { dtype: inType });
    if (op === 'DequantizeLinear') return this.set(n.outputs[0], { dtype: 'float32' });
    if (op === 'MatMulInteger' || op === 'ConvInteger') return this.set(n.outputs[0], { dtype: 'int32' });
    if (op === 'QuantizeLinear' || op === 'DynamicQuantizeLinear' || op === 'If' || op === 'Loop' || op === 'Scan') return;
    for (const o of n.outputs) this.set(o, { dtype: inType });
  }
}

/** What an adapter converting one node may use. */
export class AdaptContext {
  /** Initializers the adapters added to the node's graph. */
  readonly added: OnnxTensor[] = [];

  constructor(
    private names: NameSource,
    readonly types: TypeScope,
    /** Every value some node or graph output reads, in the whole model. */
    private reads: Set<string>,
  ) {}

  isRead(value: string): boolean {
    return this.reads.has(value);
  }

  /** The values of a constant input (initializer or Constant node), or undefined. */
  constantValues(value: string): number[] | undefined {
    const t = value ? this.types.constant(value) : undefined;
    if (!t || t.dtype === 'string' || t.encoding === 'external') return undefined;
    return Array.from(t.data as ArrayLike<number | bigint>, Number);
  }

  fresh(base: string): string {
    return this.names.fresh(base);
  }

  elemType(value: string): ElementType | undefined {
    return value ? this.types.get(value)?.dtype : undefined;
  }

  rank(value: string): number | undefined {
    return value ? this.types.get(value)?.rank : undefined;
  }

  /** A new int64 1-D (or scalar, dims []) constant input; returns its name. */
  int64(base: string, values: number[], dims: number[] = [values.length]): string {
    return this.add(int64Tensor(this.fresh(base), dims, values));
  }

  floats(base: string, values: number[]): string {
    return this.add(tensor(this.fresh(base), 'float32', [values.length], Float32Array.from(values)));
  }

  /** A scalar of the float type `dtype` holding `value` (float32 when the type is not known). */
  scalar(base: string, value: number, dtype: ElementType | undefined): string {
    const name = this.fresh(base);
    if (!dtype || dtype === 'float32') return this.add(tensor(name, 'float32', [], Float32Array.of(value)));
    if (dtype === 'float64') return this.add(tensor(name, 'float64', [], Float64Array.of(value)));
    if (dtype === 'float16') return this.add(tensor(name, 'float16', [], Uint16Array.of(floatToHalf(value))));
    return this.refuse(`its input is ${dtype}, which this op did not take before the conversion`);
  }

  /** An empty float tensor (an input that must be given but carries nothing, e.g. Resize's roi). */
  emptyFloats(base: string): string {
    return this.add(tensor(this.fresh(base), 'float32', [0], new Float32Array(0)));
  }

  refuse(reason: string): never {
    throw new RefusedNode(reason);
  }

  private add(t: OnnxTensor): string {
    this.added.push(t);
    return t.name!;
  }
}
