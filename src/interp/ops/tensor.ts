// Ops that make tensors or change their element type: Constant (every value_* form tbn can
// compute on), ConstantOfShape, Shape (start/end), Size, Range, Cast/CastLike, EyeLike, Trilu.
// Cast to float16 rounds through half precision, so later float32 arithmetic sees the same
// values onnxruntime would.

import * as E from '../../engine/index.js';
import { dtypeFromCode, floatToHalf, halfToFloat, type ElementType } from '../../ir/dtype.js';
import { engineType, fromIr, intsOf } from '../host.js';
import { fail, need, type OpDef, type OpTable } from '../registry.js';
import type { Attrs } from '../../ir/attrs.js';

const CONSTANT_FORMS = ['value', 'value_float', 'value_floats', 'value_int', 'value_ints'];

function constantValue(a: Attrs): E.Tensor {
  const t = a.tensor('value');
  if (t) return fromIr(t, 'Constant value');
  const f = a.float('value_float');
  if (f !== undefined) return E.scalar(f);
  const fs = a.floats('value_floats');
  if (fs) return E.tensor(fs, [fs.length]);
  const i = a.int('value_int');
  if (i !== undefined) return E.scalar(i, 'int64');
  const is = a.ints('value_ints');
  if (is) return E.tensor(is, [is.length], 'int64');
  return fail('Constant without a value');
}

const constant: OpDef = {
  check: (a) => {
    const t = a.tensor('value');
    if (t && !engineType(t.dtype)) return `value of type ${t.dtype}`;
    return CONSTANT_FORMS.some((k) => a.has(k)) ? undefined : `value form ${a.names().join(', ')}`;
  },
  make: (a) => () => [constantValue(a)],
};

const CAST_TARGETS = new Set<ElementType>(['float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool']);

export function castTo(x: E.Tensor, to: ElementType): E.Tensor {
  const et = engineType(to) ?? fail(`Cast to ${to}`);
  const y = E.cast(x, et);
  if (to !== 'float16') return y;
  const h = Float32Array.from(y.toArray(), (v) => halfToFloat(floatToHalf(v)));
  return E.tensor(h, y.shape);
}

const cast: OpDef = {
  check: (a) => {
    const to = dtypeFromCode(a.int('to', 0));
    return to && CAST_TARGETS.has(to) ? undefined : `to=${to ?? a.int('to')}`;
  },
  make: (a) => {
    const to = dtypeFromCode(a.int('to', 0))!;
    return ([x]) => [castTo(need(x, 'input'), to)];
  },
};

const shape: OpDef = {
  shapeOnly: true,
  make: (a) => ([x]) => {
    const dims = need(x, 'data').shape;
    const r = dims.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const d = dims.slice(clamp(a.int('start', 0)), clamp(a.int('end', r)));
    return [E.tensor(d, [d.length], 'int64')];
  },
};

const range: OpDef = {
  since: 11,
  make: () => ([s, l, d]) => {
    const [start, limit, delta] = [need(s, 'start'), need(l, 'limit'), need(d, 'delta')].map((t) => t.item()) as [number, number, number];
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    return [E.tensor(Array.from({ length: n }, (_, i) => start + i * delta), [n], need(s, 'start').dtype)];
  },
};

const constantOfShape: OpDef = {
  since: 9,
  check: (a) => {
    const t = a.tensor('value');
    return t && !engineType(t.dtype) ? `value of type ${t.dtype}` : undefined;
  },
  make: (a) => {
    const t = a.tensor('value');
    return ([s]) => {
      const dims = intsOf(need(s, 'input'));
      if (!t) return [E.zeros(dims)];
      const v = fromIr(t, 'ConstantOfShape value');
      const out = E.full(dims, v.item(), v.dtype);
      v.dispose();
      return [out];
    };
  },
};

function eye(rows: number, cols: number, k: number, upper: boolean | undefined, dtype: E.DType): E.Tensor {
  const m = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const keep = upper === undefined ? j - i === k : upper ? j - i >= k : j - i <= k;
      m[i * cols + j] = keep ? 1 : 0;
    }
  }
  return E.tensor(m, [rows, cols], dtype);
}

export const TENSOR_OPS: OpTable = {
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Shape: shape,
  Size: { shapeOnly: true, make: () => ([x]) => [E.scalar(need(x, 'data').size, 'int64')] },
  Range: range,
  Cast: cast,
  CastLike: { since: 15, make: () => ([x, like]) => [E.cast(need(x, 'input'), need(like, 'target_type').dtype)] },
  EyeLike: {
    since: 9,
    make: (a) => ([x]) => {
      const t = need(x, 'input');
      const to = a.int('dtype');
      const dtype = to !== undefined ? (engineType(dtypeFromCode(to) ?? 'string') ?? fail(`dtype ${to}`)) : t.dtype;
      return [eye(t.shape[0]!, t.shape[1]!, a.int('k', 0), undefined, dtype)];
    },
  },
  Trilu: {
    since: 14,
    make: (a) => ([x, k]) => {
      const t = need(x, 'input');
      const [rows, cols] = t.shape.slice(-2) as [number, number];
      const mask = E.cast(eye(rows, cols, k ? k.item() : 0, a.int('upper', 1) !== 0, 'int64'), 'bool');
      return [E.where(mask, t, E.full([], 0, t.dtype))];
    },
  },
};
