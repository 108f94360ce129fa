// Ops that move data without arithmetic: reshape (a zero-copy alias), transpose, slice with
// steps, concat, pad (constant), gather, and the squeeze/unsqueeze/flatten/tile conveniences.
// Each backward is the adjoint move (transpose back, scatter into zeros, slice the pad away).

import { record } from '../autograd.js';
import { contiguousStrides, normAxis, sameShape, splitAt } from '../shape.js';
import { tidy } from '../scope.js';
import { empty, full, numel, zeros, type Tensor } from '../tensor.js';
import { expand, identity } from './broadcast.js';

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) !== x.size) throw new Error(`cannot reshape [${x.shape}] (${x.size} elements) to [${shape}]`);
  if (sameShape(shape, x.shape)) return identity(x);
  const xs = x.shape;
  return record(x.alias(shape), 'reshape', [x], [], (g) => [g.alias(xs)]);
}

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) throw new Error(`transpose: [${p}] is not a permutation of ${x.rank} axes`);
  const shape = p.map((a) => x.shape[a]!);
  const st = contiguousStrides(x.shape);
  const out = empty(shape, x.dtype, x.backend);
  x.backend.copy(x.buf, { offset: 0, strides: p.map((a) => st[a]!) }, out.buf, { offset: 0, strides: contiguousStrides(shape) }, shape);
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return record(out, 'transpose', [x], [], (g) => [transpose(g, inv)]);
}

/**
 * x[start : start + size·step : step] per axis; `starts` are in range, `steps` non-zero,
 * `sizes` ≥ 0 (the caller clamps ONNX's out-of-range bounds).
 */
export function slice(x: Tensor, starts: readonly number[], sizes: readonly number[], steps: readonly number[] = starts.map(() => 1)): Tensor {
  const st = contiguousStrides(x.shape);
  const view = { offset: starts.reduce((o, s, i) => o + s * st[i]!, 0), strides: steps.map((s, i) => s * st[i]!) };
  const out = empty(sizes, x.dtype, x.backend);
  if (out.size) x.backend.copy(x.buf, view, out.buf, { offset: 0, strides: contiguousStrides(sizes) }, sizes);
  const [xs, dt] = [x.shape, x.dtype];
  return record(out, 'slice', [x], [], (g) => {
    const gx = zeros(xs, dt);
    if (g.size) g.backend.copy(g.buf, { offset: 0, strides: contiguousStrides(sizes) }, gx.buf, view, sizes);
    return [gx];
  });
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (!xs.length) throw new Error('concat of no tensors');
  const a = normAxis(axis, xs[0]!.rank);
  const shape = [...xs[0]!.shape];
  shape[a] = 0;
  for (const t of xs) {
    if (t.rank !== shape.length || t.shape.some((d, i) => i !== a && d !== shape[i])) throw new Error(`concat on axis ${a}: shapes ${xs.map((u) => `[${u.shape}]`).join(', ')}`);
    if (t.dtype !== xs[0]!.dtype) throw new Error('concat of tensors of different types');
    shape[a] += t.shape[a]!;
  }
  const out = empty(shape, xs[0]!.dtype, xs[0]!.backend);
  const ost = contiguousStrides(shape);
  let at = 0;
  const offsets: number[] = [];
  for (const t of xs) {
    offsets.push(at);
    if (t.size) t.backend.copy(t.buf, { offset: 0, strides: contiguousStrides(t.shape) }, out.buf, { offset: at * ost[a]!, strides: ost }, t.shape);
    at += t.shape[a]!;
  }
  const parts = xs.map((t) => t.shape);
  return record(out, 'concat', xs, [], (g, _, needs) =>
    parts.map((ps, i) => (needs[i] ? slice(g, ps.map((_, j) => (j === a ? offsets[i]! : 0)), ps) : undefined)),
  );
}

/** Pieces of `sizes` along `axis`. */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const a = normAxis(axis, x.rank);
  if (sizes.reduce((p, q) => p + q, 0) !== x.shape[a]) throw new Error(`split of [${x.shape}] on axis ${a} into [${sizes}]`);
  let at = 0;
  return sizes.map((s) => {
    const starts = x.shape.map((_, i) => (i === a ? at : 0));
    at += s;
    return slice(x, starts, x.shape.map((d, i) => (i === a ? s : d)));
  });
}

