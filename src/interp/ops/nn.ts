// Neural-network layers: Conv and ConvTranspose (auto_pad, groups, output_shape), pooling,
// and the normalisations. BatchNormalization uses running statistics, or the batch's own when
// the node asks (training_mode, opset ≥ 14) or the run asks (RunContext.batchStats, used to
// re-estimate statistics after the weights change); the latter records them per node.

import * as E from '../../engine/index.js';
import type { Attrs } from '../../ir/attrs.js';
import { autoPadProblem, convTransposePads, spatialGeometry } from '../../ir/conv-geometry.js';
import { fail, need, type OpDef, type OpTable, type RunContext } from '../registry.js';

/** Strides, dilations and pads [begin…, end…] of a Conv / pooling node on x. */
function spatialAttrs(a: Attrs, x: E.Tensor, kernel: readonly number[]) {
  const g = spatialGeometry(a, x.shape.slice(2), kernel);
  if (typeof g === 'string') return fail(g);
  return { strides: g.strides, dilations: g.dilations, pads: g.pads };
}

const conv: OpDef = {
  check: autoPadProblem,
  make: (a) => ([x, w, b]) => {
    const t = need(x, 'X');
    const wt = need(w, 'W');
    return [E.conv(t, wt, b, { ...spatialAttrs(a, t, wt.shape.slice(2)), group: a.int('group', 1) })];
  },
};

const convTranspose: OpDef = {
  check: autoPadProblem,
  make: (a) => ([x, w, b]) => {
    const t = need(x, 'X');
    const wt = need(w, 'W');
    const r = t.rank - 2;
    const kernel = a.ints('kernel_shape') ?? wt.shape.slice(2);
    const strides = a.ints('strides') ?? new Array<number>(r).fill(1);
    const dilations = a.ints('dilations') ?? new Array<number>(r).fill(1);
    const outputPadding = a.ints('output_padding') ?? new Array<number>(r).fill(0);
    const mode = a.string('auto_pad', 'NOTSET');
    let p = a.ints('pads') ?? new Array<number>(2 * r).fill(0);
    let wanted = a.ints('output_shape');
    if (wanted && wanted.length === r + 2) wanted = wanted.slice(2);
    if (!wanted && (mode === 'SAME_UPPER' || mode === 'SAME_LOWER')) wanted = t.shape.slice(2).map((d, i) => d * strides[i]!);
    if (mode === 'VALID') p = new Array<number>(2 * r).fill(0);
    if (wanted) p = convTransposePads(mode, t.shape.slice(2), kernel, strides, dilations, outputPadding, wanted);
    return [E.convTranspose(t, wt, b, { strides, dilations, pads: p, outputPadding, group: a.int('group', 1) })];
  },
};

function poolOptions(a: Attrs, x: E.Tensor): E.PoolOptions {
  const kernel = a.ints('kernel_shape') ?? fail('kernel_shape is required');
  const s = spatialAttrs(a, x, kernel);
  return { kernel, strides: s.strides, pads: s.pads, dilations: s.dilations, ceilMode: a.int('ceil_mode', 0) !== 0, countIncludePad: a.int('count_include_pad', 0) !== 0 };
}

const maxPool: OpDef = {
  check: (a, node) => autoPadProblem(a) ?? (a.int('storage_order', 0) !== 0 && node.outputs[1] ? 'storage_order=1 with Indices' : undefined),
  make: (a, node) => ([x]) => {
    const t = need(x, 'X');
    const { y, indices } = E.maxPool(t, poolOptions(a, t), !!node.outputs[1]);
    return [y, indices];
  },
};

const avgPool: OpDef = {
  check: autoPadProblem,
  make: (a) => ([x]) => {
    const t = need(x, 'X');
    return [E.avgPool(t, poolOptions(a, t))];
  },
};

function recordStats(rt: RunContext, mean: E.Tensor, v: E.Tensor, count: number): void {
  rt.bnStats.set(rt.nodeName, { mean: mean.toArray() as Float32Array, var: v.toArray() as Float32Array, count });
}

