// Shape arithmetic shared by the ops: strides, axis normalisation, NumPy broadcasting.
// Pure functions over number arrays; errors name the shapes involved.

import type { Broadcast } from './backend.js';

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Axis in [-rank, rank) → [0, rank). */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) throw new Error(`${what} ${axis} out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

export function normAxes(axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => normAxis(a, rank));
  if (new Set(out).size !== out.length) throw new Error(`repeated axis in [${axes}]`);
  return out;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy-style broadcast of several shapes. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else throw new Error(`shapes ${shapes.map((x) => `[${x}]`).join(' and ')} do not broadcast`);
    }
  }
  return out;
}

/** Strides of `shape` read as `out` (0 on broadcast axes). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const lead = out.length - shape.length;
  return out.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : own[i - lead]!));
}

/** The Broadcast descriptor kernels take for inputs of `shapes`. */
export function broadcastOf(...shapes: (readonly number[])[]): Broadcast {
  const shape = broadcastShapes(...shapes);
  return { shape, strides: shapes.map((s) => broadcastStrides(s, shape)) };
}

/** Splits `shape` around `axis` into [outer, size, inner]. */
export function splitAt(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return [outer, shape[axis] ?? 1, inner];
}
