// Shapes of intermediate values, for the value_info a compressed model carries on its
// custom-op outputs (shape inference stops at ops it does not know). onnxruntime is the
// oracle: the original model is run with the values as extra outputs, once at a base shape
// and once per dynamic input dimension grown by one; a dimension that moves with an input's
// named dimension takes that name, one that moves otherwise stays unknown.

import { node, valueInfo } from '../ir/build.js';
import type { ElementType } from '../ir/dtype.js';
import type { Dim, Model, ValueInfo } from '../ir/types.js';
import { concreteDims, modelInputs, syntheticInputs } from '../data/synthetic.js';
import { encodeModelInline } from '../onnx/file.js';
import { createOrtSession } from '../runtime/ort.js';

/** The model with `names` added as (untyped) graph outputs: onnxruntime then returns them. */
export function withOutputs(model: Model, names: string[]): Model {
  const outputs = new Set(model.graph.outputs.map((o) => o.name));
  const wanted = names.filter((n) => !outputs.has(n));
  // onnxruntime 1.30 crashes when a Range output is also a graph output: such values are
  // read through an Identity copy named `<value>${PROBE_COPY}`.
  const ranges = new Set(model.graph.nodes.filter((n) => n.opType === 'Range').flatMap((n) => n.outputs));
  const copies = wanted.filter((n) => ranges.has(n)).map((n) => node('Identity', [n], [`${n}${PROBE_COPY}`]));
  const extra: ValueInfo[] = wanted.map((name) => ({ name: ranges.has(name) ? `${name}${PROBE_COPY}` : name }));
  return { ...model, graph: { ...model.graph, nodes: [...model.graph.nodes, ...copies], outputs: [...model.graph.outputs, ...extra] } };
}

const PROBE_COPY = '__tbn_probe';

/** Run results of a withOutputs model keyed by the original value names. */
export function unprobe<T>(out: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k.endsWith(PROBE_COPY) ? k.slice(0, -PROBE_COPY.length) : k, v]));
}

/** Concrete shapes of every node output at batch 1 (or the given --input-shape values). */
export async function concreteShapes(model: Model, shapes?: Map<string, number[]>): Promise<Map<string, number[]>> {
  const names = model.graph.nodes.flatMap((n) => n.outputs).filter(Boolean);
  const session = await createOrtSession(encodeModelInline(withOutputs(model, names)), { threads: 1 });
  try {
    const out = unprobe(await session.run(syntheticInputs(model, { batch: 1, shapes })));
    const result = new Map<string, number[]>(Object.entries(out).map(([k, v]) => [k, v.dims]));
    for (const spec of modelInputs(model)) result.set(spec.name, concreteDims(spec, 1, shapes));
    return result;
  } finally {
    await session.release();
  }
}

/**
 * Shapes at the base input shape and with every dynamic input dimension grown by one: an axis
 * whose size differs between the two follows the data (batch, sequence), not the weights.
 */
export async function growableShapes(model: Model, shapes?: Map<string, number[]>): Promise<{ base: Map<string, number[]>; grown: Map<string, number[]> }> {
  const base = await concreteShapes(model, shapes);
  const bigger = new Map(modelInputs(model).map((s) => [s.name, concreteDims(s, 1, shapes).map((d, i) => (s.dims[i]! > 0 ? d : d + 1))]));
  return { base, grown: await concreteShapes(model, bigger) };
}

/** value_info for `names` (element types from `elemTypes`, float32 where not given). */
export async function probeValueShapes(model: Model, names: string[], shapes?: Map<string, number[]>, elemTypes?: Map<string, ElementType>): Promise<ValueInfo[]> {
  const elemType = (n: string) => elemTypes?.get(n) ?? 'float32';
  if (!names.length) return [];
  const specs = modelInputs(model);
  const probe = withOutputs(model, names);
  let base: Record<string, number[]>;
  const moved = new Map<string, Set<string>>(); // value:axis → input dims that moved it
  try {
    const session = await createOrtSession(encodeModelInline(probe), { threads: 1 });
    const run = async (dimsFor: (name: string, dims: number[]) => number[]) => {
      const feeds = syntheticInputs(model, { batch: 1, shapes: new Map(specs.map((s) => [s.name, dimsFor(s.name, concreteDims(s, 1, shapes))])) });
      const out = unprobe(await session.run(feeds));
      return Object.fromEntries(names.map((n) => [n, out[n]!.dims]));
    };
    base = await run((_n, d) => d);
    for (const s of specs) {
      for (let axis = 0; axis < s.dims.length; axis++) {
        if (s.dims[axis]! > 0) continue;
        const grown = await run((n, d) => (n === s.name ? d.map((v, i) => (i === axis ? v + 1 : v)) : d));
        for (const n of names) {
          grown[n]!.forEach((v, i) => {
            if (v === base[n]![i]) return;
            const key = `${n}:${i}`;
            const set = moved.get(key) ?? new Set();
            set.add(s.params[axis] || '');
            moved.set(key, set);
          });
        }
      }
    }
    await session.release();
  } catch {
    // Shapes cannot be probed (no valid synthetic input): record the element type only.
    return names.map((n) => valueInfo(n, elemType(n)));
  }
  return names.map((n) => {
    const dims: Dim[] = base[n]!.map((v, i) => {
      const by = moved.get(`${n}:${i}`);
      if (!by) return { value: v };
      const [param] = [...by];
      return by.size === 1 && param ? { param } : {};
    });
    return { name: n, type: { kind: 'tensor', elemType: elemType(n), shape: dims } };
  });
}
