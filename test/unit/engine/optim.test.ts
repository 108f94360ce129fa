// Optimisers and schedules against torch 1.13 (values produced by torch.optim.Adam/AdamW and
// torch.optim.lr_scheduler.OneCycleLR on the same inputs), and the losses against their
// definitions computed on the host in float64.

import { describe, expect, it } from 'vitest';
import * as E from '../../../src/engine/index.js';

function threeSteps(make: (p: E.Tensor) => E.Adam): number[] {
  const p = E.parameter([1, -2, 3], [3]);
  const opt = make(p);
  for (const g of [[0.5, -1, 2], [0.1, 0.2, -0.3], [-1, 0, 0.5]]) {
    opt.zeroGrad();
    p.grad = E.tensor(g);
    opt.step();
  }
  return Array.from(p.toArray());
}

describe('optimisers', () => {
  it('Adam matches torch.optim.Adam', () => {
    expect(threeSteps((p) => new E.Adam([p], { lr: 0.1 }))).toBeAllclose([0.8484413623809814, -1.8093948364257812, 2.787998914718628], { atol: 1e-6 });
  });
  it('Adam with L2 weight decay matches torch', () => {
    expect(threeSteps((p) => new E.Adam([p], { lr: 0.1, weightDecay: 0.1 }))).toBeAllclose([0.8286622166633606, -1.7732341289520264, 2.7639176845550537], { atol: 1e-6 });
  });
  it('AdamW (decoupled decay) matches torch.optim.AdamW', () => {
    expect(threeSteps((p) => new E.AdamW([p], { lr: 0.1, weightDecay: 0.1 }))).toBeAllclose([0.8215334415435791, -1.7524938583374023, 2.7014381885528564], { atol: 1e-6 });
  });
  it('refuses tensors that are not trainable leaves', () => {
    expect(() => new E.Adam([E.tensor([1])], { lr: 1 })).toThrow(/trainable leaf/);
  });
});

describe('schedules', () => {
  it('one-cycle matches torch OneCycleLR (max 1, 10 steps)', () => {
    const s = E.oneCycleSchedule({ maxLr: 1, totalSteps: 10 });
    const torch = [0.04, 0.52, 1.0, 0.9504846320134737, 0.8117456539497631, 0.6112620219362893, 0.38874197806371075, 0.18825834605023697, 0.049519367986526286, 4e-6];
    expect([...Array(10)].map((_, i) => s(i))).toBeAllclose(torch, { atol: 1e-12, rtol: 1e-9 });
  });
  it('cosine: linear warm-up to lr, then down to minLr', () => {
    const s = E.cosineSchedule({ lr: 1, totalSteps: 12, warmupSteps: 4, minLr: 0.1 });
    expect([0, 1, 2, 3].map(s)).toBeAllclose([0.25, 0.5, 0.75, 1]);
    expect(s(4)).toBeCloseTo(1, 12);
    expect(s(8)).toBeCloseTo(0.55, 12);
    expect(s(12)).toBeCloseTo(0.1, 12);
    expect(s(100)).toBeCloseTo(0.1, 12);
  });
  it('an optimiser follows its schedule step by step', () => {
    const p = E.parameter([0], [1]);
    const opt = new E.Adam([p], { lr: (step) => 0.1 * (step + 1) });
    expect(opt.lr).toBeCloseTo(0.1);
    p.grad = E.tensor([1]);
    opt.step();
    expect(opt.lr).toBeCloseTo(0.2);
  });
});

describe('losses', () => {
  const s = [[1, 2, 0.5], [-1, 0, 3]];
  const t = [[0.5, 1, 1], [2, -1, 0]];
  const softmax = (v: number[], T: number) => {
    const e = v.map((x) => Math.exp(x / T));
    const z = e.reduce((a, b) => a + b);
    return e.map((x) => x / z);
  };
  it('KL distillation: T² · mean_rows Σ p_t (log p_t − log p_s)', () => {
    const T = 2;
    const want = (T * T * s.reduce((acc, row, r) => {
      const ps = softmax(row, T);
      const pt = softmax(t[r]!, T);
      return acc + pt.reduce((a, p, c) => a + p * (Math.log(p) - Math.log(ps[c]!)), 0);
    }, 0)) / 2;
    expect(E.klDistillLoss(E.tensor(s.flat(), [2, 3]), E.tensor(t.flat(), [2, 3]), T).item()).toBeCloseTo(want, 6);
    expect(E.klDistillLoss(E.tensor(s.flat(), [2, 3]), E.tensor(s.flat(), [2, 3]), T).item()).toBeCloseTo(0, 7);
  });
  it('cross-entropy with integer labels', () => {
    const want = -(Math.log(softmax(s[0]!, 1)[1]!) + Math.log(softmax(s[1]!, 1)[2]!)) / 2;
    expect(E.crossEntropyLoss(E.tensor(s.flat(), [2, 3]), E.tensor([1, 2], [2], 'int64')).item()).toBeCloseTo(want, 6);
    expect(() => E.crossEntropyLoss(E.tensor(s.flat(), [2, 3]), [1, 3])).toThrow(/label 3/);
  });
  it('mean squared error', () => {
    expect(E.mseLoss(E.tensor([1, 2, 3]), E.tensor([1, 0, 0])).item()).toBeCloseTo(13 / 3, 6);
  });
});
