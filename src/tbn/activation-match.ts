// Which activation an elementwise subgraph computes, whatever way the exporter wrote it: GELU
// as Div/Erf/Add/Mul/Mul (PyTorch), Mul(0.5)·(1 + Erf(x·0.7071)) (tf2onnx) or Gelu (opset 20);
// SiLU as Mul(x, Sigmoid(x)); HardSwish as HardSwish or x·HardSigmoid(x); Relu6 as Clip or
// Min(Max(x, 0), 6); and so on. The subgraph (one input x, scalar constants, one result) is
// evaluated on sample points in float64 and compared with each activation the ai.tbn epilogue
// has; a match within 1e-5 (relative) on every point, from −10⁴ to 10⁴, identifies it — or
// within the rounding of the model's type for float16/bfloat16 models, whose constants (1/√2,
// 0.044715, …) are stored rounded; then the closest activation is taken.

import type { Node } from '../ir/types.js';
import { getAttr } from '../ir/attrs.js';
import { ACTIVATIONS } from './format.js';
import { isDefaultDomain } from '../ir/graph.js';

export interface MatchedActivation {
  code: number;
  alpha: number;
  beta: number;
}

/** erf to ~1e-15 (Numerical Recipes' erfc Chebyshev fit), for the evaluator and the candidates. */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 2 / (2 + z);
  const ty = 4 * t - 2;
  const cof = [-1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2, -9.561514786808631e-3, -9.46595344482036e-4, 3.66839497852761e-4,
    4.2523324806907e-5, -2.0278578112534e-5, -1.624290004647e-6, 1.30365583558e-6, 1.5626441722e-8, -8.5238095915e-8, 6.529054439e-9, 5.059343495e-9,
    -9.91364156e-10, -2.27365122e-10, 9.6467911e-11, 2.394038e-12, -6.886027e-12, 8.94487e-13, 3.13092e-13, -1.12708e-13, 3.81e-16, 7.106e-15,
    -1.523e-15, -9.4e-17, 1.21e-16, -2.8e-17];
  let d = 0;
  let dd = 0;
  for (let j = cof.length - 1; j > 0; j--) {
    const tmp = d;
    d = ty * d - dd + cof[j]!;
    dd = tmp;
  }
  const erfc = t * Math.exp(-z * z + 0.5 * (cof[0]! + ty * d) - dd);
  return x >= 0 ? 1 - erfc : erfc - 1;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** Reference value of activation `code` (ACTIVATIONS) at v. */
export function activationValue(code: number, v: number, alpha: number, beta: number): number {
  switch (ACTIVATIONS[code]) {
    case 'Relu': return Math.max(v, 0);
    case 'LeakyRelu': return v < 0 ? alpha * v : v;
    case 'Clip': return clamp(v, alpha, beta);
    case 'HardSwish': return v * clamp(v / 6 + 0.5, 0, 1);
    case 'Sigmoid': return sigmoid(v);
    case 'SiLU': return v * sigmoid(v);
    case 'Gelu': return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'GeluTanh': return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    default: return v;
  }
}

type Unary = (v: number) => number;
type Binary = (a: number, b: number) => number;

const UNARY: Record<string, (n: Node) => Unary> = {
  Identity: () => (v) => v,
  Neg: () => (v) => -v,
  Abs: () => (v) => Math.abs(v),
  Exp: () => (v) => Math.exp(v),
  Sqrt: () => (v) => Math.sqrt(v),
  Reciprocal: () => (v) => 1 / v,
  Erf: () => erf,
  Tanh: () => Math.tanh,
  Sigmoid: () => sigmoid,
  Relu: () => (v) => Math.max(v, 0),
  Softplus: () => (v) => Math.log1p(Math.exp(v)),
  LeakyRelu: (n) => {
    const a = getAttr(n, 'alpha')?.f ?? 0.01;
    return (v) => (v < 0 ? a * v : v);
  },
  HardSigmoid: (n) => {
    const a = getAttr(n, 'alpha')?.f ?? 0.2;
    const b = getAttr(n, 'beta')?.f ?? 0.5;
    return (v) => clamp(a * v + b, 0, 1);
  },
  HardSwish: () => (v) => v * clamp(v / 6 + 0.5, 0, 1),
  Gelu: (n) => {
    const tanh = new TextDecoder().decode(getAttr(n, 'approximate')?.s ?? new Uint8Array()) === 'tanh';
    return (v) => activationValue(tanh ? 8 : 7, v, 0, 0);
  },
};

const BINARY: Record<string, Binary> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Pow: (a, b) => a ** b,
  Max: (a, b) => Math.max(a, b),
  Min: (a, b) => Math.min(a, b),
};

/** Whether a node can be part of an activation subgraph (its other inputs being scalars). */
export function isElementwise(n: Node): boolean {
  return isDefaultDomain(n.domain) && (n.opType in UNARY || n.opType in BINARY || n.opType === 'Clip');
}

/**
 * Evaluates nodes (in order) on the points xs fed to value `x`; `scalar(name)` gives a constant
 * scalar input's value (undefined: not a constant). Returns each value's samples, or undefined
 * when a node reads something that is neither.
 */
