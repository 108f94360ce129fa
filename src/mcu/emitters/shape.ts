// Shape and data-movement ops. Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout
// (inference) and float→float Cast are aliases: the output is the input's storage under
// another shape, so they cost nothing (the arena planner merges them; when it cannot, e.g. an
// output that is also an input, a copy is emitted). Transpose, Slice, Concat, Split and Expand
// become strided copies (tbn_copy) planned here; Gather reads a table row per index.

import { cStruct } from '../c-text.js';
import { attrsOf, constValues, isConst, normAxis, numel, tensorOf, type LGraph, type LNode } from '../graph.js';
import type { EmitCtx, OpEmitter } from './types.js';

const MAX_RANK = 6;

const contiguous = (s: number[]) => {
  const st = new Array<number>(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) st[i] = st[i + 1]! * s[i + 1]!;
  return st;
};

/** Drops size-1 dims and merges dims that are contiguous in both source and destination. */
export function collapseCopy(shape: number[], src: number[], dst: number[]) {
  let s = shape.filter((d) => d !== 1);
  let a = src.filter((_, i) => shape[i] !== 1);
  let b = dst.filter((_, i) => shape[i] !== 1);
  for (let i = s.length - 2; i >= 0; i--) {
    if (a[i] === a[i + 1]! * s[i + 1]! && b[i] === b[i + 1]! * s[i + 1]!) {
      s = [...s.slice(0, i), s[i]! * s[i + 1]!, ...s.slice(i + 2)];
      a = [...a.slice(0, i), a[i + 1]!, ...a.slice(i + 2)];
      b = [...b.slice(0, i), b[i + 1]!, ...b.slice(i + 2)];
    }
  }
  if (!s.length) return { shape: [1], src: [1], dst: [1] };
  return { shape: s, src: a, dst: b };
}

function copyCall(cx: EmitCtx, hint: string, shape: number[], src: number[], dst: number[], x: string, y: string): string {
  const c = collapseCopy(shape, src, dst);
  if (c.shape.length === 1 && c.src[0] === 1 && c.dst[0] === 1) return `tbn_copy_flat(${x}, ${y}, ${c.shape[0]});`;
  const pad = (v: number[]) => `{ ${[...v, ...new Array<number>(MAX_RANK - v.length).fill(0)].join(', ')} }`;
  const p = cx.define(hint, 'tbn_copy_params', cStruct({ rank: c.shape.length, shape: pad(c.shape), src_stride: pad(c.src), dst_stride: pad(c.dst) }));
  return `tbn_copy(&${p}, ${x}, ${y});`;
}

const rankOk = (s: number[]) => (collapseCopy(s, contiguous(s), contiguous(s)).shape.length <= MAX_RANK ? undefined : `more than ${MAX_RANK} dims`);

const offset = (ptr: string, off: number) => (off ? `${ptr} + ${off}` : ptr);

const alias: OpEmitter = {
  check(n, g) {
    if (n.op === 'Dropout' && n.outputs[1]) return 'the mask output is not supported';
    if (n.op === 'Cast' && tensorOf(g, n.outputs[0]!).dtype !== tensorOf(g, n.inputs[0]!).dtype) return 'only float → float casts run in the C export';
    return undefined;
  },
  alias: true,
  emit(n, cx) {
    if (cx.storage(n.inputs[0]!) === cx.storage(n.outputs[0]!)) return { code: [], kernel: '' };
    // The planner could not share storage (a constant output, or an input that is also an output's view).
    const count = numel(tensorOf(cx.g, n.outputs[0]!).shape);
    return { code: [`tbn_copy_flat(${cx.ptr(n.inputs[0]!)}, ${cx.ptr(n.outputs[0]!)}, ${count});`], kernel: 'tbn_copy_flat' };
  },
};

const transpose: OpEmitter = {
  check: (n, g) => rankOk(tensorOf(g, n.inputs[0]!).shape),
  emit(n, cx) {
    const xs = tensorOf(cx.g, n.inputs[0]!).shape;
    const perm = attrsOf(n).ints('perm') ?? xs.map((_, i) => xs.length - 1 - i);
    const inStride = contiguous(xs);
    const out = perm.map((p) => xs[p]!);
    const code = copyCall(cx, n.name, out, perm.map((p) => inStride[p]!), contiguous(out), cx.ptr(n.inputs[0]!), cx.ptr(n.outputs[0]!));
    return { code: [code], kernel: code.startsWith('tbn_copy(') ? 'tbn_copy' : 'tbn_copy_flat' };
  },
};

const concat: OpEmitter = {
  check: (n, g) => rankOk(tensorOf(g, n.outputs[0]!).shape),
  emit(n, cx) {
    const ys = tensorOf(cx.g, n.outputs[0]!).shape;
    const axis = normAxis(attrsOf(n).int('axis', 0), ys.length);
    const dst = contiguous(ys);
    let at = 0;
    const code = n.inputs.map((name, j) => {
      const s = tensorOf(cx.g, name).shape;
      const line = copyCall(cx, `${n.name}_${j}`, s, contiguous(s), dst, cx.ptr(name), offset(cx.ptr(n.outputs[0]!), at * dst[axis]!));
      at += s[axis]!;
      return line;
    });
    return { code, kernel: 'tbn_copy' };
  },
};

