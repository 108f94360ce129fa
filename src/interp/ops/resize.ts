// Resize (opset 10+) and Upsample (7–9): nearest, linear and cubic interpolation, separable,
// one axis at a time. For each output position the source taps (indices, clamped at the edges
// as the spec's edge padding does) and their weights are computed on the host; the values then
// come from engine gathers and weighted sums, so gradients flow back to the input.

import * as E from '../../engine/index.js';
import type { Attrs } from '../../ir/attrs.js';
import { fail, need, type OpDef, type OpTable } from '../registry.js';

type Mode = 'nearest' | 'linear' | 'cubic';

interface Settings {
  mode: Mode;
  transform: string;
  nearest: string;
  cubicA: number;
  excludeOutside: boolean;
}

const TRANSFORMS = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'];
const NEAREST = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/** `outLen` is the output length; with scales given, align_corners uses inLen·scale unrounded. */
function sourceCoord(x: number, scale: number, inLen: number, outLen: number, transform: string): number {
  switch (transform) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outLen === 1 ? 0 : (x * (inLen - 1)) / (inLen * scale - 1);
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
    default:
      return x / scale;
  }
}

function nearestIndex(v: number, rule: string): number {
  switch (rule) {
    case 'round_prefer_ceil':
      return Math.floor(v + 0.5);
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    default:
      return Math.ceil(v - 0.5);
  }
}

function cubicWeights(t: number, a: number): number[] {
  const w = (d: number) => {
    const x = Math.abs(d);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
  };
  return [w(t + 1), w(t), w(1 - t), w(2 - t)];
}

/** taps[j][k]: source index and weight of tap j for output position k. */
function taps(inLen: number, outLen: number, scale: number, s: Settings): { idx: number[][]; w: number[][] } {
  const n = s.mode === 'nearest' ? 1 : s.mode === 'linear' ? 2 : 4;
  const idx = Array.from({ length: n }, () => new Array<number>(outLen));
  const w = Array.from({ length: n }, () => new Array<number>(outLen));
  const clamp = (i: number) => Math.min(Math.max(i, 0), inLen - 1);
  for (let k = 0; k < outLen; k++) {
    const x = sourceCoord(k, scale, inLen, outLen, s.transform);
    if (s.mode === 'nearest') {
      idx[0]![k] = clamp(nearestIndex(x, s.nearest));
      w[0]![k] = 1;
      continue;
    }
    const f = Math.floor(x);
    const t = x - f;
    const offs = s.mode === 'linear' ? [0, 1] : [-1, 0, 1, 2];
    const ws = s.mode === 'linear' ? [1 - t, t] : cubicWeights(t, s.cubicA);
    let total = 0;
    offs.forEach((o, j) => {
      const i = f + o;
      const outside = i < 0 || i >= inLen;
      ws[j] = s.excludeOutside && outside ? 0 : ws[j]!;
      total += ws[j]!;
      idx[j]![k] = clamp(i);
    });
    offs.forEach((_, j) => (w[j]![k] = s.excludeOutside ? ws[j]! / total : ws[j]!));
  }
  return { idx, w };
}

function resizeAxis(x: E.Tensor, axis: number, outLen: number, scale: number, s: Settings): E.Tensor {
  const inLen = x.shape[axis]!;
  const { idx, w } = taps(inLen, outLen, scale, s);
  if (outLen === inLen && idx.length === 1 && idx[0]!.every((v, k) => v === k)) return x;
  const trailing = new Array<number>(x.rank - axis - 1).fill(1);
  let y: E.Tensor | undefined;
  idx.forEach((ix, j) => {
    const g = E.gather(x, E.tensor(ix, [outLen], 'int64'), axis);
    const term = s.mode === 'nearest' ? g : E.mul(g, E.tensor(w[j]!, [outLen, ...trailing]));
    y = y ? E.add(y, term) : term;
  });
  return y!;
}

function settings(a: Attrs, opset: number, op: string): Settings {
  const legacy = op === 'Upsample' || opset < 11;
  const mode = a.string('mode', 'nearest');
  return {
    mode: (mode === 'bilinear' ? 'linear' : mode) as Mode,
    transform: legacy ? 'asymmetric' : a.string('coordinate_transformation_mode', 'half_pixel'),
    nearest: legacy ? 'floor' : a.string('nearest_mode', 'round_prefer_floor'),
    cubicA: a.float('cubic_coeff_a', -0.75),
    excludeOutside: a.int('exclude_outside', 0) !== 0,
  };
}

function check(op: string) {
  return (a: Attrs, _n: unknown, opset: number): string | undefined => {
    const s = settings(a, opset, op);
    if (!['nearest', 'linear', 'cubic'].includes(s.mode) || (op === 'Upsample' && s.mode === 'cubic')) return `mode='${a.string('mode')}'`;
    if (!TRANSFORMS.includes(s.transform)) return `coordinate_transformation_mode='${s.transform}'`;
    if (!NEAREST.includes(s.nearest)) return `nearest_mode='${s.nearest}'`;
    if (a.int('antialias', 0)) return 'antialias=1';
    if (a.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') return `keep_aspect_ratio_policy='${a.string('keep_aspect_ratio_policy')}'`;
    return undefined;
  };
}

function resize(op: 'Resize' | 'Upsample'): OpDef {
  return {
    since: op === 'Resize' ? 10 : 7,
    check: check(op),
    make: (a, _n, opset) => {
      const s = settings(a, opset, op);
      return (ins) => {
        const x = need(ins[0], 'X');
        const scalesIn = op === 'Upsample' ? (opset >= 9 ? ins[1] : undefined) : opset < 11 ? ins[1] : ins[2];
        const sizesIn = op === 'Resize' && opset >= 11 ? ins[3] : undefined;
        const attrScales = op === 'Upsample' && opset < 9 ? a.floats('scales') : undefined;
        const axes = (a.ints('axes') ?? x.shape.map((_, i) => i)).map((v) => (v < 0 ? v + x.rank : v));
        const given = sizesIn && sizesIn.size ? Array.from(sizesIn.toArray()) : undefined;
        const scales = attrScales ?? (scalesIn && scalesIn.size ? Array.from(scalesIn.toArray()) : undefined);
        if (!given && !scales) fail('neither scales nor sizes given');
        let y = x;
        axes.forEach((ax, i) => {
          const inLen = x.shape[ax]!;
          const outLen = given ? given[i]! : Math.floor(inLen * scales![i]!);
          const scale = given ? outLen / inLen : scales![i]!;
          y = resizeAxis(y, ax, outLen, scale, s);
        });
        return [y === x ? E.identity(x) : y];
      };
    },
  };
}

export const RESIZE_OPS: OpTable = { Resize: resize('Resize'), Upsample: resize('Upsample') };
