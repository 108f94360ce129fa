// Central finite differences against the tape's gradients, for engine ops (float32).
// Soundness in float32: the scalar checked is f = Σ w·y with fixed random w, summed in float64
// on the host. Perturbing inputs of size O(1) by eps = 1e-2, the rounding error of the quotient
// (f(x+eps) − f(x−eps)) / 2eps is about 1e-7·|y|·√n / 2e-2 ≈ 1e-5 relative, and the truncation
// error eps²/6·f''' about 2e-5: far below the tolerances used (atol 2e-3, rtol 1e-2). Inputs
// are kept ≥ 5·eps away from kinks (relu, abs, max, clip) so no difference straddles one.

import { expect } from 'vitest';
import * as E from '../../../src/engine/index.js';
import { Rng } from '../../../src/util/random.js';

export interface Input {
  shape: number[];
  /** Values (default: normal, kept away from 0 by `margin`). */
  data?: number[] | Float32Array;
  /** An input that gets no gradient (indices, conditions). */
  constant?: E.Tensor;
  /** Keep values ≥ margin away from 0 (for ops with a kink or pole at 0). */
  margin?: number;
  positive?: boolean;
}

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export function randomData(shape: number[], rng: Rng, margin = 0, positive = false): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = rng.normal();
    if (positive) v = 0.5 + Math.abs(v);
    if (Math.abs(v) < margin) v = Math.sign(v || 1) * (margin + Math.abs(v));
    out[i] = v;
  }
  return out;
}

/** Distinct values spaced ≥ gap apart, shuffled: for max-type ops (no ties under ±eps). */
export function distinctData(shape: number[], rng: Rng, gap = 0.1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const perm = rng.permutation(n);
  return Float32Array.from(perm, (p) => (p - n / 2) * gap);
}

export function gradcheck(fn: (...xs: E.Tensor[]) => E.Tensor, inputs: Input[], opts: GradcheckOptions = {}): void {
  const { eps = 1e-2, atol = 2e-3, rtol = 1e-2, seed = 1 } = opts;
  const rng = new Rng(seed);
  const values = inputs.map((inp) => (inp.constant ? undefined : Float32Array.from(inp.data ?? randomData(inp.shape, rng, inp.margin ?? 0, inp.positive))));
  const before = E.getBackend().stats().buffers;

  const evaluate = (vals: (Float32Array | undefined)[], grad: boolean) =>
    E.tidy(() => {
      const xs = inputs.map((inp, i) => inp.constant ?? (grad ? E.parameter(vals[i]!, inp.shape) : E.tensor(vals[i]!, inp.shape)));
      return { y: fn(...xs), xs: xs.filter((_, i) => !inputs[i]!.constant) };
    });

  const { y, xs } = evaluate(values, true);
  const w = randomData([y.size], rng);
  const f = (out: E.Tensor): number => {
    const a = out.toArray();
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]! * w[i]!;
    return s;
  };
  const dy = E.tensor(w, y.shape);
  E.backward(y, dy);
  dy.dispose();
  const analytic = xs.map((x) => x.grad?.toArray() ?? new Float32Array(x.size));
  y.dispose();
  for (const x of xs) {
    x.grad?.dispose();
    x.dispose();
  }

  let k = 0;
  values.forEach((v, i) => {
    if (!v) return;
    const numeric = new Float64Array(v.length);
    for (let j = 0; j < v.length; j++) {
      const orig = v[j]!;
      v[j] = orig + eps;
      const hi = E.noGrad(() => evaluate(values, false));
      v[j] = orig - eps;
      const lo = E.noGrad(() => evaluate(values, false));
      v[j] = orig;
      numeric[j] = (f(hi.y) - f(lo.y)) / (2 * eps);
      for (const t of [hi.y, lo.y, ...hi.xs, ...lo.xs]) t.dispose();
    }
    expect(analytic[k++]!, `gradient of input ${i}`).toBeAllclose(numeric, { atol, rtol });
  });
  expect(E.getBackend().stats().buffers, 'buffers leaked by the check').toBe(before);
}
