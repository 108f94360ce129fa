// Element-wise ONNX ops: activations, arithmetic with broadcasting, comparisons and logic,
// the variadic Max/Min/Sum/Mean, Where, Clip (attributes before opset 11, inputs after),
// PRelu and Dropout (inference: the identity, with an all-true mask).

import * as E from '../../engine/index.js';
import { intsOf } from '../host.js';
import { fail, need, type Kernel, type OpTable } from '../registry.js';

const un = (f: (x: E.Tensor) => E.Tensor): OpTable[string] => ({ make: () => ([x]) => [f(need(x, 'X'))] });
const bin = (f: (a: E.Tensor, b: E.Tensor) => E.Tensor): OpTable[string] => ({ make: () => ([a, b]) => [f(need(a, 'A'), need(b, 'B'))] });
const floatOnly = (f: (x: E.Tensor) => E.Tensor) => (x: E.Tensor) => (x.dtype === 'float32' ? f(x) : fail(`${x.dtype} input where float is required`));

function variadic(f: (a: E.Tensor, b: E.Tensor) => E.Tensor, mean = false): OpTable[string] {
  return {
    make: () => (xs) => {
      const ts = xs.filter((t): t is E.Tensor => !!t);
      if (!ts.length) fail('no inputs');
      let acc = E.identity(ts[0]!);
      for (const t of ts.slice(1)) acc = f(acc, t);
      return [mean ? E.affine(acc, 1 / ts.length, 0) : acc];
    },
  };
}

/** Pow allows an exponent of another type; it is converted to the base's type. */
const pow: Kernel = ([a, b]) => {
  const base = need(a, 'X');
  const e = need(b, 'Y');
  const exp = e.dtype === base.dtype ? e : E.cast(e, base.dtype);
  if (exp.size === 1 && base.dtype === 'float32') {
    const v = exp.item();
    if (v === 2 || v === 0.5 || v === 3 || v === 1) return [v === 0.5 ? E.sqrt(base) : E.powScalar(base, v)];
  }
  return [E.pow(base, exp)];
};

function clip(opset: number, lo?: number, hi?: number): Kernel {
  return ([x, min, max]) => {
    const t = need(x, 'input');
    const a = opset < 11 ? lo : min ? min.item() : undefined;
    const b = opset < 11 ? hi : max ? max.item() : undefined;
    if (t.dtype !== 'float32') {
      let y = E.identity(t);
      if (a !== undefined) y = E.maximum(y, E.full([], a, t.dtype));
      if (b !== undefined) y = E.minimum(y, E.full([], b, t.dtype));
      return [y];
    }
    return [E.clip(t, a ?? -Infinity, b ?? Infinity)];
  };
}

