// Shape-correct synthetic inputs for a model's graph inputs, when the user gives no data.
// Dynamic dimensions take the batch size (first axis) or a value from --input-shape; integer
// inputs that index a Gather table stay inside the table.

import { UsageError, UserError } from '../errors.js';
import { initializerMap } from '../ir/graph.js';
import { floatsAs, type ElementType } from '../ir/dtype.js';
import type { Model, ValueInfo } from '../ir/types.js';
import { numel, type HostTensor } from '../util/host-tensor.js';
import { Rng } from '../util/random.js';

export interface InputSpec {
  name: string;
  dtype: ElementType;
  /** -1 where the dimension is dynamic. */
  dims: number[];
  /** Names of the dynamic dimensions (dim_param), '' when unnamed. */
  params: string[];
}

/** The graph inputs that are not initializers (IR < 4 lists initializers as inputs too). */
export function modelInputs(model: Model): InputSpec[] {
  const inits = initializerMap(model.graph);
  return model.graph.inputs.filter((v) => v.name && !inits.has(v.name)).map(specOf);
}

export function modelOutputs(model: Model): InputSpec[] {
  return model.graph.outputs.filter((v) => v.name).map(specOf);
}

function specOf(v: ValueInfo): InputSpec {
  const t = v.type;
  if (!t || t.kind !== 'tensor' || !t.elemType) throw new UserError(`input '${v.name}' is not a tensor of a known type`);
  if (!t.shape) throw new UserError(`input '${v.name}' has no shape in the model; give one with --input-shape ${v.name}=…`);
  return {
    name: v.name!,
    dtype: t.elemType,
    dims: t.shape.map((d) => (d.value !== undefined && d.value > 0 ? d.value : -1)),
    params: t.shape.map((d) => d.param ?? ''),
  };
}

/** Parses `--input-shape name=1,3,224,224` values. */
export function parseInputShapes(specs: readonly string[] | undefined): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const s of specs ?? []) {
    const eq = s.lastIndexOf('=');
    const dims = eq > 0 ? s.slice(eq + 1).split(',').map(Number) : [];
    if (eq <= 0 || !dims.length || dims.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new UsageError(`--input-shape '${s}': expected name=d1,d2,… with positive integers`);
    }
    m.set(s.slice(0, eq), dims);
  }
  return m;
}

/** Concrete dims for an input: --input-shape wins; else dynamic axis 0 → batch; else error. */
export function concreteDims(spec: InputSpec, batch: number, shapes?: Map<string, number[]>): number[] {
  const given = shapes?.get(spec.name);
  if (given) {
    if (given.length !== spec.dims.length) {
      throw new UsageError(`--input-shape ${spec.name}: ${given.length} dimensions given, the model's input has ${spec.dims.length}`);
    }
    given.forEach((d, i) => {
      if (spec.dims[i]! > 0 && spec.dims[i] !== d) {
        throw new UsageError(`--input-shape ${spec.name}: dimension ${i} is fixed to ${spec.dims[i]} in the model, not ${d}`);
      }
    });
    return given;
  }
  return spec.dims.map((d, i) => {
    if (d > 0) return d;
    if (i === 0) return batch;
    throw new UserError(`input '${spec.name}' has dynamic dimension ${i} ('${spec.params[i] || '?'}'); give it with --input-shape ${spec.name}=…`);
  });
}

/** Upper bound for integer inputs that are Gather indices into a constant table. */
function indexBound(model: Model, input: string): number | undefined {
  const inits = initializerMap(model.graph);
  for (const n of model.graph.nodes) {
    if (n.opType === 'Gather' && n.inputs[1] === input) {
      const table = inits.get(n.inputs[0]!);
      const axisAttr = n.attributes.find((a) => a.name === 'axis');
      const axis = Number(axisAttr?.i ?? 0);
      if (table) return table.dims[axis < 0 ? axis + table.dims.length : axis];
    }
  }
  return undefined;
}

export function syntheticInputs(model: Model, opts: { batch?: number; seed?: number; shapes?: Map<string, number[]> } = {}): Record<string, HostTensor> {
  const rng = new Rng(opts.seed ?? 0);
  const feeds: Record<string, HostTensor> = {};
  for (const spec of modelInputs(model)) {
    const dims = concreteDims(spec, opts.batch ?? 1, opts.shapes);
    const n = numel(dims);
    switch (spec.dtype) {
      case 'float32':
      case 'float64': {
        const data = spec.dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
        for (let i = 0; i < n; i++) data[i] = rng.normal();
        feeds[spec.name] = { dtype: spec.dtype, dims, data };
        break;
      }
      case 'float16':
      case 'bfloat16': {
        const values = Float32Array.from({ length: n }, () => rng.normal());
        feeds[spec.name] = { dtype: spec.dtype, dims, data: floatsAs(values, spec.dtype) };
        break;
      }
      case 'int64':
      case 'int32': {
        const bound = indexBound(model, spec.name) ?? 10;
        const data = spec.dtype === 'int64' ? new BigInt64Array(n) : new Int32Array(n);
        for (let i = 0; i < n; i++) (data as BigInt64Array)[i] = (spec.dtype === 'int64' ? BigInt(rng.int(bound)) : rng.int(bound)) as bigint;
        feeds[spec.name] = { dtype: spec.dtype, dims, data };
        break;
      }
      case 'bool': {
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i++) data[i] = rng.int(2);
        feeds[spec.name] = { dtype: 'bool', dims, data };
        break;
      }
      default:
        throw new UserError(`input '${spec.name}' is ${spec.dtype}; tbn makes synthetic inputs for float, int and bool inputs only`);
    }
  }
  return feeds;
}
