// The per-task distillation losses against plain TypeScript references (float64), and the new
// engine losses' gradients against central finite differences.
import { describe, expect, it } from 'vitest';
import * as E from '../../src/engine/index.js';
import { distillLoss, lossLabel, studentCaptures, type LossSettings } from '../../src/tbn/distill-loss.js';
import type { OutputTask } from '../../src/tbn/tasks.js';
import type { HostTensor } from '../../src/util/host-tensor.js';
import { Rng } from '../../src/util/random.js';
import { gradcheck } from '../unit/engine/gradcheck.js';

const rng = new Rng(7);
const randn = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);

/** Softmax rows of x along the last axis (float64). */
function softmaxRows(x: ArrayLike<number>, c: number, t = 1): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / c; r++) {
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, x[r * c + k]! / t);
    let s = 0;
    for (let k = 0; k < c; k++) s += out[r * c + k] = Math.exp(x[r * c + k]! / t - m);
    for (let k = 0; k < c; k++) out[r * c + k]! /= s;
  }
  return out;
}

/** T² · mean over rows of KL(softmax(t/T) ‖ softmax(s/T)). */
function klReference(s: ArrayLike<number>, t: ArrayLike<number>, c: number, temp: number): number {
  const ps = softmaxRows(s, c, temp);
  const pt = softmaxRows(t, c, temp);
  let kl = 0;
  for (let i = 0; i < pt.length; i++) if (pt[i]! > 0) kl += pt[i]! * (Math.log(pt[i]!) - Math.log(ps[i]!));
  return (temp * temp * kl) / (s.length / c);
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function lossOf(task: OutputTask, student: Record<string, Float32Array>, dims: number[], teacher: Float32Array, set: LossSettings, labels?: number[], pre?: Record<string, Float32Array>): number {
  return E.tidy(() => {
    const outputs = Object.fromEntries(Object.entries(student).map(([k, v]) => [k, E.tensor(v, dims)]));
    const values = Object.fromEntries(Object.entries(pre ?? {}).map(([k, v]) => [k, E.tensor(v, dims)]));
    const t: HostTensor = { dtype: 'float32', dims, data: teacher };
    return distillLoss([task], { outputs, values }, { [task.output]: t }, labels, set).item();
  });
}

const base = { output: 'y', batchAxis: 0, reason: '', source: 'graph' as const };
const auto: LossSettings = { loss: 'auto', temperature: 2 };

describe('per-task distillation losses', () => {
  it('classification logits: KL at T with cross-entropy on labels', () => {
    const [s, t] = [randn(12), randn(12)];
    const task: OutputTask = { ...base, kind: 'classification', form: 'logits', normalization: 'softmax', classAxis: 1, dims: [3, 4] };
    expect(lossOf(task, { y: s }, [3, 4], t, auto)).toBeCloseTo(klReference(s, t, 4, 2), 5);
    const labels = [0, 3, 1];
    const ps = softmaxRows(s, 4);
    const ce = -labels.reduce((a, l, r) => a + Math.log(ps[r * 4 + l]!), 0) / 3;
    expect(lossOf(task, { y: s }, [3, 4], t, auto, labels)).toBeCloseTo(klReference(s, t, 4, 2) + ce, 5);
  });

  it('classification probabilities: the KL of the logits behind them (no softmax of a softmax)', () => {
    const [z, zt] = [randn(12), randn(12)];
    const p = Float32Array.from(softmaxRows(z, 4));
    const pt = Float32Array.from(softmaxRows(zt, 4));
    const task: OutputTask = { ...base, kind: 'classification', form: 'probabilities', normalization: 'softmax', classAxis: 1, dims: [3, 4] };
    const want = klReference(z, zt, 4, 2);
    expect(lossOf(task, { y: p }, [3, 4], pt, auto)).toBeCloseTo(want, 4);
    // With the student's pre-Softmax logits captured, the same value from them.
    const withPre = { ...task, preActivation: 'z' };
    expect(studentCaptures([withPre], auto)).toEqual(['z']);
    expect(lossOf(withPre, { y: p }, [3, 4], pt, auto, undefined, { z })).toBeCloseTo(want, 4);
    // The old way — softmax(p / T) as if p were logits — is a different, much flatter number.
    expect(Math.abs(klReference(p, pt, 4, 2) - want)).toBeGreaterThan(10 * Math.abs(want - lossOf(task, { y: p }, [3, 4], pt, auto)));
  });

  it('CTC: per-frame KL on log-probabilities, averaged over N·T frames', () => {
    const dims = [2, 5, 6];
    const [z, zt] = [randn(60), randn(60)];
    const logp = Float32Array.from(softmaxRows(z, 6), Math.log);
    const logpt = Float32Array.from(softmaxRows(zt, 6), Math.log);
    const task: OutputTask = { ...base, kind: 'ctc', form: 'log-probabilities', normalization: 'softmax', classAxis: 2, layout: 'NTC', blank: 0, dims };
    expect(lossOf(task, { y: logp }, dims, logpt, auto)).toBeCloseTo(klReference(z, zt, 6, 2), 4);
  });

  it('dense sigmoid maps: per-pixel binary KL on the logits', () => {
    const dims = [2, 1, 3, 3];
    const [z, zt] = [randn(18), randn(18)];
    const pt = Float32Array.from(zt, sigmoid);
    let want = 0;
    for (let i = 0; i < 18; i++) {
      const [q, p] = [sigmoid(z[i]!), pt[i]!];
      want += p * Math.log(p / q) + (1 - p) * Math.log((1 - p) / (1 - q));
    }
    want /= 18;
    const task: OutputTask = { ...base, kind: 'dense', form: 'probabilities', normalization: 'sigmoid', preActivation: 'z', dims };
    expect(lossOf(task, { y: Float32Array.from(z, sigmoid) }, dims, pt, auto, undefined, { z })).toBeCloseTo(want, 5);
    // Without the logits: recovered from the probabilities as log(p / (1 − p)).
    expect(lossOf({ ...task, preActivation: undefined }, { y: Float32Array.from(z, sigmoid) }, dims, pt, auto)).toBeCloseTo(want, 4);
  });

  it('dense softmax maps: KL over the class axis 1 per pixel', () => {
    const dims = [1, 3, 2, 2];
    const [s, t] = [randn(12), randn(12)];
    // Move classes last for the reference: [1, 2, 2, 3].
    const last = (x: Float32Array) => Float32Array.from({ length: 12 }, (_, i) => x[(i % 3) * 4 + Math.floor(i / 3)]!);
    const task: OutputTask = { ...base, kind: 'dense', form: 'logits', normalization: 'softmax', classAxis: 1, dims };
    expect(lossOf(task, { y: s }, dims, t, auto)).toBeCloseTo(klReference(last(s), last(t), 3, 2), 5);
  });

  it('embeddings: 1 − cosine per row (+ scaled MSE when not L2-normalised)', () => {
    const [s, t] = [randn(8), randn(8)];
    const cos = (r: number) => {
      let [d, a, b] = [0, 0, 0];
      for (let k = 0; k < 4; k++) [d, a, b] = [d + s[r * 4 + k]! * t[r * 4 + k]!, a + s[r * 4 + k]! ** 2, b + t[r * 4 + k]! ** 2];
      return d / Math.sqrt(a * b);
    };
    const want = 1 - (cos(0) + cos(1)) / 2;
    const task: OutputTask = { ...base, kind: 'embedding', form: 'values', normalized: true, dims: [2, 4] };
    expect(lossOf(task, { y: s }, [2, 4], t, auto)).toBeCloseTo(want, 5);
    const mean = t.reduce((a, v) => a + v, 0) / 8;
    const variance = t.reduce((a, v) => a + (v - mean) ** 2, 0) / 8;
    const mse = s.reduce((a, v, i) => a + (v - t[i]!) ** 2, 0) / 8;
    expect(lossOf({ ...task, normalized: false }, { y: s }, [2, 4], t, auto)).toBeCloseTo(want + mse / variance, 4);
  });

  it('regression: MSE over the teacher variance; --loss kl reproduces the old softmax-over-columns loss', () => {
    const [s, t] = [randn(16), randn(16, 0.1)];
    const mean = t.reduce((a, v) => a + v, 0) / 16;
    const variance = t.reduce((a, v) => a + (v - mean) ** 2, 0) / 16;
    const mse = s.reduce((a, v, i) => a + (v - t[i]!) ** 2, 0) / 16;
    const task: OutputTask = { ...base, kind: 'regression', form: 'values', dims: [2, 8] };
    expect(lossOf(task, { y: s }, [2, 8], t, auto)).toBeCloseTo(mse / variance, 4);
    expect(lossOf(task, { y: s }, [2, 8], t, { loss: 'kl', temperature: 2 })).toBeCloseTo(klReference(s, t, 8, 2), 5);
    expect(lossLabel(task, auto)).toBe('MSE / teacher variance');
    // A per-sample shift leaves softmax — and so the KL — unchanged; the MSE sees it.
    const shifted = Float32Array.from(s, (v, i) => v + (i < 8 ? 5 : -3));
    expect(lossOf(task, { y: shifted }, [2, 8], t, { loss: 'kl', temperature: 2 })).toBeCloseTo(klReference(s, t, 8, 2), 4);
    expect(lossOf(task, { y: shifted }, [2, 8], t, auto)).toBeGreaterThan(10 * lossOf(task, { y: s }, [2, 8], t, auto));
  });
});

describe('engine losses: gradients against finite differences', () => {
  const probs = (n: number) => E.tensor(Float32Array.from({ length: n }, (_, i) => 0.05 + 0.9 * ((i * 0.37) % 1)), [n]);
  it('binaryKlLoss(student logits, teacher probabilities)', () => {
    gradcheck((z, p) => E.binaryKlLoss(z, p), [{ shape: [6] }, { shape: [6], constant: probs(6) }]);
  });
  it('binaryKlLoss is 0 where the student matches the teacher and its gradient is σ(z) − p', () => {
    const p = probs(5);
    const z = E.parameter(Float32Array.from(p.toArray(), (v) => Math.log(v / (1 - v))), [5]);
    const l = E.binaryKlLoss(z, p);
    expect(Math.abs(l.item())).toBeLessThan(1e-6);
    l.dispose();
    p.dispose();
    z.dispose();
  });
  it('cosineLoss over rows of [3, 4] and [2, 2, 3]', () => {
    const t = E.tensor(randn(12), [3, 4]);
    gradcheck((s, tt) => E.cosineLoss(s, tt), [{ shape: [3, 4] }, { shape: [3, 4], constant: t }]);
    const t3 = E.tensor(randn(12), [2, 2, 3]);
    gradcheck((s, tt) => E.cosineLoss(s, tt), [{ shape: [2, 2, 3] }, { shape: [2, 2, 3], constant: t3 }]);
    t.dispose();
    t3.dispose();
  });
  it('KL on log-probabilities as logits (the CTC and probability-output path)', () => {
    const t = E.tensor(Float32Array.from(softmaxRows(randn(12), 4), Math.log), [3, 4]);
    gradcheck((s, tt) => E.klDistillLoss(s, tt, 2, -1), [{ shape: [3, 4] }, { shape: [3, 4], constant: t }]);
    t.dispose();
  });
});
