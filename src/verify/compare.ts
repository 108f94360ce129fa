// Runs two models on the same inputs, batch by batch, and accumulates per-output agreement:
// MSE, max abs error, cosine similarity, and the metric of the output's task (metrics.ts):
// top-1 agreement and accuracy for classification only, CER for CTC, cosine and neighbours
// for embeddings, IoU for dense maps, relative and target MSE for regression. The tasks are
// decided on the first batch (tbn/tasks.ts). Only running sums are kept, never all outputs.

import { readRange, type Dataset } from '../data/dataset.js';
import { syntheticInputs } from '../data/synthetic.js';
import type { Model } from '../ir/types.js';
import { createOrtSession, type OrtSession } from '../runtime/ort.js';
import { widenAllToFloat32 as widenAll, type HostTensor } from '../util/host-tensor.js';
import { classCount, probeTasks, type OutputTask, type TaskOptions } from '../tbn/tasks.js';
import { resolveCharset } from './charset.js';
import { metricFor, type BatchTruth, type MetricAccumulator, type TaskMetrics } from './metrics.js';

export interface OutputAgreement extends TaskMetrics {
  name: string;
  /** What the output was taken to be, and why (tbn/tasks.ts). */
  task: Pick<OutputTask, 'kind' | 'form' | 'reason' | 'source'> & { blank?: number };
  values: number;
  mse: number;
  maxAbsError: number;
  cosine: number;
}

export interface Agreement {
  samples: number;
  synthetic: boolean;
  outputs: OutputAgreement[];
  notes: string[];
}

export interface EvalSet {
  data?: Dataset;
  model: Model;
  /** At most this many samples (all of the data when larger). */
  samples: number;
  seed: number;
  shapes?: Map<string, number[]>;
  batchSize?: number;
  /** `--task`, `--blank`. */
  tasks?: TaskOptions;
  /** `--charset FILE` for CTC outputs (else the model's metadata). */
  charset?: string;
  /** Binary map threshold (`--threshold`, default 0.5). */
  threshold?: number;
}

class Accumulator {
  values = 0;
  sq = 0;
  maxAbs = 0;
  dot = 0;
  na = 0;
  nb = 0;

  constructor(
    readonly task: OutputTask,
    private readonly metric: MetricAccumulator,
  ) {}

  add(a: HostTensor, b: HostTensor, truth: BatchTruth): void {
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
    this.metric.add(a, b, truth);
  }

  result(name: string): OutputAgreement {
    const cos = this.na && this.nb ? this.dot / Math.sqrt(this.na * this.nb) : this.na === this.nb ? 1 : 0;
    const { kind, form, reason, source, blank } = this.task;
    return {
      name,
      task: { kind, form, reason, source, ...(blank === undefined ? {} : { blank }) },
      values: this.values,
      mse: this.values ? this.sq / this.values : 0,
      maxAbsError: this.maxAbs,
      cosine: cos,
      ...this.metric.result(),
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

type EvalBatch = BatchTruth & { feeds: Record<string, HostTensor>; size: number };

/** Batches of feeds (with labels, targets and texts) from the data, or synthetic ones. */
export async function* evalBatches(set: EvalSet): AsyncGenerator<EvalBatch> {
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

/** One accumulator per float output, from the tasks decided on the first batch. */
async function accumulators(a: OrtSession, set: EvalSet, first: EvalBatch, notes: string[]) {
  const labels = first.labels?.data as ArrayLike<number | bigint> | undefined;
  const widened = { run: async (feeds: Record<string, HostTensor>) => widenAll(await a.run(feeds)) };
  const targets = set.data?.targetNames ?? Object.keys(first.targets ?? {});
  const tasks = await probeTasks(set.model, widened, { feeds: first.feeds, labels, targets, texts: set.data?.hasTexts ?? !!first.texts, classCount: set.data?.classes?.length }, set.tasks);
  const acc = new Map<string, Accumulator>();
  for (const task of tasks) {
    let charset: string[] | undefined;
    if (task.kind === 'ctc') {
      const c = resolveCharset(set.model, classCount(task), task.blank ?? 0, set.charset);
      charset = c?.tokens;
      if (c?.note) notes.push(c.note);
      if (!c && first.texts) notes.push(`${task.output}: the data has text labels but there is no charset (give --charset FILE): CER against the true text not measured`);
    }
    acc.set(task.output, new Accumulator(task, metricFor(task, { charset, threshold: set.threshold })));
  }
  return acc;
}

export async function compareSessions(a: OrtSession, b: OrtSession, set: EvalSet, hooks: CompareHooks = {}): Promise<Agreement> {
  let acc: Map<string, Accumulator> | undefined;
  const notes: string[] = [];
  let samples = 0;
  const total = set.data ? Math.min(set.samples, set.data.count) : set.samples;
  for await (const batch of evalBatches(set)) {
    const { feeds, size } = batch;
    acc ??= await accumulators(a, set, batch, notes);
    // float16/bfloat16 outputs (and targets) are compared as the float32 values they hold.
    const [ra, rb] = [widenAll(await a.run(feeds)), widenAll(await b.run(feeds))];
    const truth = { labels: batch.labels, targets: batch.targets && widenAll(batch.targets), texts: batch.texts };
    for (const [name, m] of acc) {
      const x = ra[name]!;
      const y = rb[name];
      if (!y || x.dtype !== 'float32') continue;
      m.add(x, y, truth);
    }
    samples += size;
    hooks.onBatch?.(samples, total);
  }
  return { samples, synthetic: !set.data, outputs: [...(acc ?? [])].map(([name, m]) => m.result(name)), notes };
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
