// GatherND, ScatterElements/Scatter, ScatterND and Compress. Positions are computed on the
// host; values move through engine gathers and scatter-adds (E.scatterAdd, the adjoint of a
// flat gather), so data and updates both get gradients. Scatter reductions: none and add.

import * as E from '../../engine/index.js';
import type { Attrs } from '../../ir/attrs.js';
import { fail, need, type OpDef, type OpTable } from '../registry.js';
import { flatAlong } from './indexing.js';

const prod = (v: readonly number[]) => v.reduce((p, q) => p * q, 1);

/** Row numbers (into data viewed as [rows, slice]) addressed by the index tuples of `indices`. */
function tupleRows(dataShape: readonly number[], indices: E.Tensor, batchDims: number): { rows: Float64Array; slice: number } {
  const k = indices.shape.at(-1)!;
  const addressed = dataShape.slice(batchDims, batchDims + k);
  const perBatch = prod(addressed);
  const tuples = indices.size / Math.max(k, 1);
  const perBatchTuples = tuples / Math.max(1, prod(indices.shape.slice(0, batchDims)));
  const iv = indices.toArray();
  const rows = new Float64Array(tuples);
  for (let t = 0; t < tuples; t++) {
    let r = 0;
    for (let j = 0; j < k; j++) {
      const d = addressed[j]!;
      let v = iv[t * k + j]!;
      if (v < 0) v += d;
      if (!(v >= 0 && v < d)) fail(`index ${iv[t * k + j]} out of range for a dimension of ${d}`);
      r = r * d + v;
    }
    rows[t] = Math.floor(t / perBatchTuples) * perBatch + r;
  }
  return { rows, slice: prod(dataShape.slice(batchDims + k)) };
}

const gatherND: OpDef = {
  since: 11,
  make: (a) => ([x, i]) => {
    const data = need(x, 'data');
    const idx = need(i, 'indices');
    const b = a.int('batch_dims', 0);
    const { rows, slice } = tupleRows(data.shape, idx, b);
    const table = E.reshape(data, [data.size / Math.max(slice, 1), slice]);
    const outShape = [...idx.shape.slice(0, -1), ...data.shape.slice(b + idx.shape.at(-1)!)];
    return [E.reshape(E.gather(table, E.tensor(rows, [rows.length], 'int64'), 0), outShape)];
  },
};

/** data with `updates` written (or added) at flat positions `flat`. */
function scatterInto(data: E.Tensor, updates: E.Tensor, flat: Float64Array, add: boolean): E.Tensor {
  const isFloat = data.dtype === 'float32';
  const d = isFloat ? data : E.cast(data, 'float32');
  const u = updates.dtype === 'float32' ? updates : E.cast(updates, 'float32');
  const spread = E.scatterAdd(u, E.tensor(flat, updates.shape, 'int64'), data.shape);
  let y: E.Tensor;
  if (add) y = E.add(d, spread);
  else {
    const hit = new Uint8Array(data.size);
    flat.forEach((p) => (hit[p] = 1));
    y = E.where(E.tensor(hit, data.shape, 'bool'), spread, d);
  }
  return isFloat ? y : E.cast(E.round(y), data.dtype);
}

const reductionCheck = (a: Attrs) => (['none', 'add'].includes(a.string('reduction', 'none')) ? undefined : `reduction='${a.string('reduction')}'`);

function scatterElements(since: number): OpDef {
  return {
    since,
    check: reductionCheck,
    make: (a) => ([x, i, u]) => {
      const data = need(x, 'data');
      const idx = need(i, 'indices');
      const axis = a.int('axis', 0);
      const flat = flatAlong(data.shape, idx.toArray(), idx.shape, axis < 0 ? axis + data.rank : axis);
      return [scatterInto(data, need(u, 'updates'), flat, a.string('reduction', 'none') === 'add')];
    },
  };
}

const scatterND: OpDef = {
  since: 11,
  check: reductionCheck,
  make: (a) => ([x, i, u]) => {
    const data = need(x, 'data');
    const updates = need(u, 'updates');
    const { rows, slice } = tupleRows(data.shape, need(i, 'indices'), 0);
    const flat = new Float64Array(rows.length * slice);
    rows.forEach((r, t) => {
      for (let j = 0; j < slice; j++) flat[t * slice + j] = r * slice + j;
    });
    if (flat.length !== updates.size) fail(`updates of shape [${updates.shape}] for ${rows.length} slices of ${slice}`);
    return [scatterInto(data, updates, flat, a.string('reduction', 'none') === 'add')];
  },
};

const compress: OpDef = {
  since: 9,
  make: (a) => ([x, c]) => {
    const t = need(x, 'input');
    const cond = need(c, 'condition').toArray();
    const axis = a.int('axis');
    const src = axis === undefined ? E.reshape(t, [t.size]) : t;
    const ax = axis === undefined ? 0 : axis < 0 ? axis + t.rank : axis;
    const picks: number[] = [];
    for (let j = 0; j < Math.min(cond.length, src.shape[ax]!); j++) if (cond[j]) picks.push(j);
    return [E.gather(src, E.tensor(picks, [picks.length], 'int64'), ax)];
  },
};

export const SCATTER_OPS: OpTable = {
  GatherND: gatherND,
  ScatterElements: scatterElements(11),
  Scatter: scatterElements(9),
  ScatterND: scatterND,
  Compress: compress,
};
