// Shape and data-movement ops. Shape-like inputs (Reshape's shape, Slice's bounds, Split's
// sizes, axes, pads, repeats) are read on the host; they are small and, in exported graphs,
// usually folded constants. Opset differences (attributes that became inputs) follow the spec.

import * as E from '../../engine/index.js';
import { intsOf } from '../host.js';
import { fail, need, type OpDef, type OpTable } from '../registry.js';

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

function reshapeTo(x: E.Tensor, spec: number[], allowZero: boolean): E.Tensor {
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? (x.shape[i] ?? fail(`Reshape: 0 at axis ${i} of a rank-${x.rank} input`)) : d));
  const neg = shape.indexOf(-1);
  if (neg >= 0) {
    const known = shape.reduce((p, d, i) => (i === neg ? p : p * d), 1);
    shape[neg] = known === 0 ? 0 : x.size / known;
    if (!Number.isInteger(shape[neg])) fail(`Reshape: cannot infer -1 reshaping [${x.shape}] to [${spec}]`);
  }
  return E.reshape(x, shape);
}

/** Clamped [start, size] of one axis for ONNX Slice semantics (negative and huge bounds). */
export function sliceBounds(dim: number, start: number, end: number, step: number): [number, number] {
  if (step === 0) fail('Slice step 0');
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, -1), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  const size = Math.max(0, Math.ceil((e - s) / step));
  return [size ? s : 0, size];
}

function sliceOp(x: E.Tensor, starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined): E.Tensor {
  const st = x.shape.map(() => 0);
  const size = [...x.shape];
  const step = x.shape.map(() => 1);
  (axes ?? starts.map((_, i) => i)).forEach((ax, i) => {
    const a = normAxis(ax, x.rank);
    const k = steps?.[i] ?? 1;
    [st[a], size[a]] = sliceBounds(x.shape[a]!, starts[i]!, ends[i]!, k);
    step[a] = k;
  });
  return E.slice(x, st, size, step);
}

const slice: OpDef = {
  make: (a, _n, opset) => {
    if (opset < 10) {
      const [starts, ends, axes] = [a.ints('starts') ?? [], a.ints('ends') ?? [], a.ints('axes')];
      return ([x]) => [sliceOp(need(x, 'data'), starts, ends, axes, undefined)];
    }
    return ([x, s, e, ax, st]) => [sliceOp(need(x, 'data'), intsOf(need(s, 'starts')), intsOf(need(e, 'ends')), ax && intsOf(ax), st && intsOf(st))];
  },
};

const split: OpDef = {
  make: (a, node, opset) => {
    const axis = a.int('axis', 0);
    const attrSplit = a.ints('split');
    const parts = a.int('num_outputs') ?? node.outputs.length;
    return ([x, s]) => {
      const t = need(x, 'input');
      const ax = normAxis(axis, t.rank);
      const dim = t.shape[ax]!;
      let sizes = opset >= 13 ? (s ? intsOf(s) : undefined) : attrSplit;
      if (!sizes) {
        const chunk = Math.ceil(dim / parts);
        sizes = Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
      }
      return E.split(t, sizes, ax);
    };
  },
};

const squeeze: OpDef = {
  make: (a, _n, opset) => ([x, ax]) => {
    const axes = opset >= 13 ? (ax ? intsOf(ax) : undefined) : a.ints('axes');
    return [E.squeeze(need(x, 'data'), axes)];
  },
};

const unsqueeze: OpDef = {
  make: (a, _n, opset) => ([x, ax]) => [E.unsqueeze(need(x, 'data'), opset >= 13 ? intsOf(need(ax, 'axes')) : (a.ints('axes') ?? fail('axes is required')))],
};

type PadMode = 'constant' | 'reflect' | 'edge';

/** reflect/edge padding of one axis as slices concatenated around x (differentiable). */
function padAxis(x: E.Tensor, axis: number, before: number, after: number, mode: PadMode): E.Tensor {
  const n = x.shape[axis]!;
  const take = (start: number, size: number, step = 1) => E.slice(x, x.shape.map((_, i) => (i === axis ? start : 0)), x.shape.map((d, i) => (i === axis ? size : d)), x.shape.map((_, i) => (i === axis ? step : 1)));
  const parts: E.Tensor[] = [];
  if (mode === 'edge') {
    if (before) parts.push(E.expand(take(0, 1), x.shape.map((d, i) => (i === axis ? before : d))));
    parts.push(x);
    if (after) parts.push(E.expand(take(n - 1, 1), x.shape.map((d, i) => (i === axis ? after : d))));
  } else {
    if (before > n - 1 || after > n - 1) fail(`reflect pad of ${Math.max(before, after)} on an axis of ${n}`);
    if (before) parts.push(take(before, before, -1));
    parts.push(x);
    if (after) parts.push(take(n - 2, after, -1));
  }
  return parts.length === 1 ? E.identity(x) : E.concat(parts, axis);
}

