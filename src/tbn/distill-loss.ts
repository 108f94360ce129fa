// The distillation loss of one batch, chosen per output by its task (tasks.ts):
//   classification  KL(softmax(t/T) ‖ softmax(s/T))·T² over the class axis, on logits — for
//                   probability outputs on their logs (logSoftmax(log p / T) = softmax(z/T):
//                   never a softmax of a softmax), or on the student's own pre-Softmax logits
//                   when the graph has them; sigmoid outputs: binary KL; + cross-entropy with labels
//   ctc             the same KL per frame, on log-probabilities
//   dense           per-pixel binary KL (sigmoid maps) or per-pixel KL over the class axis
//   embedding       1 − cosine per sample (+ scaled MSE when the graph does not L2-normalise)
//   regression      MSE divided by the teacher's variance on the batch
// `--loss kl|mse|cosine` forces one loss on every output (kl on an output without classes is the
// old behaviour: softmax over its last axis).

import * as E from '../engine/index.js';
import type { HostTensor } from '../util/host-tensor.js';
import type { OutputTask } from './tasks.js';

export type LossKind = 'auto' | 'kl' | 'mse' | 'cosine';

export interface LossSettings {
  loss: LossKind;
  temperature: number;
}

export interface StudentOutputs {
  outputs: Record<string, E.Tensor>;
  /** Captured intermediate values (pre-activation logits), by name. */
  values: Record<string, E.Tensor>;
}

const EPS = 1e-12;

/** Values the student run must capture for these tasks: the pre-activation logits. */
export function studentCaptures(tasks: readonly OutputTask[], s: LossSettings): string[] {
  return tasks.filter((t) => t.preActivation && usesTaskLoss(t, s)).map((t) => t.preActivation!);
}

function usesTaskLoss(t: OutputTask, s: LossSettings): boolean {
  return s.loss === 'auto' || (s.loss === 'kl' && t.normalization !== undefined && t.kind !== 'embedding' && t.kind !== 'regression');
}

/** The loss each output gets, in words (reports). */
export function lossLabel(t: OutputTask, s: LossSettings): string {
  if (s.loss === 'mse') return 'scaled MSE (--loss mse)';
  if (s.loss === 'cosine') return 'cosine (--loss cosine)';
  if (!usesTaskLoss(t, s)) return `KL on softmax over the last axis at T = ${s.temperature} (--loss kl)`;
  const on = t.preActivation ? `the student's logits ('${t.preActivation}')` : t.form === 'logits' ? 'logits' : t.form === 'log-probabilities' ? 'log-probabilities' : 'log-probabilities (logs of the probabilities)';
  if (t.normalization === 'sigmoid') return `binary KL per ${t.kind === 'dense' ? 'pixel' : 'value'} on ${t.preActivation ? on : 'logits'}`;
  switch (t.kind) {
    case 'classification':
      return `KL at T = ${s.temperature} on ${on}`;
    case 'ctc':
      return `per-frame KL at T = ${s.temperature} on ${on}`;
    case 'dense':
      return `per-pixel KL at T = ${s.temperature} on ${on}`;
    case 'embedding':
      return t.normalized ? '1 − cosine' : '1 − cosine + scaled MSE';
    case 'regression':
      return 'MSE / teacher variance';
  }
}

/** log of probabilities, floored so that a zero probability stays finite. */
function hostLog(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = Math.log(Math.max(p[i]!, EPS));
  return out;
}

function hostSigmoid(z: Float32Array): Float32Array {
  return Float32Array.from(z, (v) => 1 / (1 + Math.exp(-v)));
}

/** Scores whose softmax is the output's distribution: logits, or log-probabilities. */
function teacherScores(t: OutputTask, x: HostTensor): E.Tensor {
  const d = x.data as Float32Array;
  return E.tensor(t.form === 'probabilities' ? hostLog(d) : d, x.dims);
}

function studentScores(t: OutputTask, s: StudentOutputs): E.Tensor {
  const pre = t.preActivation ? s.values[t.preActivation] : undefined;
  if (pre) return pre;
  const y = s.outputs[t.output]!;
  return t.form === 'probabilities' ? E.log(E.maximum(y, E.full([], EPS))) : y;
}

