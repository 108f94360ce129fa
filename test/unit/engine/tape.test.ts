// Tensor lifetimes and the tape: shared storage freed with its last handle, tidy() scopes
// (returned tensors kept, unreachable graphs released), gradient accumulation, saved tensors
// released by backward, and noGrad.

import { describe, expect, it } from 'vitest';
import * as E from '../../../src/engine/index.js';

const live = () => E.getBackend().stats().buffers;

describe('storage and handles', () => {
  it('an alias shares storage; the buffer goes with the last handle', () => {
    const base = live();
    const a = E.tensor([1, 2, 3, 4], [2, 2]);
    const b = a.alias([4]);
    expect(live()).toBe(base + 1);
    a.dispose();
    a.dispose();
    expect(Array.from(b.toArray())).toEqual([1, 2, 3, 4]);
    b.dispose();
    expect(live()).toBe(base);
    expect(() => a.toArray()).toThrow(/disposed/);
  });
  it('reshape is a zero-copy alias', () => {
    const base = live();
    const a = E.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = E.reshape(a, [3, 2]);
    expect(live()).toBe(base + 1);
    expect(r.shape).toEqual([3, 2]);
    a.dispose();
    r.dispose();
    expect(live()).toBe(base);
  });
});

describe('tidy', () => {
  it('disposes what the callback made, except what it returns (nested) and keep()', () => {
    const base = live();
    let kept: E.Tensor | undefined;
    const out = E.tidy(() => {
      const t = E.tensor([1, 2]);
      const u = E.add(t, t);
      kept = E.keep(E.mul(t, t));
      const inner = E.tidy(() => [E.neg(u), E.exp(u)]);
      return { list: inner, single: u };
    });
    expect(live()).toBe(base + 4);
    expect(Array.from(out.list[0]!.toArray())).toEqual([-2, -4]);
    [...out.list, out.single, kept!].forEach((t) => t.dispose());
    expect(live()).toBe(base);
  });
  it('releases the saved tensors of graphs nothing returned can reach', () => {
    const p = E.parameter([1, -2, 3], [3]);
    const base = live();
    E.tidy(() => {
      E.relu(E.mul(p, E.tensor([2, 2, 2])));
    });
    expect(live()).toBe(base);
    const y = E.tidy(() => E.sum(E.relu(E.mul(p, E.tensor([2, 2, 2])))));
    E.backward(y);
    expect(Array.from(p.grad!.toArray())).toEqual([2, 0, 2]);
    y.dispose();
    p.grad!.dispose();
    expect(live()).toBe(base);
  });
  it('refuses async callbacks', () => {
    expect(() => E.tidy((async () => 1) as never)).toThrow(/synchronous/);
  });
});

describe('backward', () => {
  it('accumulates over repeated uses and diamond paths: d(x·x + 3x)/dx = 2x + 3', () => {
    const x = E.parameter([1, 2, -1], [3]);
    const y = E.tidy(() => E.sum(E.add(E.mul(x, x), E.affine(x, 3, 0))));
    E.backward(y);
    expect(Array.from(x.grad!.toArray())).toEqual([5, 7, 1]);
  });
  it('accumulates into .grad across calls; a released graph cannot be reused', () => {
    const x = E.parameter([1, 2], [2]);
    const y = E.sum(E.mul(x, x));
    E.backward(y, undefined, { retainGraph: true });
    E.backward(y);
    expect(Array.from(x.grad!.toArray())).toEqual([4, 8]);
    expect(() => E.backward(y)).toThrow(/already released/);
  });
  it('frees saved tensors as it goes: only the leaf gradient remains', () => {
    const x = E.parameter([0.5, -1, 2, 3], [2, 2]);
    const base = live();
    const y = E.tidy(() => E.sum(E.tanh(E.matmul(x, E.exp(x)))));
    const held = live();
    expect(held).toBeGreaterThan(base + 1);
    E.backward(y);
    expect(live()).toBe(base + 2); // y and x.grad
  });
  it('noGrad records nothing; constants never require grad', () => {
    const x = E.parameter([1, 2], [2]);
    const y = E.noGrad(() => E.mul(x, x));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeUndefined();
    expect(E.add(E.tensor([1]), E.tensor([2])).gradFn).toBeUndefined();
    expect(() => E.backward(y)).toThrow(/does not require grad/);
  });
  it('takes a seed gradient for non-scalar roots', () => {
    const x = E.parameter([1, 2, 3], [3]);
    E.backward(E.mul(x, E.tensor([2, 2, 2])), E.tensor([1, 10, 100]));
    expect(Array.from(x.grad!.toArray())).toEqual([2, 20, 200]);
  });
});
