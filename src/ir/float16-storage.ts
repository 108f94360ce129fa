// Float32 parameters stored as float16 behind a Cast: half the bytes for what tiling leaves
// (biases, norms, embeddings, untiled layers), which is most of a small compressed model's file.
// The stored tensor is renamed and a Cast back to float32 takes its old name, so every reader —
// nodes, subgraphs that read it from the outer scope — is untouched and still computes in
// float32; onnxruntime folds the Cast when the session loads. A tensor float16 cannot hold to
// within rounding (values beyond its range, or below its precision relative to the tensor's
// largest value) stays float32, as do small tensors: scalars such as GELU's √2 or an epsilon
// are constants of the function, not parameters.

import { floatToHalf, floatsAs, halfToFloat } from './dtype.js';
import { attr, node } from './build.js';
import { isDefaultDomain } from './graph.js';
import { NameSource, collectNames } from './names.js';
import type { Attribute, Model, Node, OnnxTensor } from './types.js';

/** Tensors with fewer elements stay float32. */
const FLOAT16_MIN_ELEMENTS = 16;
const FLOAT16_MAX = 65504;
/** float16 keeps 11 significant bits: rounding moves a value by at most 2^-11 of itself. */
const FLOAT16_RELATIVE_STEP = 2 ** -11;

export interface Float16Storage {
  model: Model;
  /** Tensors now stored as float16 (their names in the model read in) and the bytes saved. */
  stored: string[];
  bytesSaved: number;
  /** Tensors of at least FLOAT16_MIN_ELEMENTS kept float32, and why. */
  kept: { name: string; reason: string }[];
}

type Float32Tensor = OnnxTensor & { data: Float32Array };

/**
 * Whether a tensor is one storeFloat16 considers: float32, at least FLOAT16_MIN_ELEMENTS
 * elements, not named in `exact`, not a graph input (a caller may feed those).
 */
function candidate(model: Model, exact: ReadonlySet<string>): (t: OnnxTensor, name: string) => t is Float32Tensor {
  const fedByCaller = new Set(model.graph.inputs.map((v) => v.name));
  return (t, name): t is Float32Tensor =>
    t.dtype === 'float32' && t.data instanceof Float32Array && t.data.length >= FLOAT16_MIN_ELEMENTS && !exact.has(name) && !fedByCaller.has(name);
}

/** The `value` attribute of a main-graph Constant node, when it holds a tensor. */
function constantValue(n: Node): Attribute | undefined {
  return n.opType === 'Constant' && isDefaultDomain(n.domain) && n.outputs.length === 1 ? n.attributes.find((a) => a.name === 'value' && a.t) : undefined;
}

/**
 * The model with its main graph's float32 initializers and Constant values of at least
 * FLOAT16_MIN_ELEMENTS elements stored as float16, except those named in `exact` and graph
 * inputs (a caller may feed those). The input model is not modified.
 */
export function storeFloat16(model: Model, exact: ReadonlySet<string>): Float16Storage {
  const g = model.graph;
  const names = new NameSource(collectNames(g));
  const considered = candidate(model, exact);
  const stored: string[] = [];
  const kept: Float16Storage['kept'] = [];
  let bytesSaved = 0;
  const convert = (t: OnnxTensor, name: string): Uint16Array | null => {
    if (!considered(t, name)) return null;
    const refused = float16Refusal(t.data);
    if (refused) {
      kept.push({ name, reason: refused });
      return null;
    }
    stored.push(name);
    bytesSaved += 2 * t.data.length;
    return floatsAs(t.data, 'float16') as Uint16Array;
  };
  const casts: Node[] = [];
  // Unnamed: onnxruntime folds these at load, so no profile shows them, and names would cost
  // a tenth of what storing float16 saves.
  const castTo = (half: string, name: string) => node('Cast', [half], [name], [attr.int('to', 1)]);

  const initializers = g.initializers.map((t) => {
    const half = t.name === undefined ? null : convert(t, t.name);
    if (!half) return t;
    const name = names.fresh(`${t.name}_fp16`);
    casts.push(castTo(name, t.name!));
    return { ...t, name, dtype: 'float16' as const, data: half };
  });
  const nodes = g.nodes.flatMap((n) => {
    const value = constantValue(n);
    const half = value ? convert(value.t!, n.outputs[0]!) : null;
    if (!value || !half) return [n];
    const out = n.outputs[0]!;
    const name = names.fresh(`${out}_fp16`);
    const t: OnnxTensor = { ...value.t!, dtype: 'float16', data: half };
    const constant = { ...n, outputs: [name], attributes: n.attributes.map((a) => (a === value ? { ...a, t } : a)) };
    return [constant, castTo(name, out)];
  });
  // Casts of initializers go first: a node may read an initializer anywhere in the list.
  return { model: { ...model, graph: { ...g, initializers, nodes: [...casts, ...nodes] } }, stored, bytesSaved, kept };
}

/** The bytes storeFloat16 would save, without converting anything (tbn inspect). */
export function float16Saving(model: Model, exact: ReadonlySet<string>): number {
  const considered = candidate(model, exact);
  let bytes = 0;
  const count = (t: OnnxTensor, name: string) => {
    if (considered(t, name) && !float16Refusal(t.data)) bytes += 2 * t.data.length;
  };
  for (const t of model.graph.initializers) if (t.name !== undefined) count(t, t.name);
  for (const n of model.graph.nodes) {
    const value = constantValue(n);
    if (value) count(value.t!, n.outputs[0]!);
  }
  return bytes;
}

/** Why float16 cannot hold the values to within rounding; undefined when it can. */
function float16Refusal(values: Float32Array): string | undefined {
  let largest = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) return 'it holds NaN or infinity';
    largest = Math.max(largest, Math.abs(v));
  }
  if (largest > FLOAT16_MAX) return `its values reach ${largest.toPrecision(3)}, beyond float16's ${FLOAT16_MAX}`;
  // Values far below the largest fall into float16's subnormals and lose more than rounding.
  const allowed = FLOAT16_RELATIVE_STEP * largest;
  for (const v of values) {
    if (Math.abs(halfToFloat(floatToHalf(v)) - v) > allowed) return 'float16 would change its small values by more than rounding (2^-11 of its largest value)';
  }
  return undefined;
}
