// float16/bfloat16 versions of the float32 test models: the same graph with every float
// initializer, input and output in the narrow type, and the float32 model holding exactly the
// narrow values (what the narrow kernels compute on, for comparisons with the float32 kernels).
import { bfloat16ToFloat, floatsAs, halfToFloat, type ElementType } from '../../src/ir/dtype.js';
import type { Model, ValueInfo } from '../../src/ir/types.js';
import type { HostTensor } from '../../src/util/host-tensor.js';

export type NarrowType = 'float16' | 'bfloat16';

const retype = (v: ValueInfo, dtype: ElementType): ValueInfo => (v.type?.kind === 'tensor' && v.type.elemType === 'float32' ? { ...v, type: { ...v.type, elemType: dtype } } : v);

/** The float32 model with every float initializer, input, output and value_info in `dtype`. */
export function narrowModel(m: Model, dtype: NarrowType): Model {
  const g = m.graph;
  const inits = g.initializers.map((x) => (x.dtype === 'float32' ? { ...x, dtype, data: floatsAs(x.data as Float32Array, dtype) } : x));
  const t = (v: ValueInfo) => retype(v, dtype);
  return { ...m, graph: { ...g, initializers: inits, inputs: g.inputs.map(t), outputs: g.outputs.map(t), valueInfo: g.valueInfo.map(t) } };
}

/** The float32 model holding exactly the values of narrowModel(m, dtype). */
export function exactFloat32(m: Model, dtype: NarrowType): Model {
  const widen = dtype === 'float16' ? halfToFloat : bfloat16ToFloat;
  const inits = narrowModel(m, dtype).graph.initializers.map((t) => (t.dtype === dtype ? { ...t, dtype: 'float32' as ElementType, data: Float32Array.from(t.data as Uint16Array, widen) } : t));
  return { ...m, graph: { ...m.graph, initializers: inits } };
}

/** Float32 feeds rounded to `dtype`: the narrow feeds and their exact float32 values. */
export function narrowFeeds(feeds: Record<string, HostTensor>, dtype: NarrowType): { narrow: Record<string, HostTensor>; exact: Record<string, HostTensor> } {
  const widen = dtype === 'float16' ? halfToFloat : bfloat16ToFloat;
  const narrow: Record<string, HostTensor> = {};
  const exact: Record<string, HostTensor> = {};
  for (const [k, t] of Object.entries(feeds)) {
    if (t.dtype !== 'float32') {
      narrow[k] = exact[k] = t;
      continue;
    }
    const bits = floatsAs(t.data as Float32Array, dtype) as Uint16Array;
    narrow[k] = { ...t, dtype, data: bits };
    exact[k] = { ...t, data: Float32Array.from(bits, widen) };
  }
  return { narrow, exact };
}
