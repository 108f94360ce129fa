// Task metrics for comparing an original and a compressed model, one accumulator per output
// kind (tbn/tasks.ts), fed batch by batch:
//   classification  top-1 agreement (thresholded decisions for a sigmoid), accuracy vs labels
//   ctc             greedy CTC decode of both; sequence agreement and character error rate
//                   (compressed vs original), and CER / exact lines of both vs the true text
//   embedding       mean per-sample cosine; nearest-neighbour agreement within the evaluated set
//   dense           IoU of thresholded maps (or mean IoU of per-pixel argmax classes), vs the
//                   original and, with target maps, of both vs the truth
//   regression      MSE relative to the original's variance; MSE of both vs targets
// Only running sums are kept, except the embedding rows for the neighbour search (capped).

import type { HostTensor } from '../util/host-tensor.js';
import { classCount, type OutputTask } from '../tbn/tasks.js';

export interface BatchTruth {
  labels?: HostTensor;
  targets?: Record<string, HostTensor>;
  texts?: string[];
}

export interface SequenceMetrics {
  blank: number;
  sequences: number;
  /** Fraction of samples whose decoded sequences are identical. */
  agreement: number;
  /** Character error rate of the compressed model's decode against the original's. */
  cer: number;
  /** Against the true text (text labels and a charset). */
  truth: { samples: number; cerOriginal: number; cerCompressed: number; exactOriginal: number; exactCompressed: number } | null;
}

export interface EmbeddingMetrics {
  rows: number;
  /** Mean over samples of cos(original, compressed). */
  meanCosine: number;
  /** Fraction of samples whose nearest neighbour (cosine, within the first `neighbourRows`) is the same. */
  nearestNeighbourAgreement: number | null;
  neighbourRows: number;
}

export interface DenseMetrics {
  /** Probability threshold (binary maps), or null for per-pixel argmax over classes. */
  threshold: number | null;
  classes: number;
  /** IoU of the compressed model's map against the original's (mean over classes for argmax). */
  iou: number;
  truth: { iouOriginal: number; iouCompressed: number } | null;
}

export interface RegressionMetrics {
  /** MSE / variance of the original's outputs. */
  relativeMse: number;
  target: { mseOriginal: number; mseCompressed: number } | null;
}

export interface TaskMetrics {
  top1Agreement: number | null;
  accuracy: { original: number; compressed: number } | null;
  sequence: SequenceMetrics | null;
  embedding: EmbeddingMetrics | null;
  dense: DenseMetrics | null;
  regression: RegressionMetrics | null;
}

export interface MetricOptions {
  /** Tokens by class index for CTC outputs (resolveCharset). */
  charset?: string[];
  /** Binary map threshold (default 0.5). */
  threshold?: number;
  /** Rows kept for the nearest-neighbour search (default 2048). */
  neighbourRows?: number;
}

export const NO_METRICS: TaskMetrics = { top1Agreement: null, accuracy: null, sequence: null, embedding: null, dense: null, regression: null };

/** Index of the largest of x[off + k·stride], k < n. */
export function argmaxStrided(x: Float32Array, off: number, n: number, stride: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[off + i * stride]! > x[off + best * stride]!) best = i;
  return best;
}

/** Greedy CTC decode: per-frame argmax, merge repeats, drop blanks. */
export function ctcGreedyDecode(frameArgmax: ArrayLike<number>, blank: number): number[] {
  const out: number[] = [];
  let prev = -1;
  for (let i = 0; i < frameArgmax.length; i++) {
    const k = frameArgmax[i]!;
    if (k !== prev && k !== blank) out.push(k);
    prev = k;
  }
  return out;
}

/** Levenshtein distance (insertions, deletions, substitutions cost 1). */
export function editDistance(a: ArrayLike<unknown>, b: ArrayLike<unknown>): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** Intersection over union of two boolean masks (1 when both are empty). */
export function iou(a: ArrayLike<boolean | number>, b: ArrayLike<boolean | number>): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union ? inter / union : 1;
}