const batchNorm: OpDef = {
  check: (a, node, opset) => {
    if (opset < 9 && a.int('spatial', 1) !== 1) return 'spatial=0';
    if (opset < 14 && node.outputs.filter(Boolean).length > 1) return `training outputs (opset ${opset})`;
    return undefined;
  },
  make: (a, _node, opset) => {
    const eps = a.float('epsilon', 1e-5);
    const momentum = a.float('momentum', 0.9);
    const training = opset >= 14 && a.int('training_mode', 0) === 1;
    return ([x, s, b, m, v], rt) => {
      const [t, scale, bias, rm, rv] = [need(x, 'X'), need(s, 'scale'), need(b, 'B'), need(m, 'input_mean'), need(v, 'input_var')];
      if (!training && !rt.batchStats) return [E.batchNorm(t, scale, bias, rm, rv, eps)];
      const r = E.batchNormTrain(t, scale, bias, eps);
      if (rt.batchStats) recordStats(rt, r.mean, r.var, t.size / t.shape[1]!);
      if (!training) return [r.y];
      const blend = (run: E.Tensor, cur: E.Tensor) => E.add(E.affine(run, momentum, 0), E.affine(E.noGrad(() => E.identity(cur)), 1 - momentum, 0));
      return [r.y, blend(rm, r.mean), blend(rv, r.var)];
    };
  },
};

/** Inference BatchNormalization and the Relu after it, one kernel each way (not in training mode). */
batchNorm.fuseRelu = (a, _node, opset) => {
  if (opset >= 14 && a.int('training_mode', 0) === 1) return undefined;
  const eps = a.float('epsilon', 1e-5);
  return ([x, s, b, m, v]) => [E.batchNorm(need(x, 'X'), need(s, 'scale'), need(b, 'B'), need(m, 'input_mean'), need(v, 'input_var'), eps, true)];
};

const layerNorm: OpDef = {
  since: 17,
  check: (a) => (a.int('stash_type', 1) === 1 ? undefined : `stash_type=${a.int('stash_type')}`),
  make: (a, node) => {
    const axis = a.int('axis', -1);
    const eps = a.float('epsilon', 1e-5);
    const extras = !!(node.outputs[1] || node.outputs[2]);
    return ([x, s, b]) => {
      const t = need(x, 'X');
      const y = E.layerNorm(t, need(s, 'Scale'), b, axis, eps);
      if (!extras) return [y];
      // Mean and InvStdDev outputs, keepdims-shaped as the spec has them.
      const ax = axis < 0 ? axis + t.rank : axis;
      const axes = t.shape.map((_, i) => i).filter((i) => i >= ax);
      const mean = E.mean(t, axes, true);
      const c = E.sub(t, mean);
      const inv = E.reciprocal(E.sqrt(E.affine(E.mean(E.mul(c, c), axes, true), 1, eps)));
      return [y, mean, inv];
    };
  },
};

const instanceNorm: OpDef = {
  make: (a) => {
    const eps = a.float('epsilon', 1e-5);
    return ([x, s, b]) => {
      const t = need(x, 'input');
      const ch = (v: E.Tensor) => E.reshape(v, [v.size, ...new Array<number>(t.rank - 2).fill(1)]);
      return [E.add(E.mul(E.layerNorm(t, undefined, undefined, 2, eps), ch(need(s, 'scale'))), ch(need(b, 'B')))];
    };
  },
};

/** LRN: x / (bias + alpha/size · Σ_window x²)^beta, the window over channels (an avg-pool). */
const lrn: OpDef = {
  make: (a) => {
    const size = a.int('size') ?? fail('size is required');
    const [alpha, beta, bias] = [a.float('alpha', 1e-4), a.float('beta', 0.75), a.float('bias', 1)];
    return ([x]) => {
      const t = need(x, 'X');
      const [n, c] = t.shape as [number, number];
      const sq = E.reshape(E.mul(t, t), [n, 1, c, t.size / Math.max(1, n * c)]);
      const lo = Math.floor((size - 1) / 2);
      const avg = E.avgPool(sq, { kernel: [size, 1], pads: [lo, 0, size - 1 - lo, 0], countIncludePad: true });
      const denom = E.powScalar(E.affine(E.reshape(avg, t.shape), alpha, bias), beta);
      return [E.div(t, denom)];
    };
  },
};

/** MeanVarianceNormalization as its function body: (x − E[x]) / (√(E[x²] − E[x]²) + 1e-9). */
const mvn: OpDef = {
  since: 9,
  make: (a) => {
    const axes = a.ints('axes', [0, 2, 3]);
    return ([x]) => {
      const t = need(x, 'X');
      const m = E.mean(t, axes, true);
      const v = E.sub(E.mean(E.mul(t, t), axes, true), E.mul(m, m));
      return [E.div(E.sub(t, m), E.affine(E.sqrt(v), 1, 1e-9))];
    };
  },
};

export const NN_OPS: OpTable = {
  LRN: lrn,
  MeanVarianceNormalization: mvn,
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: maxPool,
  AveragePool: avgPool,
  GlobalAveragePool: { make: () => ([x]) => [E.globalAvgPool(need(x, 'X'))] },
  GlobalMaxPool: { make: () => ([x]) => [E.globalMaxPool(need(x, 'X'))] },
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  InstanceNormalization: instanceNorm,
};
