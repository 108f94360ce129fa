// Quantization ops: QuantizeLinear, DequantizeLinear (per tensor and per axis),
// DynamicQuantizeLinear, ConvInteger and MatMulInteger. Integer values are held in float32
// engine tensors (exact: every 8/16-bit code is), so that gradients can pass: rounding has zero
// gradient, and QuantizeLinear/DynamicQuantizeLinear pass it straight through instead (the
// straight-through estimator, clipped: codes that saturate pass none). Without gradients the
// codes are exactly onnxruntime's (round half to even, saturate to the zero point's type).

import * as E from '../../engine/index.js';
import { dtypeFromCode, type ElementType } from '../../ir/dtype.js';
import type { Attrs } from '../../ir/attrs.js';
import { autoPadProblem } from '../../ir/conv-geometry.js';
import { fail, need, type OpDef, type OpTable } from '../registry.js';
import { NN_OPS } from './nn.js';

const RANGES: Partial<Record<ElementType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  uint4: [0, 15],
  int4: [-8, 7],
  int32: [-2147483648, 2147483647],
};

/** Per-axis parameters reshaped to broadcast along `axis` of a rank-`rank` tensor. */
function alongAxis(p: E.Tensor, rank: number, axis: number): E.Tensor {
  if (p.size === 1) return E.reshape(p, []);
  const shape = new Array<number>(rank).fill(1);
  shape[axis < 0 ? axis + rank : axis] = p.size;
  return E.reshape(p, shape);
}

const asFloat = (t: E.Tensor) => E.cast(t, 'float32');

/**
 * Codes saturate(round(x / scale) + zp), onnxruntime's order of operations, with the gradient of
 * x / scale + zp passed where the code did not saturate. Forward values are the exact codes.
 */
function quantize(scaled: E.Tensor, zp: E.Tensor, lo: number, hi: number): E.Tensor {
  const codes = E.noGrad(() => E.clip(E.add(E.round(scaled), zp), lo, hi));
  if (!E.isGradEnabled() || !scaled.requiresGrad) return codes;
  const v = E.add(scaled, zp);
  const inRange = E.noGrad(() => E.cast(E.logicalAnd(E.greaterEqual(v, E.scalar(lo - 0.5)), E.lessEqual(v, E.scalar(hi + 0.5))), 'float32'));
  const passed = E.mul(v, inRange);
  return E.add(passed, E.noGrad(() => E.sub(codes, passed)));
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function zeroPointType(a: Attrs, zpType: ElementType | undefined): ElementType {
  const t = zpType ?? dtypeFromCode(a.int('output_dtype', 0)) ?? 'uint8';
  return RANGES[t] ? t : fail(`QuantizeLinear to ${t}`);
}

const quantizeLinear: OpDef = {
  since: 10,
  check: (a, node) => (a.int('block_size', 0) ? 'block_size' : undefined) ?? (node.inputs.length > 3 ? 'too many inputs' : undefined),
  make: (a, node, _opset, typeOf) => {
    const [lo, hi] = RANGES[zeroPointType(a, node.inputs[2] ? typeOf?.(node.inputs[2]) : undefined)]!;
    const axis = a.int('axis', 1);
    return ([x, s, z]) => {
      const t = asFloat(need(x, 'x'));
      const scale = alongAxis(need(s, 'y_scale'), t.rank, axis);
      const zp = z ? alongAxis(asFloat(z), t.rank, axis) : E.scalar(0);
      return [quantize(E.div(t, scale), zp, lo, hi)];
    };
  },
};

const dequantizeLinear: OpDef = {
  since: 10,
  check: (a) => (a.int('block_size', 0) ? 'block_size' : undefined),
  make: (a) => {
    const axis = a.int('axis', 1);
    return ([x, s, z]) => {
      const t = asFloat(need(x, 'x'));
      const scale = alongAxis(need(s, 'x_scale'), t.rank, axis);
      const centred = z ? E.sub(t, alongAxis(asFloat(z), t.rank, axis)) : t;
      return [E.mul(centred, scale)];
    };
  },
};

/**
 * y_scale = (max(x, 0) − min(x, 0)) / 255 (1 when x is all zeros), y_zero_point =
 * round(0 − min / y_scale), y = codes; in float32, as onnxruntime computes them.
 */
const dynamicQuantizeLinear: OpDef = {
  since: 11,
  make: () => ([x]) => {
    const t = asFloat(need(x, 'x'));
    const values = t.toArray() as Float32Array;
    let lo = 0;
    let hi = 0;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const s = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);
    const z = roundHalfEven(Math.min(255, Math.max(0, Math.fround(0 - Math.fround(lo / s)))));
    const scale = E.scalar(s);
    const zp = E.scalar(z);
    return [quantize(E.div(t, scale), zp, 0, 255), scale, zp];
  },
};

/** (x − x_zp) and (w − w_zp) as floats: the integer ops' products, exact below 2^24. */
function centred(x: E.Tensor, zp: E.Tensor | undefined, rank: number, axis: number): E.Tensor {
  const t = asFloat(x);
  return zp ? E.sub(t, alongAxis(asFloat(zp), rank, axis)) : t;
}

const convInteger: OpDef = {
  since: 10,
  check: autoPadProblem,
  make: (a, node, opset) => {
    const conv = NN_OPS.Conv!.make(a, node, opset);
    return ([x, w, xz, wz], rt) => {
      const wt = need(w, 'w');
      return conv([centred(need(x, 'x'), xz, 1, 0), centred(wt, wz, wt.rank, 0)], rt);
    };
  },
};

const matMulInteger: OpDef = {
  since: 10,
  make: () => ([a, b, az, bz]) => {
    const at = need(a, 'A');
    const bt = need(b, 'B');
    // a_zero_point: per tensor or per row of A; b_zero_point: per tensor or per column of B.
    return [E.matmul(centred(at, az, at.rank, -2), centred(bt, bz, bt.rank, -1))];
  },
};

export const QUANTIZE_OPS: OpTable = {
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  DynamicQuantizeLinear: dynamicQuantizeLinear,
  ConvInteger: convInteger,
  MatMulInteger: matMulInteger,
};