export interface MetricAccumulator {
  add(a: HostTensor, b: HostTensor, truth: BatchTruth): void;
  result(): TaskMetrics;
}

/** Per-sample class decisions (argmax over the class axis; threshold for a sigmoid). */
function decisions(t: HostTensor, task: OutputTask, threshold: number): Int32Array {
  const x = t.data as Float32Array;
  if (task.normalization === 'sigmoid' || task.classAxis === undefined) {
    const cut = task.form === 'logits' ? Math.log(threshold / (1 - threshold)) : threshold;
    return Int32Array.from(x, (v) => (v > cut ? 1 : 0));
  }
  const axis = task.classAxis;
  const classes = t.dims[axis]!;
  const inner = t.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outer = x.length / (classes * inner);
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) out[o * inner + i] = argmaxStrided(x, o * classes * inner + i, classes, inner);
  return out;
}

class ClassificationMetric implements MetricAccumulator {
  private same = 0;
  private rows = 0;
  private correct = [0, 0];
  private labelled = 0;
  constructor(private readonly task: OutputTask) {}

  add(a: HostTensor, b: HostTensor, truth: BatchTruth): void {
    const da = decisions(a, this.task, 0.5);
    const db = decisions(b, this.task, 0.5);
    for (let i = 0; i < da.length; i++) if (da[i] === db[i]) this.same++;
    this.rows += da.length;
    const labels = truth.labels;
    if (labels && labels.data.length === da.length && this.task.batchAxis === 0) {
      for (let i = 0; i < da.length; i++) {
        const l = Number(labels.data[i]);
        if (da[i] === l) this.correct[0]!++;
        if (db[i] === l) this.correct[1]!++;
      }
      this.labelled += da.length;
    }
  }

  result(): TaskMetrics {
    const n = this.labelled;
    return { ...NO_METRICS, top1Agreement: this.rows ? this.same / this.rows : null, accuracy: n ? { original: this.correct[0]! / n, compressed: this.correct[1]! / n } : null };
  }
}

class SequenceMetric implements MetricAccumulator {
  private sequences = 0;
  private same = 0;
  private edits = 0;
  private length = 0;
  private truth = { samples: 0, chars: 0, editsA: 0, editsB: 0, exactA: 0, exactB: 0 };
  constructor(
    private readonly task: OutputTask,
    private readonly charset: string[] | undefined,
  ) {}

  private decode(t: HostTensor): number[][] {
    const x = t.data as Float32Array;
    const [d0, d1, classes] = t.dims as [number, number, number];
    const tnc = this.task.layout === 'TNC';
    const [n, frames] = tnc ? [d1, d0] : [d0, d1];
    const out: number[][] = [];
    for (let s = 0; s < n; s++) {
      const arg = new Int32Array(frames);
      for (let f = 0; f < frames; f++) arg[f] = argmaxStrided(x, (tnc ? f * n + s : s * frames + f) * classes, classes, 1);
      out.push(ctcGreedyDecode(arg, this.task.blank ?? 0));
    }
    return out;
  }

  add(a: HostTensor, b: HostTensor, truth: BatchTruth): void {
    const sa = this.decode(a);
    const sb = this.decode(b);
    sa.forEach((s, i) => {
      const t = sb[i]!;
      this.sequences++;
      if (s.length === t.length && s.every((k, j) => k === t[j])) this.same++;
      this.edits += editDistance(t, s);
      this.length += s.length;
      const text = truth.texts?.[i];
      if (text === undefined || !this.charset) return;
      const ref = [...text];
      const ta = [...s.map((k) => this.charset![k] ?? '').join('')];
      const tb = [...t.map((k) => this.charset![k] ?? '').join('')];
      const r = this.truth;
      r.samples++;
      r.chars += ref.length;
      r.editsA += editDistance(ta, ref);
      r.editsB += editDistance(tb, ref);
      if (ta.join('') === text) r.exactA++;
      if (tb.join('') === text) r.exactB++;
    });
  }