const pad: OpDef = {
  check: (a) => (['constant', 'reflect', 'edge'].includes(a.string('mode', 'constant')) ? undefined : `mode='${a.string('mode')}'`),
  make: (a, _n, opset) => {
    const mode = a.string('mode', 'constant') as PadMode;
    return ([x, p, v, ax]) => {
      const t = need(x, 'data');
      const r = t.rank;
      let pads = opset >= 11 ? intsOf(need(p, 'pads')) : (a.ints('pads') ?? a.ints('paddings') ?? fail('pads is required'));
      const value = opset >= 11 ? (v && v.size ? v.item() : 0) : a.float('value', 0);
      if (ax) {
        const axes = intsOf(ax).map((i) => normAxis(i, r));
        const full = new Array<number>(2 * r).fill(0);
        axes.forEach((i, k) => ((full[i] = pads[k]!), (full[i + r] = pads[k + axes.length]!)));
        pads = full;
      }
      if (mode === 'constant') return [E.pad(t, pads, value)];
      if (pads.some((q) => q < 0)) fail(`negative pads in ${mode} mode`);
      let y = t;
      for (let i = 0; i < r; i++) if (pads[i] || pads[i + r]) y = padAxis(y, i, pads[i]!, pads[i + r]!, mode);
      return [y === t ? E.identity(t) : y];
    };
  },
};

/** DepthToSpace (DCR/CRD) and SpaceToDepth as reshape + transpose. */
function depthSpace(toSpace: boolean): OpDef {
  return {
    make: (a) => {
      const b = a.int('blocksize') ?? fail('blocksize is required');
      const crd = a.string('mode', 'DCR') === 'CRD';
      return ([x]) => {
        const t = need(x, 'input');
        const [n, c, h, w] = t.shape as [number, number, number, number];
        if (!toSpace) {
          const y = E.transpose(E.reshape(t, [n, c, h / b, b, w / b, b]), [0, 3, 5, 1, 2, 4]);
          return [E.reshape(y, [n, c * b * b, h / b, w / b])];
        }
        const cc = c / (b * b);
        const y = crd
          ? E.transpose(E.reshape(t, [n, cc, b, b, h, w]), [0, 1, 4, 2, 5, 3])
          : E.transpose(E.reshape(t, [n, b, b, cc, h, w]), [0, 3, 4, 1, 5, 2]);
        return [E.reshape(y, [n, cc, h * b, w * b])];
      };
    },
  };
}

export const SHAPE_OPS: OpTable = {
  Reshape: {
    since: 5,
    make: (a) => {
      const allowZero = a.int('allowzero', 0) !== 0;
      return ([x, s]) => [reshapeTo(need(x, 'data'), intsOf(need(s, 'shape')), allowZero)];
    },
  },
  Flatten: { make: (a) => ([x]) => [E.flatten(need(x, 'input'), a.int('axis', 1))] },
  Transpose: { make: (a) => ([x]) => [E.transpose(need(x, 'data'), a.ints('perm'))] },
  Concat: { make: (a) => (xs) => [E.concat(xs.filter((t): t is E.Tensor => !!t), a.int('axis') ?? fail('axis is required'))] },
  Split: split,
  Slice: slice,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Gather: { make: (a) => ([x, i]) => [E.gather(need(x, 'data'), need(i, 'indices'), a.int('axis', 0))] },
  Expand: { since: 8, make: () => ([x, s]) => [E.expand(need(x, 'input'), intsOf(need(s, 'shape')))] },
  Tile: { since: 6, make: () => ([x, r]) => [E.tile(need(x, 'input'), intsOf(need(r, 'repeats')))] },
  Pad: pad,
  DepthToSpace: depthSpace(true),
  SpaceToDepth: depthSpace(false),
};
