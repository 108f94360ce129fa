// Where positions go through the ops that move data without computing on it: selections
// (Gather, Slice, Split, Concat — a static index map between a whole and a part), reshapes
// (the same row-major order under another shape) and the Transposes between a constant and
// the layer that reads it. Plain functions over AxisPerm; perm-flow.ts decides when to apply them.

import { lift, relabel, simplify, type AxisPerm } from './perm-algebra.js';
import type { WeightSource } from './layers.js';

export interface Selection {
  whole: string;
  part: string;
  axis: number;
  /** whole-axis index of each part position along `axis`; null: data-dependent (a table lookup). */
  index: number[] | null;
  /** A scalar Gather index: the axis is dropped from the part. */
  drop?: boolean;
  /** Slice: per sliced axis, its index list. */
  multi?: Map<number, number[]>;
  indexRank?: number;
  wholeIsConstant?: boolean;
}

export function norm(a: number, rank: number): number {
  return a < 0 ? a + rank : a;
}

/** whole-axis coordinate lists per part axis (identity where not selected). */
function axisMaps(m: Selection): { partAxisOf: (wAxis: number) => number; index: (wAxis: number) => number[] | undefined } {
  if (m.index === null) {
    // Table lookup: part = whole[:axis] ++ indices ++ whole[axis+1:]; the looked-up axis is fixed.
    const r = m.indexRank!;
    return { partAxisOf: (a) => (a < m.axis ? a : a === m.axis ? -2 : a - 1 + r), index: () => undefined };
  }
  if (m.multi) return { partAxisOf: (a) => a, index: (a) => m.multi!.get(a) };
  return {
    partAxisOf: (a) => (m.drop ? (a < m.axis ? a : a === m.axis ? -1 : a - 1) : a),
    index: (a) => (a === m.axis ? m.index! : undefined),
  };
}

/** The part's permutation written on the whole (identity on what is not selected); undefined if impossible. */
export function embed(p: AxisPerm, m: Selection, sw: number[], _sp: number[]): AxisPerm | undefined {
  const { partAxisOf, index } = axisMaps(m);
  const wholeAxes = sw.map((_, a) => a);
  const toWhole = new Map<number, number>();
  wholeAxes.forEach((a) => {
    const pa = partAxisOf(a);
    if (pa >= 0) toWhole.set(pa, a);
  });
  if (p.axes.some((a) => !toWhole.has(a))) return undefined;
  const moved = p.axes.map((a) => toWhole.get(a)!);
  // Axes of the whole involved: the moved ones, plus a dropped (scalar-gather) axis.
  const axes = [...new Set([...moved, ...(m.drop ? [m.axis] : [])])].sort((a, b) => a - b);
  const sizes = axes.map((a) => sw[a]!);
  const n = sizes.reduce((a, b) => a * b, 1);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const flatW = (c: number[]) => c.reduce((acc, v, k) => acc * sizes[k]! + v, 0);
  const pSt = p.sizes.map((_, k) => p.sizes.slice(k + 1).reduce((a, b) => a * b, 1));
  for (let y = 0; y < p.order.length; y++) {
    const from = (flat: number) => {
      const c = new Array<number>(axes.length).fill(-1);
      p.axes.forEach((pa, k) => {
        const wa = toWhole.get(pa)!;
        const coord = Math.floor(flat / pSt[k]!) % p.sizes[k]!;
        const idx = index(wa);
        c[axes.indexOf(wa)] = idx ? idx[coord]! : coord;
      });
      if (m.drop) c[axes.indexOf(m.axis)] = m.index![0]!;
      return c;
    };
    order[flatW(from(y))] = flatW(from(p.order[y]!));
  }
  return { axes, sizes, order };
}