  result(): TaskMetrics {
    const r = this.truth;
    const rate = (e: number, n: number) => (n ? e / n : e ? 1 : 0);
    return {
      ...NO_METRICS,
      sequence: {
        blank: this.task.blank ?? 0,
        sequences: this.sequences,
        agreement: this.sequences ? this.same / this.sequences : 1,
        cer: rate(this.edits, this.length),
        truth: r.samples ? { samples: r.samples, cerOriginal: rate(r.editsA, r.chars), cerCompressed: rate(r.editsB, r.chars), exactOriginal: r.exactA / r.samples, exactCompressed: r.exactB / r.samples } : null,
      },
    };
  }
}

class EmbeddingMetric implements MetricAccumulator {
  private rows = 0;
  private cosSum = 0;
  private keptA: Float32Array[] = [];
  private keptB: Float32Array[] = [];
  constructor(
    private readonly task: OutputTask,
    private readonly limit: number,
  ) {}

  add(a: HostTensor, b: HostTensor): void {
    const n = a.dims[this.task.batchAxis]!;
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    const d = x.length / n;
    for (let r = 0; r < n; r++) {
      // Rows along the batch axis: contiguous when it is the first axis, strided otherwise.
      const row = (t: Float32Array) => (this.task.batchAxis === 0 ? t.subarray(r * d, (r + 1) * d) : stridedRow(t, a.dims, this.task.batchAxis, r));
      const ra = row(x);
      const rb = row(y);
      this.cosSum += cosine(ra, rb);
      this.rows++;
      if (this.keptA.length < this.limit) {
        this.keptA.push(Float32Array.from(ra));
        this.keptB.push(Float32Array.from(rb));
      }
    }
  }

  result(): TaskMetrics {
    const nnA = nearest(this.keptA);
    const nnB = nearest(this.keptB);
    const same = nnA.filter((j, i) => j === nnB[i]).length;
    return {
      ...NO_METRICS,
      embedding: {
        rows: this.rows,
        meanCosine: this.rows ? this.cosSum / this.rows : 1,
        nearestNeighbourAgreement: nnA.length >= 2 ? same / nnA.length : null,
        neighbourRows: this.keptA.length,
      },
    };
  }
}

function stridedRow(t: Float32Array, dims: number[], axis: number, r: number): Float32Array {
  const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const n = dims[axis]!;
  const outer = t.length / (n * inner);
  const out = new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) out.set(t.subarray((o * n + r) * inner, (o * n + r + 1) * inner), o * inner);
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : na === nb ? 1 : 0;
}

/** For each row, the index of its most cosine-similar other row. */
export function nearest(rows: Float32Array[]): number[] {
  const unit = rows.map((r) => {
    const n = Math.sqrt(r.reduce((s, v) => s + v * v, 0)) || 1;
    return Float32Array.from(r, (v) => v / n);
  });
  return unit.map((u, i) => {
    let best = -1;
    let bestSim = -Infinity;
    for (let j = 0; j < unit.length; j++) {
      if (j === i) continue;
      const v = unit[j]!;
      let s = 0;
      for (let k = 0; k < u.length; k++) s += u[k]! * v[k]!;
      if (s > bestSim) [best, bestSim] = [j, s];
    }
    return best;
  });
}

class DenseMetric implements MetricAccumulator {
  private readonly binary: boolean;
  private readonly classes: number;
  private readonly vsOriginal: Float64Array;
  private readonly vsTruth: [Float64Array, Float64Array];
  private hasTruth = false;
  constructor(
    private readonly task: OutputTask,
    private readonly threshold: number,
  ) {
    this.binary = task.normalization === 'sigmoid' || task.classAxis === undefined;
    this.classes = this.binary ? 2 : classCount(task);
    // Per class: intersection, union.
    this.vsOriginal = new Float64Array(2 * this.classes);
    this.vsTruth = [new Float64Array(2 * this.classes), new Float64Array(2 * this.classes)];
  }

