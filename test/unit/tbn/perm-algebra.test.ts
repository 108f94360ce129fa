// Permutations over some axes of a tensor: lift/project are inverse where defined, join merges
// what each permutation decides and refuses disagreements, applyPerm moves data as defined.
import { describe, expect, it } from 'vitest';
import { applyPerm, join, lift, PermConflict, project, simplify, type AxisPerm } from '../../../src/tbn/perm-algebra.js';

const perm = (axes: number[], sizes: number[], order: number[]): AxisPerm => ({ axes, sizes, order: Int32Array.from(order) });

describe('axis permutations', () => {
  it('lifts over more axes and projects back', () => {
    const p = perm([1], [3], [2, 0, 1]);
    const l = lift(p, [0, 1], [2, 3]);
    expect(Array.from(l.order)).toEqual([2, 0, 1, 5, 3, 4]);
    expect(Array.from(project(l, [1])!.order)).toEqual([2, 0, 1]);
    expect(simplify(l)!.axes).toEqual([1]);
  });

  it('refuses a projection when where a position goes depends on another axis', () => {
    // Rows 0 and 1 of a [2, 2] grid permute their columns differently.
    const p = perm([0, 1], [2, 2], [1, 0, 2, 3]);
    expect(project(p, [1])).toBeUndefined();
    expect(project(p, [0])).toBeDefined();
  });

  it('joins permutations of different axes into their product', () => {
    const j = join([perm([0], [2], [1, 0]), perm([1], [3], [0, 2, 1])], (a) => [2, 3][a]!)!;
    expect(Array.from(j.order)).toEqual([3, 5, 4, 0, 2, 1]);
  });

  it('merges permutations that move different positions of one axis (a query part and a key part)', () => {
    const q = perm([0], [4], [1, 0, 2, 3]);
    const k = perm([0], [4], [0, 1, 3, 2]);
    expect(Array.from(join([q, k], () => 4)!.order)).toEqual([1, 0, 3, 2]);
    expect(() => join([q, perm([0], [4], [2, 1, 0, 3])], () => 4)).toThrow(PermConflict);
  });

  it('moves data: position y takes the old position order[y] along the axes', () => {
    const data = Float32Array.from({ length: 6 }, (_, i) => i); // [2, 3]
    expect(Array.from(applyPerm(data, [2, 3], perm([1], [3], [2, 0, 1])))).toEqual([2, 0, 1, 5, 3, 4]);
    expect(Array.from(applyPerm(data, [2, 3], perm([0], [2], [1, 0])))).toEqual([3, 4, 5, 0, 1, 2]);
  });
});
