// ONNX nodes run through the interpreter, differentiated against central finite differences
// (test/unit/engine/gradcheck.ts explains the float32 tolerances): each case is a one-node
// model whose float inputs are all differentiated, with the node's own attribute handling
// (auto_pad, opset forms, composite lowerings such as Resize, LRN, Einsum, CumSum) in the loop.

import { describe, it } from 'vitest';
import { compile } from '../../../src/interp/index.js';
import { attr, graph, int64Tensor, model, node, valueInfo } from '../../../src/ir/build.js';
import type { Attribute, OnnxTensor } from '../../../src/ir/types.js';
import { Rng } from '../../../src/util/random.js';
import { distinctData, gradcheck, randomData } from '../engine/gradcheck.js';

interface Case {
  op: string;
  /** Differentiated float inputs, by shape (and optional data). */
  x: (number[] | { shape: number[]; data?: Float32Array; positive?: boolean })[];
  /** Constant inputs after the float ones ('' for an absent optional input). */
  consts?: (OnnxTensor | '')[];
  attrs?: Attribute[];
  opset?: number;
  outputs?: number;
  /** Node input order when constants sit between float inputs (names x0…, c0…). */
  order?: string[];
}

function check(c: Case): void {
  const xs = c.x.map((s, i) => ({ name: `x${i}`, ...(Array.isArray(s) ? { shape: s } : s) }));
  const consts: (OnnxTensor | '')[] = (c.consts ?? []).map((t, i) => (t === '' ? '' : { ...t, name: `c${i}` }));
  const outs = Array.from({ length: c.outputs ?? 1 }, (_, i) => (i ? `extra${i}` : 'y'));
  const g = graph({
    nodes: [node(c.op, c.order ?? [...xs.map((x) => x.name), ...consts.map((t) => (t === '' ? '' : t.name!))], outs, c.attrs ?? [], { name: 'n' })],
    initializers: consts.filter((t): t is OnnxTensor => t !== ''),
    inputs: xs.map((x) => valueInfo(x.name, 'float32', x.shape)),
    outputs: [valueInfo('y', 'float32')],
  });
  const program = compile(model(g, { opset: c.opset ?? 17 }));
  program.planInfo(); // fold constants before the leak-checked part
  const rng = new Rng(13);
  gradcheck(
    (...ts) => program.run(Object.fromEntries(ts.map((t, i) => [`x${i}`, t]))).outputs.y!,
    xs.map((x) => ({ shape: x.shape, data: x.data ?? randomData(x.shape, rng, 0, x.positive) })),
  );
  program.dispose();
}

const i64 = (v: number[], dims = [v.length]) => int64Tensor(undefined, dims, v);
const f32 = (v: number[], dims = [v.length]): OnnxTensor => ({ dtype: 'float32', dims, data: Float32Array.from(v), encoding: 'raw' });
/** Distinct values 0.09 apart, none within 0.03 of 0 (kinks of relu-like ops sit at 0). */
const spaced = (shape: number[], seed = 3) => ({ shape, data: distinctData(shape, new Rng(seed), 0.09).map((v) => v + 0.033) });

