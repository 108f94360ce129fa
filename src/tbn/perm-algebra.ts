// Permutations of a tensor's positions along some of its axes — the values channel
// permutation moves through a graph. An AxisPerm acts on the row-major positions over `axes`
// (absolute, ascending) and leaves every other axis alone: the permuted tensor at position y
// holds the original at position order[y] (the same along all other axes). Equivariance rules
// (perm-flow.ts) combine them with lift / project / join; everything here is plain arrays.

import { contiguousStrides } from '../engine/shape.js';

export interface AxisPerm {
  axes: number[];
  sizes: number[];
  /** order[new flat index] = old flat index, over `axes` in row-major order. */
  order: Int32Array;
}

export class PermConflict extends Error {}

export const numelOf = (sizes: readonly number[]) => sizes.reduce((a, b) => a * b, 1);

export function identityPerm(axes: number[], sizes: number[]): AxisPerm {
  return { axes, sizes, order: Int32Array.from({ length: numelOf(sizes) }, (_, i) => i) };
}

export function isIdentity(p: AxisPerm | undefined): boolean {
  return !p || p.order.every((v, i) => v === i);
}

const strides = contiguousStrides;

/** The same permutation over a superset of axes (identity across the added ones). */
export function lift(p: AxisPerm, axes: number[], sizes: number[]): AxisPerm {
  if (p.axes.length === axes.length && p.axes.every((a, i) => a === axes[i])) return p;
  const pos = p.axes.map((a) => axes.indexOf(a));
  if (pos.some((i) => i < 0)) throw new Error('lift to axes that do not contain the permutation');
  const st = strides(sizes);
  const pst = strides(p.sizes);
  const n = numelOf(sizes);
  const order = new Int32Array(n);
  for (let y = 0; y < n; y++) {
    let sub = 0;
    for (let k = 0; k < pos.length; k++) sub += (Math.floor(y / st[pos[k]!]!) % sizes[pos[k]!]!) * pst[k]!;
    const old = p.order[sub]!;
    let x = y;
    for (let k = 0; k < pos.length; k++) {
      const c = Math.floor(old / pst[k]!) % p.sizes[k]!;
      const cy = Math.floor(y / st[pos[k]!]!) % sizes[pos[k]!]!;
      x += (c - cy) * st[pos[k]!]!;
    }
    order[y] = x;
  }
  return { axes, sizes, order };
}

/**
 * The permutation seen on a subset of axes, or undefined when it is not one: when where a
 * position goes on `axes` depends on its coordinates on the other axes.
 */
export function project(p: AxisPerm, axes: number[]): AxisPerm | undefined {
  const keep = axes.filter((a) => p.axes.includes(a));
  const pos = keep.map((a) => p.axes.indexOf(a));
  const sizes = pos.map((i) => p.sizes[i]!);
  const st = strides(p.sizes);
  const kst = strides(sizes);
  const order = new Int32Array(numelOf(sizes)).fill(-1);
  for (let y = 0; y < p.order.length; y++) {
    const x = p.order[y]!;
    let ys = 0;
    let xs = 0;
    for (let k = 0; k < pos.length; k++) {
      ys += (Math.floor(y / st[pos[k]!]!) % p.sizes[pos[k]!]!) * kst[k]!;
      xs += (Math.floor(x / st[pos[k]!]!) % p.sizes[pos[k]!]!) * kst[k]!;
    }
    if (order[ys] === -1) order[ys] = xs;
    else if (order[ys] !== xs) return undefined;
  }
  return { axes: keep, sizes, order };
}

/** Drops the axes a permutation leaves alone (so that it stays small); undefined if identity. */
export function simplify(p: AxisPerm): AxisPerm | undefined {
  let cur = p;
  for (const a of [...p.axes]) {
    const rest = cur.axes.filter((x) => x !== a);
    const pr = project(cur, rest);
    if (!pr) continue;
    // Droppable only if the axis itself never moves.
    const onA = project(cur, [a]);
    if (onA && isIdentity(onA) && numelOf(pr.sizes) * onA.sizes[0]! === cur.order.length) {
      const back = lift(pr, cur.axes, cur.sizes);
      if (back.order.every((v, i) => v === cur.order[i])) cur = pr;
    }
  }
  return isIdentity(cur) ? undefined : cur;
}

