// Runs two models on the same inputs, batch by batch, and accumulates per-output agreement:
// MSE, max abs error, cosine similarity, and for classification outputs ([N, C] logits)
// top-1 agreement and accuracy against labels. Only running sums are kept, never all outputs.

import { readRange, type Dataset } from '../data/dataset.js';
import { syntheticInputs } from '../data/synthetic.js';
import type { Model } from '../ir/types.js';
import { createOrtSession, type OrtSession } from '../runtime/ort.js';
import { widenToFloat32, type HostTensor } from '../util/host-tensor.js';

export interface OutputAgreement {
  name: string;
  values: number;
  mse: number;
  maxAbsError: number;
  cosine: number;
  /** Fraction of rows whose argmax is the same (classification outputs). */
  top1Agreement: number | null;
  /** Accuracy against labels, in [0, 1] (classification outputs with labelled data). */
  accuracy: { original: number; compressed: number } | null;
}

export interface Agreement {
  samples: number;
  synthetic: boolean;
  outputs: OutputAgreement[];
}

export interface EvalSet {
  data?: Dataset;
  model: Model;
  /** At most this many samples (all of the data when larger). */
  samples: number;
  seed: number;
  shapes?: Map<string, number[]>;
  batchSize?: number;
}

class Accumulator {
  values = 0;
  sq = 0;
  maxAbs = 0;
  dot = 0;
  na = 0;
  nb = 0;
  rows = 0;
  sameTop1 = 0;
  correctA = 0;
  correctB = 0;
  labelled = 0;
  classification: boolean | undefined;

  add(a: HostTensor, b: HostTensor, labels?: HostTensor): void {
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    for (let i = 0; i < x.length; i++) {
      const d = x[i]! - y[i]!;
      this.sq += d * d;
      if (Math.abs(d) > this.maxAbs || Number.isNaN(d)) this.maxAbs = Number.isNaN(d) ? Infinity : Math.abs(d);
      this.dot += x[i]! * y[i]!;
      this.na += x[i]! * x[i]!;
      this.nb += y[i]! * y[i]!;
    }
    this.values += x.length;
    this.classification ??= a.dims.length === 2 && a.dims[1]! > 1;
    if (!this.classification) return;
    const c = a.dims[1]!;
    for (let r = 0; r < a.dims[0]!; r++) {
      const ia = argmax(x, r * c, c);
      const ib = argmax(y, r * c, c);
      if (ia === ib) this.sameTop1++;
      if (labels) {
        const label = Number(labels.data[r]);
        if (ia === label) this.correctA++;
        if (ib === label) this.correctB++;
        this.labelled++;
      }
      this.rows++;
    }
  }

  result(name: string): OutputAgreement {
    const cos = this.na && this.nb ? this.dot / Math.sqrt(this.na * this.nb) : this.na === this.nb ? 1 : 0;
    return {
      name,
      values: this.values,
      mse: this.values ? this.sq / this.values : 0,
      maxAbsError: this.maxAbs,
      cosine: cos,
      top1Agreement: this.classification && this.rows ? this.sameTop1 / this.rows : null,
      accuracy: this.labelled ? { original: this.correctA / this.labelled, compressed: this.correctB / this.labelled } : null,
    };
  }
}

/** Index of the largest of x[off … off+n). */
export function argmax(x: Float32Array, off: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[off + i]! > x[off + best]!) best = i;
  return best;
}

export interface CompareHooks {
  onBatch?: (done: number, total: number) => void;
}

/** Batches of feeds (and labels) from the data, or synthetic ones. */
export async function* evalBatches(set: EvalSet): AsyncGenerator<{ feeds: Record<string, HostTensor>; labels?: HostTensor; targets?: Record<string, HostTensor>; size: number }> {
  const batch = set.batchSize ?? 64;
  if (set.data) {
    const total = Math.min(set.samples, set.data.count);
    for (let s = 0; s < total; s += batch) {
      const e = Math.min(total, s + batch);
      yield { ...(await readRange(set.data, s, e)), size: e - s };
    }
    return;
  }
  for (let s = 0, k = 0; s < set.samples; s += batch, k++) {
    const n = Math.min(batch, set.samples - s);
    yield { feeds: syntheticInputs(set.model, { batch: n, seed: set.seed + k, shapes: set.shapes }), size: n };
  }
}

export async function compareSessions(a: OrtSession, b: OrtSession, set: EvalSet, hooks: CompareHooks = {}): Promise<Agreement> {
  const acc = new Map<string, Accumulator>();
  let samples = 0;
  const total = set.data ? Math.min(set.samples, set.data.count) : set.samples;
  for await (const { feeds, labels, size } of evalBatches(set)) {
    const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
    for (const name of a.outputNames) {
      // float16/bfloat16 outputs are compared as the float32 values they hold.
      const x = widenToFloat32(ra[name]!);
      const y = rb[name] && widenToFloat32(rb[name]);
      if (!y || x.dtype !== 'float32') continue;
      if (!acc.has(name)) acc.set(name, new Accumulator());
      acc.get(name)!.add(x, y, labels && labels.dims[0] === x.dims[0] ? labels : undefined);
    }
    samples += size;
    hooks.onBatch?.(samples, total);
  }
  return { samples, synthetic: !set.data, outputs: [...acc].map(([name, a]) => a.result(name)) };
}

export async function compareModels(a: string | Uint8Array, b: string | Uint8Array, set: EvalSet, hooks: CompareHooks = {}): Promise<Agreement> {
  const sa = await createOrtSession(a);
  const sb = await createOrtSession(b);
  try {
    return await compareSessions(sa, sb, set, hooks);
  } finally {
    await sa.release();
    await sb.release();
  }
}