const CASES: Record<string, Case> = {
  'Conv auto_pad SAME_UPPER, stride 2, group 2, bias': { op: 'Conv', x: [[1, 4, 5, 6], [4, 2, 3, 3], [4]], attrs: [attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 2]), attr.int('group', 2)] },
  'Conv 1-D dilated, asymmetric pads': { op: 'Conv', x: [[2, 2, 9], [3, 2, 3]], attrs: [attr.ints('dilations', [2]), attr.ints('pads', [2, 1])] },
  'ConvTranspose output_shape with SAME_UPPER': { op: 'ConvTranspose', x: [[1, 2, 3, 3], [2, 3, 3, 3]], attrs: [attr.ints('strides', [2, 2]), attr.ints('output_shape', [6, 6]), attr.string('auto_pad', 'SAME_UPPER')] },
  'MaxPool ceil_mode, dilations': { op: 'MaxPool', x: [spaced([1, 2, 6, 7])], attrs: [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2]), attr.ints('dilations', [1, 2]), attr.int('ceil_mode', 1)] },
  'AveragePool SAME_LOWER, count_include_pad': { op: 'AveragePool', x: [[1, 2, 5, 5]], attrs: [attr.ints('kernel_shape', [3, 2]), attr.string('auto_pad', 'SAME_LOWER'), attr.int('count_include_pad', 1)] },
  'GlobalAveragePool': { op: 'GlobalAveragePool', x: [[2, 3, 4, 4]] },
  'BatchNormalization (running statistics), all inputs': { op: 'BatchNormalization', x: [[2, 3, 2, 2], [3], [3], [3], { shape: [3], positive: true }], attrs: [attr.float('epsilon', 1e-3)] },
  'BatchNormalization training_mode=1 (batch statistics)': { op: 'BatchNormalization', x: [[3, 2, 2, 2], [2], [2], [2], { shape: [2], positive: true }], attrs: [attr.int('training_mode', 1), attr.float('epsilon', 1e-3)], opset: 15, outputs: 3 },
  'LayerNormalization axis 1': { op: 'LayerNormalization', x: [[2, 3, 4], [3, 4], [3, 4]], attrs: [attr.int('axis', 1), attr.float('epsilon', 1e-3)] },
  'InstanceNormalization': { op: 'InstanceNormalization', x: [[2, 2, 3, 3], [2], [2]], attrs: [attr.float('epsilon', 1e-3)] },
  'LRN': { op: 'LRN', x: [[1, 5, 2, 2]], attrs: [attr.int('size', 3), attr.float('alpha', 0.1), attr.float('beta', 0.75), attr.float('bias', 1)] },
  'MeanVarianceNormalization': { op: 'MeanVarianceNormalization', x: [[2, 3, 3, 2]] },
  'Softmax, opset 11 (2-D coercion)': { op: 'Softmax', x: [[2, 3, 4]], attrs: [attr.int('axis', 1)], opset: 11 },
  'LogSoftmax axis 0': { op: 'LogSoftmax', x: [[3, 4]], attrs: [attr.int('axis', 0)] },
  'Gemm transA, alpha, beta, C': { op: 'Gemm', x: [[4, 3], [4, 2], [2]], attrs: [attr.int('transA', 1), attr.float('alpha', 0.7), attr.float('beta', -1.3)] },
  'MatMul 3-D · 2-D': { op: 'MatMul', x: [[2, 3, 4], [4, 5]] },
  'Einsum bij,bjk->bik': { op: 'Einsum', x: [[2, 3, 4], [2, 4, 2]], attrs: [attr.string('equation', 'bij,bjk->bik')], opset: 12 },
  'Einsum ij,j (implicit output)': { op: 'Einsum', x: [[3, 4], [4]], attrs: [attr.string('equation', 'ij,j')], opset: 12 },
  'ReduceL2': { op: 'ReduceL2', x: [[2, 3, 4]], attrs: [attr.ints('axes', [1]), attr.int('keepdims', 0)], opset: 13 },
  'ReduceLogSumExp': { op: 'ReduceLogSumExp', x: [[2, 3, 4]], attrs: [attr.ints('axes', [0, 2])], opset: 13 },
  'ReduceMax': { op: 'ReduceMax', x: [spaced([2, 3, 4])], attrs: [attr.ints('axes', [2])], opset: 13 },
  'ReduceMean with axes input (opset 18)': { op: 'ReduceMean', x: [[2, 3, 4]], consts: [i64([-1, 0])], opset: 18 },
  'Pad reflect': { op: 'Pad', x: [[2, 4]], consts: [i64([1, 2, 0, 3])], attrs: [attr.string('mode', 'reflect')] },
  'Pad edge': { op: 'Pad', x: [[2, 3]], consts: [i64([1, 0, 2, 2])], attrs: [attr.string('mode', 'edge')] },
  'Slice with a negative step': { op: 'Slice', x: [[4, 5]], consts: [i64([4, 0]), i64([-100, 3]), i64([1, 0]), i64([-2, 1])] },
  'Tile': { op: 'Tile', x: [[2, 3]], consts: [i64([2, 2])] },
  'Expand': { op: 'Expand', x: [[3, 1]], consts: [i64([2, 3, 4])] },
  'Gather with repeated indices': { op: 'Gather', x: [[4, 3]], consts: [i64([3, 0, 3], [3])], attrs: [attr.int('axis', 0)] },
  'GatherElements': { op: 'GatherElements', x: [[3, 4]], consts: [i64([2, 0, 1, 2, 0, 0], [3, 2])], attrs: [attr.int('axis', 1)] },
  'TopK (values)': { op: 'TopK', x: [spaced([2, 5])], consts: [i64([3])], outputs: 2 },
  'CumSum exclusive, reverse': { op: 'CumSum', x: [[3, 4]], consts: [i64([1], [])], attrs: [attr.int('exclusive', 1), attr.int('reverse', 1)] },
  'Resize linear, half_pixel': { op: 'Resize', x: [[1, 1, 3, 4]], consts: ['', f32([1, 1, 1.7, 0.6])], attrs: [attr.string('mode', 'linear')] },
  'Resize cubic, align_corners, sizes': { op: 'Resize', x: [[1, 1, 4, 3]], consts: ['', '', i64([1, 1, 5, 5])], attrs: [attr.string('mode', 'cubic'), attr.string('coordinate_transformation_mode', 'align_corners')] },
  'Resize nearest ×2': { op: 'Resize', x: [[1, 2, 2, 3]], consts: ['', f32([1, 1, 2, 2])] },
  'DepthToSpace CRD': { op: 'DepthToSpace', x: [[1, 8, 2, 3]], attrs: [attr.int('blocksize', 2), attr.string('mode', 'CRD')] },
  'SpaceToDepth': { op: 'SpaceToDepth', x: [[1, 2, 4, 6]], attrs: [attr.int('blocksize', 2)] },
  'PRelu (slope too)': { op: 'PRelu', x: [spaced([2, 3, 4]), [3, 1]] },
  'Celu': { op: 'Celu', x: [spaced([3, 4])], attrs: [attr.float('alpha', 0.5)] },
  'Mish': { op: 'Mish', x: [[3, 4]], opset: 18 },
  'Gelu (opset 20)': { op: 'Gelu', x: [[3, 4]], opset: 20 },
  'Clip with min and max inputs': { op: 'Clip', x: [spaced([3, 4])], consts: [f32([-0.35], []), f32([0.35], [])] },
  'Max (variadic, broadcast)': { op: 'Max', x: [spaced([2, 3], 1), { shape: [3], data: Float32Array.from([0.078, -0.012, 0.168]) }, { shape: [2, 1], data: Float32Array.from([0.0555, -0.1]) }] },
  'Mean (variadic)': { op: 'Mean', x: [[2, 3], [3], [1]] },
  'Pow with a tensor exponent': { op: 'Pow', x: [{ shape: [2, 3], positive: true }, [3]] },
  'Erf': { op: 'Erf', x: [[2, 3]] },
  'SoftmaxCrossEntropyLoss, weights, ignore_index, mean': { op: 'SoftmaxCrossEntropyLoss', x: [[3, 4, 2]], consts: [i64([1, 3, 0, 2, 1, 1], [3, 2]), f32([0.5, 1, 2, 0.25])], attrs: [attr.int('ignore_index', 2)], opset: 13 },
  'GatherND with batch_dims': { op: 'GatherND', x: [[2, 3, 4]], consts: [i64([2, 0], [2, 1, 1])], attrs: [attr.int('batch_dims', 1)], opset: 13 },
  'ScatterElements (data and updates)': { op: 'ScatterElements', x: [[3, 3], [2, 3]], consts: [i64([1, 0, 2, 0, 2, 1], [2, 3])], order: ['x0', 'c0', 'x1'], opset: 13 },
  'ScatterND with add': { op: 'ScatterND', x: [[4, 3], [2, 3]], consts: [i64([3, 1], [2, 1])], attrs: [attr.string('reduction', 'add')], order: ['x0', 'c0', 'x1'], opset: 16 },
  'Compress along an axis': { op: 'Compress', x: [[3, 4]], consts: [{ dtype: 'bool', dims: [4], data: Uint8Array.from([1, 0, 1, 1]), encoding: 'raw' }], attrs: [attr.int('axis', 1)] },
  'NegativeLogLikelihoodLoss, sum': { op: 'NegativeLogLikelihoodLoss', x: [[4, 3]], consts: [i64([2, 0, 1, 2])], attrs: [attr.string('reduction', 'sum')], opset: 13 },
};

describe('ONNX nodes: gradients through the interpreter', () => {
  for (const [name, c] of Object.entries(CASES)) it(name, () => check(c));
  // Where's condition comes first and is a bool constant, so it gets its own graph.
  it('Where (both branches)', () => {
    const cond = { ...int64Tensor('cond', [2, 3], [1, 0, 1, 1, 1, 0]), dtype: 'bool' as const, data: Uint8Array.from([1, 0, 1, 1, 1, 0]) };
    const g = graph({
      nodes: [node('Where', ['cond', 'x0', 'x1'], ['y'], [], { name: 'n' })],
      initializers: [cond],
      inputs: [valueInfo('x0', 'float32', [2, 3]), valueInfo('x1', 'float32', [3])],
      outputs: [valueInfo('y', 'float32')],
    });
    const program = compile(model(g));
    program.planInfo();
    gradcheck((a, b) => program.run({ x0: a, x1: b }).outputs.y!, [{ shape: [2, 3] }, { shape: [3] }]);
    program.dispose();
  });
});
