// Normalisation and reductions: Softmax (per-axis from opset 13, flattened 2-D before),
// LayerNormalization, BatchNormalization at inference (a per-channel affine computed at export;
// after a convolution fuse.ts folds it into the conv instead), and ReduceMean / ReduceSum /
// ReduceMax / ReduceMin over one contiguous run of axes. Softmax, LayerNorm and BatchNorm run
// in place.

import { f32 } from '../c-text.js';
import { attrsOf, constFloats, constValues, isConst, normAxis, numel, tensorOf, type LGraph, type LNode } from '../graph.js';
import type { OpEmitter } from './types.js';

/** [outer, n, inner] around axes [a0, a1) of a shape. */
const split3 = (s: number[], a0: number, a1: number) => [numel(s.slice(0, a0)), numel(s.slice(a0, a1)), numel(s.slice(a1))] as const;

const softmax: OpEmitter = {
  check: () => undefined,
  inPlace: () => [0],
  emit(n, cx) {
    const s = tensorOf(cx.g, n.inputs[0]!).shape;
    const modern = cx.g.opset >= 13;
    const axis = normAxis(attrsOf(n).int('axis', modern ? -1 : 1), s.length);
    const [outer, len, inner] = modern ? split3(s, axis, axis + 1) : split3(s, axis, s.length);
    return { code: [`tbn_softmax(${cx.ptr(n.inputs[0]!)}, ${cx.ptr(n.outputs[0]!)}, ${outer}, ${len}, ${inner});`], kernel: 'tbn_softmax' };
  },
};

function lnDims(n: LNode, g: LGraph) {
  const s = tensorOf(g, n.inputs[0]!).shape;
  const axis = normAxis(attrsOf(n).int('axis', -1), s.length);
  const [outer, len] = split3(s, axis, s.length);
  return { outer, len };
}

const layerNorm: OpEmitter = {
  check(n, g) {
    if (n.outputs[1] || n.outputs[2]) return 'the Mean and InvStdDev outputs are not supported';
    const { len } = lnDims(n, g);
    for (const i of [1, 2]) {
      const name = n.inputs[i];
      if (!name) continue;
      if (!isConst(g, name)) return `${i === 1 ? 'Scale' : 'B'} must be a constant`;
      if (numel(tensorOf(g, name).shape) !== len) return `${i === 1 ? 'Scale' : 'B'} has ${numel(tensorOf(g, name).shape)} values for rows of ${len}`;
    }
    return undefined;
  },
  inPlace: () => [0],
  emit(n, cx) {
    const { outer, len } = lnDims(n, cx.g);
    const beta = n.inputs[2] ? cx.ptr(n.inputs[2]) : 'NULL';
    const eps = f32(attrsOf(n).float('epsilon', 1e-5));
    return {
      code: [`tbn_layernorm(${cx.ptr(n.inputs[0]!)}, ${cx.ptr(n.inputs[1]!)}, ${beta}, ${cx.ptr(n.outputs[0]!)}, ${outer}, ${len}, ${eps});`],
      kernel: 'tbn_layernorm',
    };
  },
};

/** BatchNormalization as y = s·x + t with s = γ/√(var + ε), t = β − mean·s (float64, then float32). */
export function batchNormAffine(n: LNode, g: LGraph): { scale: Float32Array; shift: Float32Array } {
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => constFloats(g, n.inputs[i]!));
  const eps = attrsOf(n).float('epsilon', 1e-5);
  const scale = new Float32Array(gamma!.length);
  const shift = new Float32Array(gamma!.length);
  for (let c = 0; c < scale.length; c++) {
    const s = gamma![c]! / Math.sqrt(variance![c]! + Math.fround(eps));
    scale[c] = s;
    shift[c] = beta![c]! - mean![c]! * s;
  }
  return { scale, shift };
}

export function checkBatchNorm(n: LNode, g: LGraph): string | undefined {
  if (n.outputs.slice(1).some(Boolean)) return 'training-mode outputs are not supported';
  if (attrsOf(n).int('training_mode', 0)) return 'training_mode = 1 is not supported';
  if (![1, 2, 3, 4].every((i) => isConst(g, n.inputs[i]!))) return 'scale, bias, mean and variance must be constants';
  const xs = tensorOf(g, n.inputs[0]!).shape;
  if (xs[0] !== 1 || xs.length < 2) return `input [${xs}]: expected [1, C, …]`;
  if ([1, 2, 3, 4].some((i) => numel(tensorOf(g, n.inputs[i]!).shape) !== xs[1])) return 'parameters must have one value per channel';
  return undefined;
}

const batchNorm: OpEmitter = {
  check: checkBatchNorm,
  inPlace: () => [0],
  emit(n, cx) {
    const xs = tensorOf(cx.g, n.inputs[0]!).shape;
    const { scale, shift } = batchNormAffine(n, cx.g);
    const s = cx.constArray(`${n.name}/scale`, 'float', scale, `${n.name}: γ/√(var + ε)`);
    const t = cx.constArray(`${n.name}/shift`, 'float', shift, `${n.name}: β − mean·γ/√(var + ε)`);
    return {
      code: [`tbn_channel_affine(${cx.ptr(n.inputs[0]!)}, ${s}, ${t}, ${cx.ptr(n.outputs[0]!)}, ${xs[1]}, ${numel(xs) / xs[1]!});`],
      kernel: 'tbn_channel_affine',
    };
  },
};

/** The reduced axes as one contiguous run [a0, a1), or a reason. */
function reduceAxes(n: LNode, g: LGraph): [number, number] | string {
  const s = tensorOf(g, n.inputs[0]!).shape;
  let axes = attrsOf(n).ints('axes');
  if (n.inputs[1]) {
    if (!isConst(g, n.inputs[1])) return 'axes must be a constant';
    axes = constValues(g, n.inputs[1]);
  }
  if (!axes || !axes.length) {
    if (attrsOf(n).int('noop_with_empty_axes', 0)) return 'noop_with_empty_axes is not supported';
    axes = s.map((_, i) => i);
  }
  const sorted = [...new Set(axes.map((a) => normAxis(a, s.length)))].sort((a, b) => a - b);
  // Size-1 dims between reduced axes do not break contiguity.
  for (let i = 1; i < sorted.length; i++) {
    for (let d = sorted[i - 1]! + 1; d < sorted[i]!; d++) if (s[d] !== 1) return `axes [${axes}] are not contiguous`;
  }
  return [sorted[0]!, sorted[sorted.length - 1]! + 1];
}

function reduce(op: string): OpEmitter {
  return {
    check(n, g) {
      const a = reduceAxes(n, g);
      return typeof a === 'string' ? a : undefined;
    },
    emit(n, cx) {
      const s = tensorOf(cx.g, n.inputs[0]!).shape;
      const [a0, a1] = reduceAxes(n, cx.g) as [number, number];
      const [outer, len, inner] = split3(s, a0, a1);
      return { code: [`tbn_reduce(${op}, ${cx.ptr(n.inputs[0]!)}, ${cx.ptr(n.outputs[0]!)}, ${outer}, ${len}, ${inner});`], kernel: 'tbn_reduce' };
    },
  };
}

export const NORMALIZE_EMITTERS = {
  Softmax: softmax,
  LayerNormalization: layerNorm,
  BatchNormalization: batchNorm,
  ReduceMean: reduce('TBN_REDUCE_MEAN'),
  ReduceSum: reduce('TBN_REDUCE_SUM'),
  ReduceMax: reduce('TBN_REDUCE_MAX'),
  ReduceMin: reduce('TBN_REDUCE_MIN'),
};