export const ELEMENTWISE_OPS: OpTable = {
  Identity: un(E.identity),
  Neg: un(E.neg),
  Abs: un(E.abs),
  Exp: un(floatOnly(E.exp)),
  Log: un(floatOnly(E.log)),
  Sqrt: un(floatOnly(E.sqrt)),
  Reciprocal: un(floatOnly(E.reciprocal)),
  Relu: un(E.relu),
  Sigmoid: un(floatOnly(E.sigmoid)),
  Tanh: un(floatOnly(E.tanh)),
  Erf: un(floatOnly(E.erf)),
  Sin: un(floatOnly(E.sin)),
  Cos: un(floatOnly(E.cos)),
  Softplus: un(floatOnly(E.softplus)),
  Tan: un(floatOnly(E.tan)),
  ...Object.fromEntries(
    (['Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh'] as const).map((op) => [op, { since: op.endsWith('h') ? 9 : 7, ...un(floatOnly((x) => E.trig(op.toLowerCase() as Parameters<typeof E.trig>[0], x))) }]),
  ),
  Shrink: {
    since: 9,
    make: (a) => {
      const lambd = a.float('lambd', 0.5);
      const bias = a.float('bias', 0);
      return ([x]) => {
        const t = need(x, 'input');
        const c = (v: number) => E.full([], v, t.dtype);
        return [E.where(E.less(t, c(-lambd)), E.add(t, c(bias)), E.where(E.greater(t, c(lambd)), E.sub(t, c(bias)), c(0)))];
      };
    },
  },
  Softsign: un(floatOnly(E.softsign)),
  Floor: un(E.floor),
  Ceil: un(E.ceil),
  Round: { since: 11, ...un(E.round) },
  Sign: { since: 9, ...un(E.sign) },
  Not: un(E.logicalNot),
  IsNaN: { since: 9, ...un(E.isNaN) },
  IsInf: { since: 10, make: (a) => ([x]) => [E.isInf(need(x, 'X'), a.int('detect_positive', 1) !== 0, a.int('detect_negative', 1) !== 0)] },
  HardSwish: { since: 14, ...un(E.hardSwish) },
  Mish: { since: 18, ...un((x) => E.mul(x, E.tanh(E.softplus(x)))) },
  LeakyRelu: { make: (a) => ([x]) => [E.leakyRelu(need(x, 'X'), a.float('alpha', 0.01))] },
  Elu: { make: (a) => ([x]) => [E.elu(need(x, 'X'), a.float('alpha', 1))] },
  Selu: { make: (a) => ([x]) => [E.selu(need(x, 'X'), a.float('alpha', 1.67326319217681884765625), a.float('gamma', 1.05070102214813232421875))] },
  Celu: {
    since: 12,
    make: (a) => {
      const alpha = a.float('alpha', 1);
      return ([x]) => [E.affine(E.elu(E.affine(need(x, 'X'), 1 / alpha, 0), 1), alpha, 0)];
    },
  },
  HardSigmoid: { make: (a) => ([x]) => [E.hardSigmoid(need(x, 'X'), a.float('alpha', 0.2), a.float('beta', 0.5))] },
  ThresholdedRelu: {
    since: 10,
    make: (a) => {
      const alpha = a.float('alpha', 1);
      return ([x]) => {
        const t = need(x, 'X');
        return [E.where(E.greater(t, E.full([], alpha)), t, E.full([], 0))];
      };
    },
  },
  Gelu: {
    since: 20,
    check: (a) => (['none', 'tanh'].includes(a.string('approximate', 'none')) ? undefined : `approximate='${a.string('approximate')}'`),
    make: (a) => ([x]) => [E.gelu(need(x, 'X'), a.string('approximate', 'none') as 'none' | 'tanh')],
  },
  PRelu: {
    make: (_a, _n, opset) => ([x, s]) => {
      const t = need(x, 'X');
      let slope = need(s, 'slope');
      // Before opset 7 a 1-D slope of C values applies per channel (axis 1).
      if (opset < 7 && slope.rank === 1 && slope.size > 1 && t.rank > 2) slope = E.reshape(slope, [slope.size, ...new Array<number>(t.rank - 2).fill(1)]);
      return [E.where(E.less(t, E.full([], 0)), E.mul(t, slope), t)];
    },
  },
  Add: bin(E.add),
  Sub: bin(E.sub),
  Mul: bin(E.mul),
  Div: bin(E.div),
  Pow: { make: () => pow },
  Mod: { since: 10, make: (a) => ([x, y]) => [E.mod(need(x, 'A'), need(y, 'B'), a.int('fmod', 0) === 1)] },
  Equal: bin(E.equal),
  Less: bin(E.less),
  LessOrEqual: { since: 12, ...bin(E.lessEqual) },
  Greater: bin(E.greater),
  GreaterOrEqual: { since: 12, ...bin(E.greaterEqual) },
  And: bin(E.logicalAnd),
  Or: bin(E.logicalOr),
  Xor: bin(E.logicalXor),
  BitwiseAnd: { since: 18, ...bin((a, b) => E.bitwise('bitAnd', a, b)) },
  BitwiseOr: { since: 18, ...bin((a, b) => E.bitwise('bitOr', a, b)) },
  BitwiseXor: { since: 18, ...bin((a, b) => E.bitwise('bitXor', a, b)) },
  // Only RIGHT: a left shift of a narrow unsigned type wraps, and int64 storage cannot tell.
  BitShift: {
    since: 11,
    check: (a) => (a.string('direction', '') === 'RIGHT' ? undefined : `direction='${a.string('direction', '')}'`),
    ...bin((a, b) => E.bitwise('shiftRight', a, b)),
  },
  Max: variadic(E.maximum),
  Min: variadic(E.minimum),
  Sum: variadic(E.add),
  Mean: variadic(E.add, true),
  Where: { since: 9, make: () => ([c, x, y]) => [E.where(need(c, 'condition'), need(x, 'X'), need(y, 'Y'))] },
  Clip: { make: (a, _n, opset) => clip(opset, a.float('min'), a.float('max')) },
  Dropout: {
    make: () => ([x, ratio, training]) => {
      const t = need(x, 'data');
      if (training && intsOf(training)[0] && (!ratio || ratio.item() !== 0)) fail('Dropout in training mode (tbn runs dropout as inference only)');
      return [E.identity(t), E.full(t.shape, 1, 'bool')];
    },
  },
};
