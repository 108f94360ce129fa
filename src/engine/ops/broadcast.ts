// Broadcasting in one place: expand() (a differentiable broadcast to a shape) and sumToShape(),
// the rule every broadcasting op's backward uses to fold a gradient back onto its input's shape
// (sum over the leading axes broadcasting added, and over axes that were 1).

import { record } from '../autograd.js';
import { broadcastShapes, broadcastStrides, contiguousStrides, sameShape } from '../shape.js';
import { empty, type Tensor } from '../tensor.js';

/** Sum of `g` down to `shape` (which must broadcast to g's shape). Always a new handle. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g.alias();
  const lead = g.rank - shape.length;
  if (lead < 0) throw new Error(`sumToShape: [${g.shape}] has fewer axes than [${shape}]`);
  // Reduce each maximal run of axes to sum, one kernel call per run.
  let cur = g.alias();
  let curShape = [...g.shape];
  const reduceAxes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) reduceAxes.push(i);
  for (let r = reduceAxes.length - 1; r >= 0; ) {
    let start = reduceAxes[r]!;
    const end = start;
    while (r > 0 && reduceAxes[r - 1] === start - 1) start = reduceAxes[--r]!;
    r--;
    let outer = 1;
    let size = 1;
    let inner = 1;
    curShape.forEach((d, i) => (i < start ? (outer *= d) : i <= end ? (size *= d) : (inner *= d)));
    const next = empty([outer * inner], g.dtype, g.backend);
    g.backend.reduce('sum', cur.buf, next.buf, outer, size, inner);
    cur.dispose();
    cur = next;
    curShape = [...curShape.slice(0, start), 1, ...curShape.slice(end + 1)];
  }
  const out = cur.alias(shape);
  cur.dispose();
  return out;
}

/** x broadcast to `shape` (NumPy rules; `shape` may also broadcast against x, as ONNX Expand). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const target = broadcastShapes(x.shape, shape);
  if (sameShape(target, x.shape)) return identity(x);
  const out = empty(target, x.dtype, x.backend);
  x.backend.copy(x.buf, { offset: 0, strides: broadcastStrides(x.shape, target) }, out.buf, { offset: 0, strides: contiguousStrides(target) }, target);
  const xs = x.shape;
  return record(out, 'expand', [x], [], (g) => [sumToShape(g, xs)]);
}

/** A new handle on x's storage that passes gradients through. */
export function identity(x: Tensor): Tensor {
  return record(x.alias(), 'identity', [x], [], (g) => [g.alias()]);
}