const split: OpEmitter = {
  check: (n, g) => rankOk(tensorOf(g, n.inputs[0]!).shape),
  emit(n, cx) {
    const xs = tensorOf(cx.g, n.inputs[0]!).shape;
    const axis = normAxis(attrsOf(n).int('axis', 0), xs.length);
    const src = contiguous(xs);
    let at = 0;
    const code: string[] = [];
    n.outputs.forEach((name, j) => {
      const s = tensorOf(cx.g, name).shape;
      code.push(copyCall(cx, `${n.name}_${j}`, s, src, contiguous(s), offset(cx.ptr(n.inputs[0]!), at * src[axis]!), cx.ptr(name)));
      at += s[axis]!;
    });
    return { code, kernel: 'tbn_copy' };
  },
};

/** Offset and per-axis source strides of a Slice (starts/ends/axes/steps as inputs, or attributes before opset 10). */
function slicePlan(n: LNode, g: LGraph): { off: number; src: number[] } | string {
  const xs = tensorOf(g, n.inputs[0]!).shape;
  const read = (i: number, attr: string) => {
    if (g.opset < 10) return attrsOf(n).ints(attr);
    const name = n.inputs[i];
    if (!name) return undefined;
    return isConst(g, name) ? constValues(g, name) : null;
  };
  const starts = read(1, 'starts');
  const axes = read(3, 'axes');
  const steps = read(4, 'steps');
  if (starts === null || axes === null || steps === null || !starts) return 'starts, axes and steps must be constants';
  const inStride = contiguous(xs);
  const src = [...inStride];
  let off = 0;
  starts.forEach((st, i) => {
    const a = normAxis(axes?.[i] ?? i, xs.length);
    const step = steps?.[i] ?? 1;
    const dim = xs[a]!;
    let s = st < 0 ? st + dim : st;
    s = step > 0 ? Math.min(Math.max(s, 0), dim) : Math.min(Math.max(s, 0), dim - 1);
    off += s * inStride[a]!;
    src[a] = step * inStride[a]!;
  });
  return { off, src };
}

const slice: OpEmitter = {
  check(n, g) {
    const p = slicePlan(n, g);
    return typeof p === 'string' ? p : rankOk(tensorOf(g, n.inputs[0]!).shape);
  },
  emit(n, cx) {
    const p = slicePlan(n, cx.g) as { off: number; src: number[] };
    const ys = tensorOf(cx.g, n.outputs[0]!).shape;
    const code = copyCall(cx, n.name, ys, p.src, contiguous(ys), offset(cx.ptr(n.inputs[0]!), p.off), cx.ptr(n.outputs[0]!));
    return { code: [code], kernel: 'tbn_copy' };
  },
};

const expand: OpEmitter = {
  check: (n, g) => rankOk(tensorOf(g, n.outputs[0]!).shape),
  emit(n, cx) {
    const ys = tensorOf(cx.g, n.outputs[0]!).shape;
    const xs = tensorOf(cx.g, n.inputs[0]!).shape;
    const padded = [...new Array<number>(ys.length - xs.length).fill(1), ...xs];
    const st = contiguous(padded).map((s, i) => (padded[i] === 1 ? 0 : s));
    const code = copyCall(cx, n.name, ys, st, contiguous(ys), cx.ptr(n.inputs[0]!), cx.ptr(n.outputs[0]!));
    return { code: [code], kernel: 'tbn_copy' };
  },
};

const gather: OpEmitter = {
  check(n, g) {
    const idx = tensorOf(g, n.inputs[1]!);
    if (!['int64', 'int32'].includes(idx.dtype)) return `indices are ${idx.dtype}`;
    if (!isConst(g, n.inputs[1]!) && !g.inputs.includes(n.inputs[1]!)) return 'run-time indices must be a graph input';
    return undefined;
  },
  emit(n, cx) {
    const data = tensorOf(cx.g, n.inputs[0]!).shape;
    const idx = tensorOf(cx.g, n.inputs[1]!);
    const axis = normAxis(attrsOf(n).int('axis', 0), data.length);
    const dims = `${numel(data.slice(0, axis))}, ${data[axis]}, ${numel(data.slice(axis + 1))}`;
    const count = numel(idx.shape);
    let ix = cx.ptr(n.inputs[1]!);
    let kernel = idx.dtype === 'int64' ? 'tbn_gather_i64' : 'tbn_gather_i32';
    if (idx.data) {
      ix = cx.constArray(`${n.inputs[1]}`, 'int32_t', Int32Array.from(constValues(cx.g, n.inputs[1]!)), `indices of ${n.name}`);
      kernel = 'tbn_gather_i32';
    }
    return { code: [`${kernel}(${cx.ptr(n.inputs[0]!)}, ${ix}, ${count}, ${cx.ptr(n.outputs[0]!)}, ${dims});`], kernel };
  },
};

export const SHAPE_EMITTERS = {
  Reshape: alias,
  Flatten: alias,
  Squeeze: alias,
  Unsqueeze: alias,
  Identity: alias,
  Dropout: alias,
  Cast: alias,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Expand: expand,
  Gather: gather,
};