/** The whole's permutation on the part, null if it moves a selected position outside the part. */
export function restrict(p: AxisPerm, m: Selection, _sw: number[], sp: number[]): AxisPerm | undefined | null {
  const { partAxisOf, index } = axisMaps(m);
  if (p.axes.some((a) => partAxisOf(a) === -2)) return null;
  const partAxes: number[] = [];
  const partSizes: number[] = [];
  p.axes.forEach((a) => {
    const pa = partAxisOf(a);
    if (pa >= 0) {
      partAxes.push(pa);
      partSizes.push(sp[pa]!);
    }
  });
  const st = p.sizes.map((_, k) => p.sizes.slice(k + 1).reduce((a, b) => a * b, 1));
  const pst = partSizes.map((_, k) => partSizes.slice(k + 1).reduce((a, b) => a * b, 1));
  const n = partSizes.reduce((a, b) => a * b, 1);
  const order = new Int32Array(n);
  // For each part position, its whole position, where the permutation takes it, and back.
  const inverse = p.axes.map((a) => {
    const idx = index(a);
    if (!idx && !(m.drop && a === m.axis)) return undefined;
    const inv = new Map<number, number>();
    (idx ?? m.index!).forEach((w, i) => inv.set(w, i));
    return inv;
  });
  for (let y = 0; y < n; y++) {
    let wflat = 0;
    let k2 = 0;
    p.axes.forEach((a, k) => {
      const pa = partAxisOf(a);
      let coord: number;
      if (pa >= 0) {
        const c = Math.floor(y / pst[k2]!) % partSizes[k2]!;
        k2++;
        const idx = index(a);
        coord = idx ? idx[c]! : c;
      } else coord = m.index![0]!;
      wflat += coord * st[k]!;
    });
    const wsrc = p.order[wflat]!;
    let src = 0;
    k2 = 0;
    for (let k = 0; k < p.axes.length; k++) {
      const coord = Math.floor(wsrc / st[k]!) % p.sizes[k]!;
      const inv = inverse[k];
      let c = coord;
      if (inv) {
        if (!inv.has(coord)) return null;
        c = inv.get(coord)!;
      }
      if (partAxisOf(p.axes[k]!) < 0) {
        if (c !== 0) return null;
        continue;
      }
      src += c * pst[k2]!;
      k2++;
    }
    order[y] = src;
  }
  return partAxes.length ? simplify({ axes: partAxes, sizes: partSizes, order }) : undefined;
}

const prefixProducts = (s: number[]) => s.map((_, a) => s.slice(0, a).reduce((x, y) => x * y, 1)).concat([s.reduce((x, y) => x * y, 1)]);

/** The contiguous run of axes of `from` that carryFlat moves (the permutation's axes widened to boundaries of `to`). */
export function spanOf(p: AxisPerm, from: number[], to: number[]): number[] {
  const pf = prefixProducts(from);
  const pt = prefixProducts(to);
  let lo = p.axes[0]!;
  let hi = p.axes[p.axes.length - 1]! + 1;
  while (lo > 0 && !pt.includes(pf[lo]!)) lo--;
  while (hi < from.length && !pt.includes(pf[hi]!)) hi++;
  return Array.from({ length: hi - lo }, (_, i) => lo + i);
}

/** A permutation over some axes of shape `from`, re-expressed on shape `to` with the same row-major order. */
export function carryFlat(p: AxisPerm, from: number[], to: number[]): AxisPerm | undefined {
  const span = spanOf(p, from, to);
  const pf = prefixProducts(from);
  const pt = prefixProducts(to);
  const lo = span[0]!;
  const hi = span[span.length - 1]! + 1;
  if (!pt.includes(pf[lo]!) || !pt.includes(pf[hi]!)) return undefined;
  // The matching run of `to`, skipping size-1 axes at its start.
  let lo2 = pt.indexOf(pf[lo]!);
  while (lo2 < to.length && to[lo2] === 1 && pt[lo2 + 1] === pf[lo]) lo2++;
  const hi2 = pt.indexOf(pf[hi]!, lo2);
  if (hi2 <= lo2) return undefined;
  const full = lift(p, span, span.map((a) => from[a]!));
  const toAxes = Array.from({ length: hi2 - lo2 }, (_, i) => lo2 + i);
  return simplify({ axes: toAxes, sizes: toAxes.map((a) => to[a]!), order: full.order });
}

/** A constant's edit (stored axes) seen on the value the layer reads (after the chain's Transposes). */
export function toConsumedAxes(e: AxisPerm, c: WeightSource): AxisPerm {
  let p = e;
  for (const step of c.chain) {
    if (step.op !== 'Transpose') continue;
    const rank = c.tensor.dims.length;
    const perm = step.perm ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    p = relabel(p, (a) => perm.indexOf(a));
  }
  return p;
}

export function toStoredAxes(p: AxisPerm, c: WeightSource): AxisPerm {
  let q = p;
  for (const step of [...c.chain].reverse()) {
    if (step.op !== 'Transpose') continue;
    const rank = c.tensor.dims.length;
    const perm = step.perm ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    q = relabel(q, (a) => perm[a]!);
  }
  return q;
}