/** Constant padding; negative pads crop. `pads` = [begin…, end…] per axis. */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  const r = x.rank;
  const shape = x.shape.map((d, i) => d + pads[i]! + pads[i + r]!);
  const out = full(shape, value, x.dtype);
  // The part of x that survives cropping, and where it lands in out.
  const src = x.shape.map((_, i) => Math.max(0, -pads[i]!));
  const dst = x.shape.map((_, i) => Math.max(0, pads[i]!));
  const size = x.shape.map((d, i) => Math.max(0, d - src[i]! - Math.max(0, -pads[i + r]!)));
  const xst = contiguousStrides(x.shape);
  const ost = contiguousStrides(shape);
  const sv = { offset: src.reduce((o, s, i) => o + s * xst[i]!, 0), strides: xst };
  const dv = { offset: dst.reduce((o, s, i) => o + s * ost[i]!, 0), strides: ost };
  if (numel(size)) x.backend.copy(x.buf, sv, out.buf, dv, size);
  const [xs, dt] = [x.shape, x.dtype];
  return record(out, 'pad', [x], [], (g) => {
    const gx = zeros(xs, dt);
    if (numel(size)) g.backend.copy(g.buf, dv, gx.buf, sv, size);
    return [gx];
  });
}

/** ONNX Gather: out = x taken at `indices` (int64, may be negative) along `axis`. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  if (indices.dtype !== 'int64') throw new Error(`gather indices are ${indices.dtype}, not int64`);
  const a = normAxis(axis, x.rank);
  const [outer, len, inner] = splitAt(x.shape, a);
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  const out = empty(shape, x.dtype, x.backend);
  x.backend.gather(x.buf, indices.buf, out.buf, outer, len, inner);
  const xs = x.shape;
  return record(out, 'gather', [x, undefined], [indices], (g, [idx]) => {
    const gx = zeros(xs);
    g.backend.gatherBackward(g.buf, idx!.buf, gx.buf, outer, len, inner);
    return [gx, undefined];
  });
}

/**
 * The adjoint of a flat gather: a zero tensor of `shape` with `values` added at the flat
 * positions `indices` (int64, same shape as values; repeats accumulate). Gradient: gather.
 */
export function scatterAdd(values: Tensor, indices: Tensor, shape: readonly number[]): Tensor {
  if (indices.dtype !== 'int64' || indices.size !== values.size) throw new Error(`scatterAdd: ${indices.size} ${indices.dtype} indices for ${values.size} values`);
  if (values.dtype !== 'float32') throw new Error(`scatterAdd of ${values.dtype}`);
  const out = zeros(shape);
  out.backend.gatherBackward(values.buf, indices.buf, out.buf, 1, out.size, 1);
  const vs = values.shape;
  return record(out, 'scatterAdd', [values, undefined], [indices], (g, [idx]) => [reshape(gather(reshape(g, [g.size]), idx!, 0), vs), undefined]);
}

export function squeeze(x: Tensor, axes?: readonly number[]): Tensor {
  const ax = axes ? axes.map((a) => normAxis(a, x.rank)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of ax) if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${a} of [${x.shape}] is not 1`);
  return reshape(x, x.shape.filter((_, i) => !ax.includes(i)));
}

export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const ax = axes.map((a) => normAxis(a, rank));
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[k++]!);
  return reshape(x, shape);
}

/** 2-D view [d0·…·d(axis−1), d(axis)·…]. */
export function flatten(x: Tensor, axis = 1): Tensor {
  const a = axis < 0 ? axis + x.rank : axis;
  const lead = x.shape.slice(0, a).reduce((p, q) => p * q, 1);
  return reshape(x, [lead, x.size / Math.max(lead, 1) || 0]);
}

/** ONNX Tile, as an expand of an interleaved view: [d] × r → [r, d] → [r·d] per axis. */
export function tile(x: Tensor, repeats: readonly number[]): Tensor {
  return tidy(() => {
    const inter = x.shape.flatMap((d) => [1, d]);
    const big = x.shape.flatMap((d, i) => [repeats[i]!, d]);
    return reshape(expand(reshape(x, inter), big), x.shape.map((d, i) => d * repeats[i]!));
  });
}