/** Sigmoid logits of the student: its pre-Sigmoid value, or log(p / (1 − p)). */
function studentLogits(t: OutputTask, s: StudentOutputs): E.Tensor {
  const pre = t.preActivation ? s.values[t.preActivation] : undefined;
  if (pre) return pre;
  const y = s.outputs[t.output]!;
  if (t.form === 'logits') return y;
  const p = E.minimum(E.maximum(y, E.full([], 1e-7)), E.full([], 1 - 1e-7));
  return E.sub(E.log(p), E.log(E.affine(p, -1, 1)));
}

export function scaledMse(s: E.Tensor, teacher: HostTensor): E.Tensor {
  const d = teacher.data as Float32Array;
  let m = 0;
  let v = 0;
  for (const x of d) m += x;
  m /= d.length;
  for (const x of d) v += (x - m) ** 2;
  return E.affine(E.mseLoss(s, E.tensor(d, teacher.dims)), 1 / Math.max(v / d.length, EPS), 0);
}

function outputLoss(t: OutputTask, s: StudentOutputs, teacher: HostTensor, labels: number[] | undefined, set: LossSettings): E.Tensor {
  const y = s.outputs[t.output]!;
  if (set.loss === 'mse') return scaledMse(y, teacher);
  if (set.loss === 'cosine') return E.cosineLoss(y, E.tensor(teacher.data as Float32Array, teacher.dims));
  if (!usesTaskLoss(t, set)) return E.klDistillLoss(y, E.tensor(teacher.data as Float32Array, teacher.dims), set.temperature, -1);
  const rows = labels && t.batchAxis === 0 && labels.length === teacher.dims[0];
  if (t.normalization === 'sigmoid') {
    const z = studentLogits(t, s);
    const d = teacher.data as Float32Array;
    const p = E.tensor(t.form === 'logits' ? hostSigmoid(d) : d, teacher.dims);
    const kl = E.binaryKlLoss(z, p);
    if (t.kind !== 'classification' || !rows || z.size !== labels.length) return kl;
    return E.add(kl, E.binaryKlLoss(z, E.tensor(Float32Array.from(labels), z.shape)));
  }
  if (t.kind === 'embedding') {
    const target = E.tensor(teacher.data as Float32Array, teacher.dims);
    if (t.batchAxis !== 0 || y.rank < 2) return scaledMse(y, teacher);
    const cos = E.cosineLoss(y, target);
    return t.normalized ? cos : E.add(cos, scaledMse(y, teacher));
  }
  if (t.kind === 'regression' || t.classAxis === undefined) return scaledMse(y, teacher);
  const sc = studentScores(t, s);
  const kl = E.klDistillLoss(sc, teacherScores(t, teacher), set.temperature, t.classAxis);
  if (t.kind !== 'classification' || !rows || y.rank !== 2) return kl;
  return E.add(kl, E.crossEntropyLoss(sc, labels, t.classAxis));
}

/** The summed loss over the outputs (a scalar tensor to backpropagate). */
export function distillLoss(tasks: readonly OutputTask[], student: StudentOutputs, teacher: Record<string, HostTensor>, labels: number[] | undefined, set: LossSettings): E.Tensor {
  let total: E.Tensor | undefined;
  for (const t of tasks) {
    const x = teacher[t.output];
    if (!x || !student.outputs[t.output]) continue;
    const l = outputLoss(t, student, x, labels, set);
    total = total ? E.add(total, l) : l;
  }
  if (!total) throw new Error('the model has no float outputs to distil');
  return total;
}

/** Output kinds whose distillation gained from input augmentation on the fixtures (README). */
const AUGMENT_KINDS: ReadonlySet<OutputTask['kind']> = new Set(['classification', 'regression']);

/**
 * `--augment` unset: shifts/rotations/noise/mixup only when every output is a class or a
 * regression value. Text lines (CTC), embeddings and dense maps came out worse with them
 * (a rotated or mixed text line is no line the model will see; README has the numbers).
 */
export function resolveAugment(flag: boolean | 'auto', tasks: readonly OutputTask[]): { on: boolean; note: string } {
  if (flag !== 'auto') return { on: flag, note: `input augmentation: ${flag ? 'on' : 'off'} (--${flag ? '' : 'no-'}augment)` };
  const other = tasks.filter((t) => !AUGMENT_KINDS.has(t.kind));
  if (!other.length) return { on: true, note: 'input augmentation: on (auto: classification/regression outputs)' };
  return { on: false, note: `input augmentation: off (auto: ${other.map((t) => `${t.output} is ${t.kind}`).join(', ')}; use --augment to force it)` };
}
