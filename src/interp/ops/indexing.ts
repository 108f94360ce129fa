// Index-driven ops: GatherElements, TopK, OneHot, NonZero and CumSum. Indices are computed
// on the host (they are small next to the data); values then move through engine gathers or
// products, so gradients reach the data (GatherElements, TopK values, float CumSum).

import * as E from '../../engine/index.js';
import { contiguousStrides } from '../../engine/shape.js';
import { fail, need, type OpDef, type OpTable } from '../registry.js';


/** data[…, idx[…], …] along `axis` for every position of `idxShape`, as flat indices into data. */
export function flatAlong(dataShape: readonly number[], idx: ArrayLike<number>, idxShape: readonly number[], axis: number): Float64Array {
  const ds = contiguousStrides(dataShape);
  const is = contiguousStrides(idxShape);
  const out = new Float64Array(idx.length);
  const len = dataShape[axis]!;
  for (let p = 0; p < idx.length; p++) {
    let rem = p;
    let flat = 0;
    for (let d = 0; d < idxShape.length; d++) {
      const c = Math.floor(rem / is[d]!);
      rem -= c * is[d]!;
      let v = c;
      if (d === axis) {
        v = idx[p]! < 0 ? idx[p]! + len : idx[p]!;
        if (!(v >= 0 && v < len)) fail(`index ${idx[p]} out of range for an axis of ${len}`);
      }
      flat += v * ds[d]!;
    }
    out[p] = flat;
  }
  return out;
}

/** Differentiable take of `flat` positions of x, shaped `shape`. */
export function takeFlat(x: E.Tensor, flat: Float64Array, shape: readonly number[]): E.Tensor {
  return E.gather(E.reshape(x, [x.size]), E.tensor(flat, shape, 'int64'), 0);
}

const gatherElements: OpDef = {
  since: 11,
  make: (a) => ([x, i]) => {
    const data = need(x, 'data');
    const idx = need(i, 'indices');
    const axis = a.int('axis', 0);
    const ax = axis < 0 ? axis + data.rank : axis;
    return [takeFlat(data, flatAlong(data.shape, idx.toArray(), idx.shape, ax), idx.shape)];
  },
};

const topK: OpDef = {
  make: (a, _n, opset) => ([x, kIn]) => {
    const t = need(x, 'X');
    const k = opset >= 10 ? need(kIn, 'K').item() : (a.int('k') ?? fail('k is required'));
    const axis = a.int('axis', -1);
    const ax = axis < 0 ? axis + t.rank : axis;
    const largest = a.int('largest', 1) !== 0;
    const v = t.toArray();
    const n = t.shape[ax]!;
    if (k > n) fail(`K = ${k} exceeds the axis length ${n}`);
    const inner = t.shape.slice(ax + 1).reduce((p, q) => p * q, 1);
    const outer = t.size / Math.max(1, n * inner);
    const shape = t.shape.map((d, i) => (i === ax ? k : d));
    const idx = new Float64Array(outer * k * inner);
    const order = Array.from({ length: n }, (_, j) => j);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const at = (j: number) => v[(o * n + j) * inner + i]!;
        // Ties keep the lower index first, as the spec asks.
        order.sort((p, q) => (largest ? at(q) - at(p) : at(p) - at(q)) || p - q);
        for (let j = 0; j < k; j++) idx[(o * k + j) * inner + i] = order[j]!;
      }
    }
    return [takeFlat(t, flatAlong(t.shape, idx, shape, ax), shape), E.tensor(idx, shape, 'int64')];
  },
};

const oneHot: OpDef = {
  since: 9,
  make: (a) => ([i, d, vals]) => {
    const idx = need(i, 'indices');
    const depth = need(d, 'depth').item();
    const values = need(vals, 'values');
    const axis = a.int('axis', -1);
    const rank = idx.rank + 1;
    const ax = axis < 0 ? axis + rank : axis;
    const shape = [...idx.shape.slice(0, ax), depth, ...idx.shape.slice(ax)];
    const inner = idx.shape.slice(ax).reduce((p, q) => p * q, 1);
    const iv = idx.toArray();
    const hot = new Uint8Array(idx.size * depth);
    iv.forEach((raw, p) => {
      const c = Math.trunc(raw < 0 ? raw + depth : raw);
      if (c < 0 || c >= depth) return;
      const o = Math.floor(p / inner);
      hot[(o * depth + c) * inner + (p % inner)] = 1;
    });
    const [off, on] = E.split(E.reshape(values, [2]), [1, 1], 0);
    return [E.where(E.tensor(hot, shape, 'bool'), E.reshape(on!, []), E.reshape(off!, []))];
  },
};

const nonZero: OpDef = {
  since: 9,
  make: () => ([x]) => {
    const t = need(x, 'X');
    const v = t.toArray();
    const st = contiguousStrides(t.shape);
    const hits: number[] = [];
    v.forEach((e, p) => e !== 0 && hits.push(p));
    const out = new Float64Array(t.rank * hits.length);
    hits.forEach((p, j) => {
      let rem = p;
      st.forEach((s, d) => {
        out[d * hits.length + j] = Math.floor(rem / s);
        rem %= s;
      });
    });
    return [E.tensor(out, [t.rank, hits.length], 'int64')];
  },
};

/** Running sums along the last axis as a product with a triangular 0/1 matrix (differentiable). */
function cumsumLast(x: E.Tensor, exclusive: boolean, reverse: boolean): E.Tensor {
  const n = x.shape.at(-1)!;
  const tri = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const on = reverse ? (exclusive ? i > j : i >= j) : exclusive ? i < j : i <= j;
      tri[i * n + j] = on ? 1 : 0;
    }
  }
  return E.reshape(E.mm(E.reshape(x, [x.size / Math.max(n, 1), n]), E.tensor(tri, [n, n])), x.shape);
}

const cumSum: OpDef = {
  since: 11,
  make: (a) => ([x, ax]) => {
    const t = need(x, 'x');
    const axis = need(ax, 'axis').item();
    const a0 = axis < 0 ? axis + t.rank : axis;
    const exclusive = a.int('exclusive', 0) !== 0;
    const reverse = a.int('reverse', 0) !== 0;
    const perm = t.shape.map((_, i) => i);
    perm.splice(a0, 1);
    perm.push(a0);
    const inv = perm.map((_, i) => perm.indexOf(i));
    const moved = E.transpose(t, perm);
    const src = t.dtype === 'float32' ? moved : E.cast(moved, 'float32');
    const y = E.transpose(cumsumLast(src, exclusive, reverse), inv);
    return [t.dtype === 'float32' ? y : E.cast(y, t.dtype)];
  },
};

export const INDEXING_OPS: OpTable = {
  GatherElements: gatherElements,
  TopK: topK,
  OneHot: oneHot,
  NonZero: nonZero,
  CumSum: cumSum,
};