  private tally(into: Float64Array, a: Int32Array, b: Int32Array): void {
    for (let c = this.binary ? 1 : 0; c < this.classes; c++) {
      for (let i = 0; i < a.length; i++) {
        const x = a[i] === c;
        const y = b[i] === c;
        if (x && y) into[2 * c]!++;
        if (x || y) into[2 * c + 1]!++;
      }
    }
  }

  add(a: HostTensor, b: HostTensor, truth: BatchTruth): void {
    const da = decisions(a, this.task, this.threshold);
    const db = decisions(b, this.task, this.threshold);
    this.tally(this.vsOriginal, da, db);
    const target = truth.targets?.[this.task.output];
    if (target && target.data.length === a.data.length) {
      // Target maps are probabilities / one-hot: 0.5 on probabilities whatever the output's form.
      const dt = decisions(target, { ...this.task, form: 'probabilities' }, 0.5);
      this.tally(this.vsTruth[0], da, dt);
      this.tally(this.vsTruth[1], db, dt);
      this.hasTruth = true;
    }
  }

  private mean(t: Float64Array): number {
    let sum = 0;
    let n = 0;
    for (let c = this.binary ? 1 : 0; c < this.classes; c++) {
      if (!t[2 * c + 1]) continue;
      sum += t[2 * c]! / t[2 * c + 1]!;
      n++;
    }
    return n ? sum / n : 1;
  }

  result(): TaskMetrics {
    return {
      ...NO_METRICS,
      dense: {
        threshold: this.binary ? this.threshold : null,
        classes: this.binary ? 1 : this.classes,
        iou: this.mean(this.vsOriginal),
        truth: this.hasTruth ? { iouOriginal: this.mean(this.vsTruth[0]), iouCompressed: this.mean(this.vsTruth[1]) } : null,
      },
    };
  }
}

class RegressionMetric implements MetricAccumulator {
  private n = 0;
  private sum = 0;
  private sumSq = 0;
  private se = 0;
  private target = { n: 0, a: 0, b: 0 };
  constructor(private readonly task: OutputTask) {}

  add(a: HostTensor, b: HostTensor, truth: BatchTruth): void {
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    for (let i = 0; i < x.length; i++) {
      this.sum += x[i]!;
      this.sumSq += x[i]! * x[i]!;
      this.se += (x[i]! - y[i]!) ** 2;
    }
    this.n += x.length;
    const t = truth.targets?.[this.task.output];
    if (!t || t.data.length !== x.length) return;
    for (let i = 0; i < x.length; i++) {
      const v = Number(t.data[i]);
      this.target.a += (x[i]! - v) ** 2;
      this.target.b += (y[i]! - v) ** 2;
    }
    this.target.n += x.length;
  }

  result(): TaskMetrics {
    const variance = this.n ? this.sumSq / this.n - (this.sum / this.n) ** 2 : 0;
    const mse = this.n ? this.se / this.n : 0;
    const t = this.target;
    return { ...NO_METRICS, regression: { relativeMse: variance > 0 ? mse / variance : mse ? Infinity : 0, target: t.n ? { mseOriginal: t.a / t.n, mseCompressed: t.b / t.n } : null } };
  }
}

export function metricFor(task: OutputTask, opts: MetricOptions = {}): MetricAccumulator {
  switch (task.kind) {
    case 'classification':
      return new ClassificationMetric(task);
    case 'ctc':
      return new SequenceMetric(task, opts.charset);
    case 'embedding':
      return new EmbeddingMetric(task, opts.neighbourRows ?? 2048);
    case 'dense':
      return new DenseMetric(task, opts.threshold ?? 0.5);
    case 'regression':
      return new RegressionMetric(task);
  }
}