/** Whether two permutations (either may be identity) act the same on a tensor. */
export function samePerm(a: AxisPerm | undefined, b: AxisPerm | undefined): boolean {
  if (isIdentity(a) || isIdentity(b)) return isIdentity(a) && isIdentity(b);
  const axes = [...new Set([...a!.axes, ...b!.axes])].sort((x, y) => x - y);
  const sizes = axes.map((ax) => (a!.axes.includes(ax) ? a!.sizes[a!.axes.indexOf(ax)]! : b!.sizes[b!.axes.indexOf(ax)]!));
  const la = lift(a!, axes, sizes);
  const lb = lift(b!, axes, sizes);
  return la.order.every((v, i) => v === lb.order[i]);
}

/**
 * One permutation over the union of the given ones' axes whose projection onto each is that
 * one; throws PermConflict when they disagree on a shared axis.
 */
export function join(perms: AxisPerm[], sizeOf: (axis: number) => number): AxisPerm | undefined {
  const live = perms.filter((p) => !isIdentity(p));
  if (!live.length) return undefined;
  const axes = [...new Set(live.flatMap((p) => p.axes))].sort((a, b) => a - b);
  const sizes = axes.map(sizeOf);
  const n = numelOf(sizes);
  const st = strides(sizes);
  // Per position and axis, where it goes. A permutation that leaves the coordinate as it is
  // only proposes (weak); one that moves it decides (strong), and two deciding must agree.
  const target = new Int32Array(axes.length * n).fill(-1);
  const strong = new Uint8Array(axes.length * n);
  for (const p of live) {
    const pos = p.axes.map((a) => axes.indexOf(a));
    const pst = strides(p.sizes);
    for (let y = 0; y < n; y++) {
      let sub = 0;
      for (let k = 0; k < pos.length; k++) sub += (Math.floor(y / st[pos[k]!]!) % sizes[pos[k]!]!) * pst[k]!;
      const old = p.order[sub]!;
      for (let k = 0; k < pos.length; k++) {
        const c = Math.floor(old / pst[k]!) % p.sizes[k]!;
        const own = Math.floor(y / st[pos[k]!]!) % sizes[pos[k]!]!;
        const slot = pos[k]! * n + y;
        if (c === own) {
          if (target[slot] === -1) target[slot] = c;
        } else if (!strong[slot]) {
          target[slot] = c;
          strong[slot] = 1;
        } else if (target[slot] !== c) throw new PermConflict('permutations disagree on a shared axis');
      }
    }
  }
  const order = new Int32Array(n);
  const seen = new Uint8Array(n);
  for (let y = 0; y < n; y++) {
    let x = 0;
    for (let k = 0; k < axes.length; k++) {
      const c = target[k * n + y]!;
      x += (c === -1 ? Math.floor(y / st[k]!) % sizes[k]! : c) * st[k]!;
    }
    if (seen[x]) throw new PermConflict('permutations do not combine into one');
    seen[x] = 1;
    order[y] = x;
  }
  return { axes, sizes, order };
}

/** Re-labels a permutation's axes (axis a → map(a)); the result's axes must stay ascending. */
export function relabel(p: AxisPerm, map: (axis: number) => number): AxisPerm {
  const pairs = p.axes.map((a, i) => ({ a: map(a), i })).sort((x, y) => x.a - y.a);
  if (pairs.every((x, k) => x.i === k)) return { axes: pairs.map((x) => x.a), sizes: p.sizes, order: p.order };
  // Axis order changes (a transpose): rebuild the flat indices in the new axis order.
  const sizes = pairs.map((x) => p.sizes[x.i]!);
  const oldSt = strides(p.sizes);
  const newSt = strides(sizes);
  const n = p.order.length;
  const remap = (flat: number, from: number[], to: number[]) => {
    let r = 0;
    pairs.forEach((x, k) => (r += (Math.floor(flat / from[x.i]!) % p.sizes[x.i]!) * to[k]!));
    return r;
  };
  const order = new Int32Array(n);
  for (let y = 0; y < n; y++) order[remap(y, oldSt, newSt)] = remap(p.order[y]!, oldSt, newSt);
  return { axes: pairs.map((x) => x.a), sizes, order };
}

/** Applies a permutation to a dense row-major array of shape `dims` (any element type). */
export function applyPerm<T extends { length: number; [i: number]: unknown }>(data: T, dims: readonly number[], p: AxisPerm): T {
  const full = lift(p, dims.map((_, i) => i), [...dims]);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let y = 0; y < full.order.length; y++) (out as Record<number, unknown>)[y] = data[full.order[y]!];
  return out;
}
