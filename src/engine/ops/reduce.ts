// Reductions over any set of axes (sum, mean, max, min, prod) and arg-max/min. Axes are merged
// into contiguous runs and each run is one [outer, size, inner] kernel call. Backward rules
// broadcast the gradient back; max/min share it among tied elements.

import { record } from '../autograd.js';
import type { ReduceOp } from '../backend.js';
import { normAxes, normAxis, splitAt } from '../shape.js';
import { tidy } from '../scope.js';
import { empty, full, type Tensor } from '../tensor.js';
import { expand } from './broadcast.js';
import { affine, binaryRaw, div, mul, where } from './elementwise.js';
import { reshape } from './shape-ops.js';

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Raw reduction (no graph). `axes` normalised; result has keepdims shape. */
function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[]): Tensor {
  const sorted = [...axes].sort((p, q) => p - q);
  let cur = x.alias();
  let shape = [...x.shape];
  for (let r = sorted.length - 1; r >= 0; ) {
    const end = sorted[r]!;
    let start = end;
    while (r > 0 && sorted[r - 1] === start - 1) start = sorted[--r]!;
    r--;
    let outer = 1;
    let size = 1;
    let inner = 1;
    shape.forEach((d, i) => (i < start ? (outer *= d) : i <= end ? (size *= d) : (inner *= d)));
    const next = empty([outer * inner], x.dtype, x.backend);
    if (size === 0 && (op === 'max' || op === 'min')) throw new Error(`reduce ${op} over an empty axis`);
    x.backend.reduce(op, cur.buf, next.buf, outer, size, inner);
    cur.dispose();
    cur = next;
    shape = [...shape.slice(0, start), ...new Array<number>(end - start + 1).fill(1), ...shape.slice(end + 1)];
  }
  const out = cur.alias(keptShape(x.shape, axes));
  cur.dispose();
  return out;
}

function finish(y: Tensor, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  if (keepDims) return y;
  const out = reshape(y, x.shape.filter((_, i) => !axes.includes(i)));
  y.dispose();
  return out;
}

/** Normalised axes; undefined or empty means all axes. */
function axesOf(x: Tensor, axes?: readonly number[]): number[] {
  return axes && axes.length ? normAxes(axes, x.rank) : x.shape.map((_, i) => i);
}

export function sum(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  const ax = axesOf(x, axes);
  const xs = x.shape;
  const y = record(reduceRaw('sum', x, ax), 'sum', [x], [], (g) => [expand(g, xs)]);
  return finish(y, x, ax, keepDims);
}

export function mean(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  const ax = axesOf(x, axes);
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  return tidy(() => affine(sum(x, ax, keepDims), 1 / count, 0));
}

/** max/min; the gradient is split evenly among the elements equal to the extreme. */
export function max(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  return extreme('max', x, axes, keepDims);
}

export function min(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  return extreme('min', x, axes, keepDims);
}

function extreme(op: 'max' | 'min', x: Tensor, axes: readonly number[] | undefined, keepDims: boolean): Tensor {
  const ax = axesOf(x, axes);
  const y = reduceRaw(op, x, ax);
  record(y, op, [x], [x, y], (g, [sx, sy]) => {
    const hit = binaryRaw('equal', sx!, sy!, undefined, 'bool');
    const mask = where(hit, full([], 1), full([], 0));
    const count = reduceRaw('sum', mask, ax);
    return [mul(mask, div(g, count))];
  });
  return finish(y, x, ax, keepDims);
}

/** Product; d/dx_i = Π / x_i (undefined where x_i = 0, as in most frameworks' simple rule). */
export function prod(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  const ax = axesOf(x, axes);
  const y = reduceRaw('prod', x, ax);
  record(y, 'prod', [x], [x, y], (g, [sx, sy]) => [div(mul(g, sy!), sx!)]);
  return finish(y, x, ax, keepDims);
}

/** Index (int64) of the max/min along `axis`. */
export function argMax(x: Tensor, axis: number, keepDims = true, selectLast = false): Tensor {
  return argReduce('max', x, axis, keepDims, selectLast);
}

export function argMin(x: Tensor, axis: number, keepDims = true, selectLast = false): Tensor {
  return argReduce('min', x, axis, keepDims, selectLast);
}

function argReduce(op: 'max' | 'min', x: Tensor, axis: number, keepDims: boolean, selectLast: boolean): Tensor {
  const a = normAxis(axis, x.rank);
  const [outer, size, inner] = splitAt(x.shape, a);
  const shape = keepDims ? keptShape(x.shape, [a]) : x.shape.filter((_, i) => i !== a);
  const out = empty(shape, 'int64', x.backend);
  x.backend.argReduce(op, x.buf, out.buf, outer, size, inner, selectLast);
  return out;
}
