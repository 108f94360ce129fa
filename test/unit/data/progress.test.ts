// Progress a log can read (plain lines on a non-interactive stderr) and the --time-budget
// schedule fitting, on a simulated clock.
import { describe, expect, it } from 'vitest';
import { createUi } from '../../../src/cli/ui.js';
import { duration } from '../../../src/pipeline/option-spec.js';
import { TimeBudget } from '../../../src/tbn/time-budget.js';

describe('progress lines', () => {
  function ui(opts: { json?: boolean; quiet?: boolean } = {}) {
    let t = 0;
    let stderr = '';
    let stdout = '';
    const u = createUi({ ...opts, progressLines: true, interactive: false, now: () => t, stderr: (s) => (stderr += s), stdout: (s) => (stdout += s) });
    return { u, tick: (ms: number) => (t += ms), err: () => stderr, out: () => stdout };
  }

  it('prints at each phase change and about every 10 s within a phase, with the elapsed time', () => {
    const { u, tick, err } = ui();
    const p = u.progress('compressing');
    tick(1000);
    p.update('reading model.onnx', 'load');
    for (let step = 1; step <= 40; step++) {
      tick(1000);
      p.update(`fine-tuning: step ${step}/40, loss 0.5`, 'finetune');
    }
    tick(500);
    p.update('writing out.onnx', 'write');
    expect(err().trim().split('\n')).toEqual([
      '[00:00] compressing',
      '[00:01] reading model.onnx',
      '[00:02] fine-tuning: step 1/40, loss 0.5',
      '[00:12] fine-tuning: step 11/40, loss 0.5',
      '[00:22] fine-tuning: step 21/40, loss 0.5',
      '[00:32] fine-tuning: step 31/40, loss 0.5',
      '[00:41] writing out.onnx',
    ]);
  });

  it('without a phase, a change in the words (numbers aside) is a phase change', () => {
    const { u, tick, err } = ui();
    const p = u.progress('verifying');
    p.update('comparing 64/512 samples');
    tick(100);
    p.update('comparing 128/512 samples');
    p.update('measuring latency');
    expect(err().trim().split('\n')).toHaveLength(3);
  });

  it('--json keeps stdout to the JSON (lines go to stderr); --quiet prints none', () => {
    const j = ui({ json: true });
    j.u.progress('compressing').update('fine-tuning: step 1/2', 'finetune');
    j.u.out('{}');
    expect(j.out()).toBe('{}\n');
    expect(j.err()).toMatch(/fine-tuning: step 1\/2/);
    const q = ui({ quiet: true });
    q.u.progress('compressing').update('fine-tuning: step 1/2', 'finetune');
    expect(q.err()).toBe('');
  });
});

describe('--time-budget', () => {
  it('parses s, m and h', () => {
    expect(duration('--time-budget')('90s')).toBe(90);
    expect(duration('--time-budget')('10m')).toBe(600);
    expect(duration('--time-budget')('1.5h')).toBe(5400);
    expect(duration('--time-budget')('45')).toBe(45);
    expect(() => duration('--time-budget')('ten minutes')).toThrow(/--time-budget ten minutes: expected a duration such as 90s, 10m or 1\.5h/);
  });

  /** Runs the budget over steps whose durations `stepTime(i)` gives; returns the steps run and the last choice. */
  function simulate(budget: number, reserve: number, requested: number, stepTime: (i: number) => number) {
    const b = new TimeBudget(budget, requested, reserve);
    let total = requested;
    let elapsed = 0;
    let last;
    for (let i = 0; i < total; i++) {
      elapsed += stepTime(i);
      const c = b.afterStep(i + 1, elapsed);
      if (c) {
        last = c;
        total = c.steps;
      }
    }
    return { steps: total, elapsed, choice: last };
  }

  it('times the first steps (the first one left out) and cuts the schedule to fit', () => {
    const r = simulate(100, 10, 500, (i) => (i === 0 ? 5 : 1));
    // 5 % of the budget (5 s) is timed after the first step: decided after 6 steps (10 s
    // elapsed), when 80 more 1 s steps fit in 100 − 10 (reserve) − 10.
    expect(r.choice).toMatchObject({ stepSeconds: 1, measuredSteps: 5, requestedSteps: 500, steps: 86, refits: 0 });
    expect(r.elapsed).toBeLessThanOrEqual(90);
  });

  it('keeps a schedule that fits, and never lengthens it', () => {
    const r = simulate(100, 0, 50, () => 1);
    expect(r.steps).toBe(50);
    expect(r.choice!.steps).toBe(50);
  });

  it('cuts again when steps slow down', () => {
    const r = simulate(100, 0, 1000, (i) => (i < 20 ? 0.5 : 1.5));
    expect(r.choice!.refits).toBeGreaterThan(0);
    expect(r.elapsed).toBeLessThanOrEqual(104);
  });

  it('stops at once when the first step already spends the budget', () => {
    const r = simulate(10, 0, 100, () => 20);
    expect(r.steps).toBe(1);
  });
});
