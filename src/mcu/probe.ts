// onnxruntime as the export-time oracle: the model runs once at batch 1 with the values the
// exporter needs added as graph outputs, which gives every intermediate shape and the value
// of everything that does not depend on the input (Shape→Gather→Concat chains, folded
// constants, Identity-shared weights) without a shape-inference or constant-folding engine
// of our own. Graph optimisations are off so every requested value is the model's own.

import type { ElementType, NumericArray } from '../ir/dtype.js';
import type { Model } from '../ir/types.js';
import { encodeModel } from '../onnx/proto.js';
import { writeModel } from '../onnx/write.js';
import { createOrtSession } from '../runtime/ort.js';
import type { HostTensor } from '../util/host-tensor.js';

export interface Probed {
  dims: Map<string, number[]>;
  dtypes: Map<string, ElementType>;
  values: Map<string, NumericArray>;
}

export async function probeValues(model: Model, names: string[], feeds: Record<string, HostTensor>): Promise<Probed> {
  const wanted = [...new Set(names.filter(Boolean))];
  const declared = new Set(model.graph.outputs.map((o) => o.name));
  // Outputs without a type: onnxruntime infers it (tbn's IR writes a ValueInfo with no type).
  const extra = wanted.filter((n) => !declared.has(n)).map((name) => ({ name }));
  // External data is already in memory: the probe carries it inline (it runs from bytes, not the file).
  const initializers = model.graph.initializers.map((t) => (t.encoding === 'external' ? { ...t, encoding: 'raw' as const, external: undefined, dataLocation: undefined } : t));
  const probe: Model = { ...model, graph: { ...model.graph, initializers, outputs: [...model.graph.outputs, ...extra] } };
  const session = await createOrtSession(encodeModel(writeModel(probe)), { threads: 1, noOptimize: true });
  try {
    const out = await session.run(feeds);
    const dims = new Map<string, number[]>();
    const dtypes = new Map<string, ElementType>();
    const values = new Map<string, NumericArray>();
    for (const name of wanted) {
      const t = out[name];
      if (!t) throw new Error(`onnxruntime did not return '${name}'`);
      dims.set(name, t.dims);
      dtypes.set(name, t.dtype);
      values.set(name, t.data);
    }
    return { dims, dtypes, values };
  } finally {
    await session.release();
  }
}
