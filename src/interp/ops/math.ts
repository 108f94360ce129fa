// Matrix products, reductions and softmax-like ops. Reductions take their axes from an
// attribute or, from opset 13 (ReduceSum) / 18 (the rest), from an optional input, with
// noop_with_empty_axes. Softmax and LogSoftmax before opset 13 flatten to 2-D at `axis`.

import * as E from '../../engine/index.js';
import { intsOf } from '../host.js';
import { need, type Kernel, type OpDef, type OpTable } from '../registry.js';
import type { Attrs } from '../../ir/attrs.js';

type Reducer = (x: E.Tensor, axes: number[] | undefined, keep: boolean) => E.Tensor;

const REDUCERS: Record<string, Reducer> = {
  ReduceSum: E.sum,
  ReduceMean: E.mean,
  ReduceMax: E.max,
  ReduceMin: E.min,
  ReduceProd: E.prod,
  ReduceSumSquare: (x, ax, k) => E.sum(E.mul(x, x), ax, k),
  ReduceL1: (x, ax, k) => E.sum(E.abs(x), ax, k),
  ReduceL2: (x, ax, k) => E.sqrt(E.sum(E.mul(x, x), ax, k)),
  ReduceLogSum: (x, ax, k) => E.log(E.sum(x, ax, k)),
  ReduceLogSumExp: (x, ax, k) => {
    // Shifted by the (constant) max for stability: log Σ e^(x−m) + m.
    const m = E.noGrad(() => E.max(x, ax, true));
    const s = E.add(E.log(E.sum(E.exp(E.sub(x, m)), ax, true)), m);
    if (k) return s;
    const drop = ax?.length ? ax.map((i) => (i < 0 ? i + x.rank : i)) : x.shape.map((_, i) => i);
    return E.reshape(s, x.shape.filter((_, i) => !drop.includes(i)));
  },
};

function reduceOp(name: string): OpDef {
  const f = REDUCERS[name]!;
  const inputSince = name === 'ReduceSum' ? 13 : 18;
  return {
    make: (a, _n, opset) => {
      const keep = a.int('keepdims', 1) !== 0;
      const noop = a.int('noop_with_empty_axes', 0) !== 0;
      const attrAxes = a.ints('axes');
      return ([x, axesIn]) => {
        const t = need(x, 'data');
        const axes = opset >= inputSince ? (axesIn ? intsOf(axesIn) : undefined) : attrAxes;
        if (!axes?.length && noop) return [E.identity(t)];
        return [f(t, axes?.length ? axes : undefined, keep)];
      };
    },
  };
}

/** Applies f along `axis`; before opset 13 the input is first flattened to 2-D at `axis`. */
function alongAxis(f: (t: E.Tensor, axis: number) => E.Tensor, opset: number, axis: number, t: E.Tensor): E.Tensor {
  if (opset >= 13) return f(t, axis);
  const ax = axis < 0 ? axis + t.rank : axis;
  const rows = t.shape.slice(0, ax).reduce((p, q) => p * q, 1);
  return E.reshape(f(E.reshape(t, [rows, t.size / Math.max(rows, 1)]), 1), t.shape);
}

function softmaxOp(log: boolean): OpDef {
  return {
    make: (a, _n, opset) => {
      const axis = a.int('axis', opset < 13 ? 1 : -1);
      return ([x]) => [alongAxis(log ? E.logSoftmax : E.softmax, opset, axis, need(x, 'input'))];
    },
  };
}

/** One-hot of the (first) maximum along `axis`. */
function hardmax(t: E.Tensor, axis: number): E.Tensor {
  const ax = axis < 0 ? axis + t.rank : axis;
  const n = t.shape[ax]!;
  const classes = E.tensor(Array.from({ length: n }, (_, i) => i), t.shape.map((d, i) => (i === ax ? d : 1)), 'int64');
  return E.where(E.equal(E.argMax(t, ax, true), classes), E.full([], 1), E.full([], 0));
}

function argOp(op: 'max' | 'min'): OpDef {
  return {
    make: (a) => {
      const axis = a.int('axis', 0);
      const keep = a.int('keepdims', 1) !== 0;
      const last = a.int('select_last_index', 0) !== 0;
      return ([x]) => [(op === 'max' ? E.argMax : E.argMin)(need(x, 'data'), axis, keep, last)];
    },
  };
}

const gemm = (a: Attrs): Kernel => {
  const opts = { alpha: a.float('alpha', 1), beta: a.float('beta', 1), transA: a.int('transA', 0) !== 0, transB: a.int('transB', 0) !== 0 };
  return ([x, w, c]) => [E.gemm(need(x, 'A'), need(w, 'B'), c, opts)];
};

export const MATH_OPS: OpTable = {
  MatMul: { make: () => ([x, w]) => [E.matmul(need(x, 'A'), need(w, 'B'))] },
  Gemm: { make: gemm },
  Softmax: softmaxOp(false),
  LogSoftmax: softmaxOp(true),
  Hardmax: {
    make: (a, _n, opset) => {
      const axis = a.int('axis', opset < 13 ? 1 : -1);
      return ([x]) => [alongAxis(hardmax, opset, axis, need(x, 'input'))];
    },
  },
  ArgMax: argOp('max'),
  ArgMin: argOp('min'),
  ...Object.fromEntries(Object.keys(REDUCERS).map((k) => [k, reduceOp(k)])),
};
