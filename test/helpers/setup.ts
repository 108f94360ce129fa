// Shared matchers: toBeAllclose reports the worst element, not just pass/fail.
import { expect } from 'vitest';

type Numeric = ArrayLike<number>;

interface AllcloseOptions {
  atol?: number;
  rtol?: number;
}

expect.extend({
  toBeAllclose(actual: Numeric, expected: Numeric, opts: AllcloseOptions = {}) {
    const atol = opts.atol ?? 1e-5;
    const rtol = opts.rtol ?? 1e-5;
    if (actual.length !== expected.length) {
      return { pass: false, message: () => `length ${actual.length} ≠ expected ${expected.length}` };
    }
    let worst = -1;
    let worstExcess = 0;
    let maxAbs = 0;
    let maxRel = 0;
    for (let i = 0; i < actual.length; i++) {
      const a = actual[i]!;
      const e = expected[i]!;
      const d = Math.abs(a - e);
      if (Number.isNaN(a) !== Number.isNaN(e)) {
        worst = i;
        worstExcess = Infinity;
        break;
      }
      if (Number.isNaN(a)) continue;
      maxAbs = Math.max(maxAbs, d);
      if (e !== 0) maxRel = Math.max(maxRel, d / Math.abs(e));
      const excess = d - (atol + rtol * Math.abs(e));
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
    const pass = worst < 0;
    return {
      pass,
      message: () =>
        pass
          ? `expected arrays to differ (max abs ${maxAbs}, max rel ${maxRel})`
          : `arrays differ at [${worst}]: ${actual[worst]} vs ${expected[worst]} (atol ${atol}, rtol ${rtol}; max abs ${maxAbs.toExponential(3)}, max rel ${maxRel.toExponential(3)})`,
    };
  },
});

declare module 'vitest' {
  interface Assertion<T> {
    toBeAllclose(expected: ArrayLike<number>, opts?: AllcloseOptions): T;
  }
  interface AsymmetricMatchersContaining {
    toBeAllclose(expected: ArrayLike<number>, opts?: AllcloseOptions): void;
  }
}
