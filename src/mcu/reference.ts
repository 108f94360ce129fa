// Reference vectors for the harness: the first N samples of --data (with labels when it has
// them) or N seeded synthetic inputs, each run through onnxruntime at batch 1 on the very model
// file that was exported (a compressed model runs through its ONNX function bodies).

import { loadData, readRange } from '../data/dataset.js';
import { concreteDims, modelInputs, syntheticInputs } from '../data/synthetic.js';
import type { Model } from '../ir/types.js';
import { createOrtSession } from '../runtime/ort.js';
import type { HostTensor } from '../util/host-tensor.js';
import type { ReferenceSet } from './harness.js';

export interface ReferenceOptions {
  data?: string;
  preprocess?: string[];
  labels?: string;
  samples: number;
  shapes?: Map<string, number[]>;
}

export async function referenceSet(modelFile: string | Uint8Array, model: Model, outputs: string[], opts: ReferenceOptions): Promise<ReferenceSet & { notes: string[] }> {
  const specs = modelInputs(model);
  const feeds: Record<string, HostTensor>[] = [];
  let labels: number[] | undefined;
  let source: string;
  const notes: string[] = [];
  if (opts.data) {
    const ds = await loadData(opts.data, model, { preprocess: opts.preprocess, labels: opts.labels });
    notes.push(...ds.notes);
    const n = Math.min(opts.samples, ds.count);
    for (let s = 0; s < n; s++) {
      const b = await readRange(ds, s, s + 1);
      feeds.push(b.feeds);
      if (b.labels) (labels ??= []).push(Number(b.labels.data[0]));
    }
    source = `the first ${n} samples of ${opts.data}`;
  } else {
    const dims = new Map(specs.map((s) => [s.name, concreteDims(s, 1, opts.shapes)]));
    for (let s = 0; s < opts.samples; s++) feeds.push(syntheticInputs(model, { batch: 1, seed: 1000 + s, shapes: dims }));
    source = `${opts.samples} synthetic inputs (seeds 1000…${999 + opts.samples})`;
  }
  const session = await createOrtSession(modelFile, { threads: 1 });
  const outs: number[][] = outputs.map(() => []);
  try {
    for (const f of feeds) {
      const r = await session.run(f);
      outputs.forEach((o, i) => outs[i]!.push(...Array.from(r[o]!.data as Float32Array)));
    }
  } finally {
    await session.release();
  }
  const inputs = specs.map((s) => {
    const parts = feeds.map((f) => f[s.name]!.data);
    if (s.dtype === 'int64') return BigInt64Array.from(parts.flatMap((p) => Array.from(p as BigInt64Array)));
    return Float64Array.from(parts.flatMap((p) => Array.from(p as ArrayLike<number>)));
  });
  return { source, samples: feeds.length, inputs, outputs: outs.map((o) => Float32Array.from(o)), labels, notes };
}