export function evaluate(nodes: Node[], x: string, xs: number[], scalar: (name: string) => number | undefined): Map<string, number[]> | undefined {
  const vals = new Map<string, number[]>([[x, xs]]);
  const read = (name: string): number[] | undefined => {
    const v = vals.get(name);
    if (v) return v;
    const s = scalar(name);
    return s === undefined ? undefined : xs.map(() => s);
  };
  for (const n of nodes) {
    const out = n.outputs[0];
    if (!out || n.outputs.filter(Boolean).length !== 1) return undefined;
    if (n.opType === 'Clip') {
      const a = read(n.inputs[0] ?? '');
      const b = clipBounds(n, scalar);
      if (!a || !b) return undefined;
      vals.set(out, a.map((v) => clamp(v, b[0], b[1])));
    } else if (n.opType in UNARY) {
      const a = read(n.inputs[0] ?? '');
      if (!a || n.inputs.length !== 1) return undefined;
      const f = UNARY[n.opType]!(n);
      vals.set(out, a.map(f));
    } else if (n.opType in BINARY) {
      const [a, b] = [read(n.inputs[0] ?? ''), read(n.inputs[1] ?? '')];
      if (!a || !b || n.inputs.length !== 2) return undefined;
      const f = BINARY[n.opType]!;
      vals.set(out, a.map((v, i) => f(v, b[i]!)));
    } else return undefined;
  }
  return vals;
}

const POINTS = (() => {
  const xs: number[] = [0, 1e-3, -1e-3, 1e-2, -1e-2, 20, -20, 50, -50, 1e4, -1e4];
  for (let i = -200; i <= 200; i++) xs.push(i / 20);
  return xs;
})();

/** Largest relative difference of f from `ref` over the points (NaN where both are NaN: none). */
function deviation(f: Float64Array | number[], ref: (v: number) => number): number {
  let worst = 0;
  POINTS.forEach((v, i) => {
    const [a, b] = [f[i]!, ref(v)];
    if (Number.isNaN(a) && Number.isNaN(b)) return;
    const d = Math.abs(a - b) / (1 + Math.abs(b));
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  });
  return worst;
}

function clipBounds(n: Node, scalar: (name: string) => number | undefined): [number, number] | undefined {
  const lo = n.inputs[1] ? scalar(n.inputs[1]) : (getAttr(n, 'min')?.f ?? -Infinity);
  const hi = n.inputs[2] ? scalar(n.inputs[2]) : (getAttr(n, 'max')?.f ?? Infinity);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

/** The activation computed by `nodes` from x to `result`, or undefined. */
export function matchActivation(nodes: Node[], x: string, result: string, scalar: (name: string) => number | undefined, tolerance = 1e-5): MatchedActivation | undefined {
  const vals = evaluate(nodes, x, POINTS, scalar);
  const f = vals?.get(result);
  if (!f) return undefined;
  const at = (v: number) => f[POINTS.indexOf(v)]!;
  if (nodes.length === 1 && nodes[0]!.opType === 'Clip') {
    const [lo, hi] = clipBounds(nodes[0]!, scalar)!;
    if (lo === -Infinity && hi === Infinity) return { code: 0, alpha: 0, beta: 0 };
    if (lo === 0 && hi === Infinity) return { code: ACTIVATIONS.indexOf('Relu'), alpha: 0, beta: 0 };
    if (lo <= hi) return { code: ACTIVATIONS.indexOf('Clip'), alpha: Math.fround(lo), beta: Math.fround(hi) };
    return undefined;
  }
  const error = (code: number, alpha = 0, beta = 0) => deviation(f, (v) => activationValue(code, v, alpha, beta));
  const fits = (code: number, alpha = 0, beta = 0) => error(code, alpha, beta) <= tolerance;
  const code = (name: (typeof ACTIVATIONS)[number]) => ACTIVATIONS.indexOf(name);
  if (fits(0)) return { code: 0, alpha: 0, beta: 0 };
  const named = (['Relu', 'HardSwish', 'Sigmoid', 'SiLU', 'Gelu', 'GeluTanh'] as const).map((name) => ({ c: code(name), e: error(code(name)) }));
  const best = named.filter((x) => x.e <= tolerance).sort((a, b) => a.e - b.e)[0];
  if (best) return { code: best.c, alpha: 0, beta: 0 };
  const slope = -at(-1);
  if (slope !== 0 && Number.isFinite(slope) && fits(code('LeakyRelu'), slope)) return { code: code('LeakyRelu'), alpha: Math.fround(slope), beta: 0 };
  // A value that still moves at ±10⁴ has no bound there.
  const lo = at(-1e4) === -1e4 ? -Infinity : at(-1e4);
  const hi = at(1e4) === 1e4 ? Infinity : at(1e4);
  if (lo < hi && fits(code('Clip'), lo, hi)) return { code: code('Clip'), alpha: Math.fround(lo), beta: Math.fround(hi) };
  return undefined;
}
