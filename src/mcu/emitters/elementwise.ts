// Elementwise ops. Unary: Relu, LeakyRelu, Clip, Sigmoid, Tanh, Erf, Gelu (exact), Exp,
// Sqrt, Neg, Abs, Reciprocal — one kernel each, all in place. Binary with numpy broadcasting:
// Add, Sub, Mul, Div, Max, Min (two inputs); the broadcast is collapsed at export time to at
// most 4 dims of strides (stride 0 repeats), and the output may reuse a non-broadcast input.

import { cStruct, f32 } from '../c-text.js';
import { attrsOf, constValues, isConst, numel, tensorOf, type LGraph, type LNode } from '../graph.js';
import type { OpEmitter } from './types.js';

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function unary(kernel: string, extra?: (n: LNode, g: LGraph) => string[], check?: (n: LNode, g: LGraph) => string | undefined): OpEmitter {
  return {
    check: (n, g) => check?.(n, g),
    inPlace: () => [0],
    emit(n, cx) {
      const x = tensorOf(cx.g, n.inputs[0]!);
      const args = [cx.ptr(n.inputs[0]!), cx.ptr(n.outputs[0]!), String(numel(x.shape)), ...(extra?.(n, cx.g) ?? [])];
      return { code: [`${kernel}(${args.join(', ')});`], kernel };
    },
  };
}

/** Clip bounds: attributes before opset 11, optional constant inputs from 11 on. */
function clipBounds(n: LNode, g: LGraph): [number, number] | string {
  if (g.opset < 11) return [attrsOf(n).float('min', -3.4028234663852886e38), attrsOf(n).float('max', 3.4028234663852886e38)];
  const bound = (i: number, def: number) => {
    const name = n.inputs[i];
    if (!name) return def;
    if (!isConst(g, name)) return undefined;
    return constValues(g, name)[0]!;
  };
  const lo = bound(1, -3.4028234663852886e38);
  const hi = bound(2, 3.4028234663852886e38);
  if (lo === undefined || hi === undefined) return 'min and max must be constants';
  return [lo, hi];
}

export const UNARY_EMITTERS = {
  Relu: unary('tbn_relu'),
  LeakyRelu: unary('tbn_leaky_relu', (n) => [f32(attrsOf(n).float('alpha', 0.01))]),
  Clip: unary(
    'tbn_clip',
    (n, g) => (clipBounds(n, g) as [number, number]).map(f32),
    (n, g) => {
      const b = clipBounds(n, g);
      return typeof b === 'string' ? b : undefined;
    },
  ),
  Sigmoid: unary('tbn_sigmoid'),
  Tanh: unary('tbn_tanh'),
  Erf: unary('tbn_erf'),
  Gelu: unary('tbn_gelu', undefined, (n) => (attrsOf(n).string('approximate', 'none') === 'none' ? undefined : 'only the exact (erf) Gelu is supported')),
  Exp: unary('tbn_exp'),
  Sqrt: unary('tbn_sqrt'),
  Neg: unary('tbn_neg'),
  Abs: unary('tbn_abs'),
  Reciprocal: unary('tbn_reciprocal'),
};

/** Strides of each operand broadcast to `out`, with runs of dims merged; undefined past 4 dims. */
export function broadcastPlan(out: number[], operands: number[][]): { shape: number[]; strides: number[][] } | undefined {
  const r = out.length;
  const strides = operands.map((s) => {
    const padded = [...new Array<number>(r - s.length).fill(1), ...s];
    const st = new Array<number>(r).fill(0);
    let acc = 1;
    for (let i = r - 1; i >= 0; i--) {
      st[i] = padded[i] === 1 && out[i] !== 1 ? 0 : acc;
      acc *= padded[i]!;
    }
    return st;
  });
  // Drop dims of size 1, then merge i into i+1 where every operand is contiguous across them.
  let shape = out.filter((d) => d !== 1);
  let st = strides.map((s) => s.filter((_, i) => out[i] !== 1));
  for (let i = shape.length - 2; i >= 0; i--) {
    if (st.every((s) => s[i] === s[i + 1]! * shape[i + 1]!)) {
      shape = [...shape.slice(0, i), shape[i]! * shape[i + 1]!, ...shape.slice(i + 2)];
      st = st.map((s) => [...s.slice(0, i), s[i + 1]!, ...s.slice(i + 2)]);
    }
  }
  if (shape.length > 4) return undefined;
  const pad = 4 - shape.length;
  return { shape: [...new Array<number>(pad).fill(1), ...shape], strides: st.map((s) => [...new Array<number>(pad).fill(0), ...s]) };
}

function binary(op: string): OpEmitter {
  const plan = (n: LNode, g: LGraph) =>
    broadcastPlan(tensorOf(g, n.outputs[0]!).shape, [tensorOf(g, n.inputs[0]!).shape, tensorOf(g, n.inputs[1]!).shape]);
  return {
    check(n, g) {
      if (n.inputs.length !== 2) return `${n.inputs.length} inputs (the C export supports two)`;
      return plan(n, g) ? undefined : 'the broadcast needs more than 4 dims';
    },
    inPlace(n, g) {
      const y = tensorOf(g, n.outputs[0]!).shape;
      return [0, 1].filter((i) => sameShape(tensorOf(g, n.inputs[i]!).shape, y));
    },
    emit(n, cx) {
      const p = plan(n, cx.g)!;
      const bc = cx.define(n.name, 'tbn_broadcast', cStruct({ shape: `{ ${p.shape.join(', ')} }`, a_stride: `{ ${p.strides[0]!.join(', ')} }`, b_stride: `{ ${p.strides[1]!.join(', ')} }` }));
      return { code: [`tbn_binary(${op}, &${bc}, ${cx.ptr(n.inputs[0]!)}, ${cx.ptr(n.inputs[1]!)}, ${cx.ptr(n.outputs[0]!)});`], kernel: 'tbn_binary' };
    },
  };
}

export const BINARY_EMITTERS = {
  Add: binary('TBN_ADD'),
  Sub: binary('TBN_SUB'),
  Mul: binary('TBN_MUL'),
  Div: binary('TBN_DIV'),
  Max: binary('TBN_MAX'),
  Min: binary('TBN_MIN'),
};
