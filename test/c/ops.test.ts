// Every emitter against onnxruntime: in-memory models that use each op the C export supports
// (with the attribute forms that change the code: pads, auto_pad, ceil_mode, groups,
// dilations, broadcasts, negative axes, batched products) and every tiled kernel path
// (out_reuse, in_combine, general; tile on the left of a MatMul; one α per layer), compiled
// with the host C compiler and checked on reference vectors.
import { describe, expect, it } from 'vitest';
import { attr, floatTensor, graph, int64Tensor, model, node, valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { tileChoices } from '../../src/tbn/method.js';
import { rewriteModel } from '../../src/tbn/rewrite.js';
import { selectLayers } from '../../src/tbn/select.js';
import { Rng } from '../../src/util/random.js';
import { coverageModel } from '../helpers/models.js';
import { compressInMemory } from '../helpers/compress.js';
import { exportTo, randomW } from './helpers.js';
import { hasCC } from './tools.js';

const i64 = (name: string, v: number[]) => int64Tensor(name, [v.length], v);

/** Image-style ops: conv forms, standalone BN, pools, unary and broadcast binary ops. */
function imageOps(): Model {
  const rng = new Rng(7);
  const nodes = [
    node('Conv', ['x', 'c1.w', 'c1.b'], ['c1'], [attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 2])], { name: 'conv_same' }),
    node('LeakyRelu', ['c1'], ['lr'], [attr.float('alpha', 0.1)], { name: 'leaky' }),
    node('BatchNormalization', ['lr', 'bn.g', 'bn.b', 'bn.m', 'bn.v'], ['bn'], [], { name: 'bn_alone' }),
    node('Conv', ['bn', 'c2.w'], ['c2'], [attr.int('group', 2), attr.ints('dilations', [2, 2]), attr.ints('pads', [2, 2, 2, 2])], { name: 'conv_group' }),
    node('AveragePool', ['c2'], ['ap'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1]), attr.int('count_include_pad', 1)], { name: 'avg_incl' }),
    node('AveragePool', ['c2'], ['ap2'], [attr.ints('kernel_shape', [2, 2]), attr.ints('pads', [1, 1, 0, 0])], { name: 'avg_excl' }),
    node('Add', ['ap', 'ap2'], ['aps'], [], { name: 'add_pools' }),
    node('MaxPool', ['aps'], ['mp'], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.int('ceil_mode', 1)], { name: 'max_ceil' }),
    node('GlobalMaxPool', ['aps'], ['gm'], [], { name: 'gmax' }),
    node('Sub', ['mp', 'gm'], ['s'], [], { name: 'sub_bcast' }),
    node('Div', ['s', 'two'], ['d'], [], { name: 'div_scalar' }),
    node('Sigmoid', ['d'], ['sg'], [], { name: 'sigmoid' }),
    node('Clip', ['d', 'lo', 'hi'], ['cl'], [], { name: 'clip' }),
    node('Max', ['sg', 'cl'], ['mx'], [], { name: 'max' }),
    node('Tanh', ['mx'], ['th'], [], { name: 'tanh' }),
    node('Min', ['th', 'chan'], ['mn'], [], { name: 'min_chan' }),
    node('Abs', ['mn'], ['ab'], [], { name: 'abs' }),
    node('Sqrt', ['ab'], ['sq'], [], { name: 'sqrt' }),
    node('Neg', ['sq'], ['ng'], [], { name: 'neg' }),
    node('Exp', ['ng'], ['ex'], [], { name: 'exp' }),
    node('Mul', ['ex', 'mn'], ['mu'], [], { name: 'mul' }),
    node('GlobalAveragePool', ['mu'], ['ga'], [], { name: 'gap' }),
    node('Flatten', ['ga'], ['y'], [], { name: 'flatten' }),
    node('Conv', ['x1d', 'c3.w', 'c3.b'], ['c3'], [attr.ints('pads', [4, 4]), attr.ints('dilations', [2]), attr.ints('strides', [2])], { name: 'conv1d' }),
    node('MaxPool', ['c3'], ['y1d'], [attr.ints('kernel_shape', [2]), attr.ints('strides', [2])], { name: 'pool1d' }),
  ];
  const g = graph({
    name: 'image_ops',
    nodes,
    initializers: [
      randomW(rng, 'c1.w', [6, 3, 3, 3]),
      randomW(rng, 'c1.b', [6]),
      randomW(rng, 'bn.g', [6]),
      randomW(rng, 'bn.b', [6]),
      randomW(rng, 'bn.m', [6]),
      floatTensor('bn.v', [6], [0.5, 1, 1.5, 2, 2.5, 3]),
      randomW(rng, 'c2.w', [8, 3, 3, 3]),
      floatTensor('two', [], [2]),
      floatTensor('lo', [], [-0.25]),
      floatTensor('hi', [], [0.3]),
      randomW(rng, 'chan', [8, 1, 1]),
      randomW(rng, 'c3.w', [5, 2, 3]),
      randomW(rng, 'c3.b', [5]),
    ],
    inputs: [valueInfo('x', 'float32', ['N', 3, 9, 9]), valueInfo('x1d', 'float32', ['N', 2, 16])],
    outputs: [
      valueInfo('y', 'float32', ['N', 8]),
      valueInfo('y1d', 'float32', ['N', 5, 4]),
      valueInfo('bn', 'float32', ['N', 6, 5, 5]),
      valueInfo('aps', 'float32', ['N', 8, 5, 5]),
      valueInfo('mx', 'float32', ['N', 8, 2, 2]),
    ],
  });
  return model(g, { opset: 17 });
}

/** Sequence-style ops: data movement, normalisation, reductions, batched products, Gather. */
function sequenceOps(): Model {
  const rng = new Rng(8);
  const nodes = [
    node('Gather', ['table', 'ids'], ['e'], [attr.int('axis', 0)], { name: 'embed' }),
    node('Transpose', ['e', ], ['t'], [attr.ints('perm', [0, 2, 1])], { name: 'transpose' }),
    node('Reshape', ['t', 'shape4'], ['r'], [], { name: 'reshape' }),
    node('Softmax', ['r'], ['sm'], [attr.int('axis', 1)], { name: 'softmax_mid' }),
    node('Slice', ['sm', 'st', 'en', 'ax', 'sp'], ['sl'], [], { name: 'slice_step' }),
    node('Concat', ['sl', 'sl2'], ['cc'], [attr.int('axis', -1)], { name: 'concat' }),
    node('Split', ['cc', 'splits'], ['sp0', 'sp1'], [attr.int('axis', 1)], { name: 'split' }),
    node('ReduceSum', ['sp1', 'rax'], ['rs'], [attr.int('keepdims', 1)], { name: 'reduce_sum' }),
    node('Mul', ['rs', 'sp0'], ['mu'], [], { name: 'mul' }),
    node('Expand', ['mu', 'eshape'], ['ex'], [], { name: 'expand' }),
    node('Squeeze', ['ex', 'sq_ax'], ['sq'], [], { name: 'squeeze' }),
    node('LayerNormalization', ['sq', 'ln.g', 'ln.b'], ['ln'], [attr.int('axis', -1)], { name: 'layernorm' }),
    node('MatMul', ['ln', 'mm.w'], ['mm'], [], { name: 'matmul_const' }),
    node('Add', ['mm', 'mm.b'], ['mb'], [], { name: 'bias' }),
    node('Erf', ['mb'], ['er'], [], { name: 'erf' }),
    node('Transpose', ['er'], ['ert'], [attr.ints('perm', [0, 2, 1])], { name: 'transpose2' }),
    node('MatMul', ['er', 'ert'], ['gram'], [], { name: 'matmul_runtime' }),
    node('Unsqueeze', ['gram', 'un_ax'], ['g3'], [], { name: 'unsqueeze' }),
    node('MatMul', ['batched', 'g3'], ['bm'], [], { name: 'matmul_batched' }),
    node('ReduceMax', ['bm'], ['rm'], [attr.ints('axes', [2]), attr.int('keepdims', 0)], { name: 'reduce_max' }),
    node('ReduceMean', ['rm'], ['rmean'], [attr.ints('axes', [-1]), attr.int('keepdims', 0)], { name: 'reduce_mean' }),
    node('Gemm', ['rmean', 'gw', 'gb'], ['gy'], [attr.int('transA', 0), attr.float('alpha', 0.5), attr.float('beta', 2)], { name: 'gemm_attrs' }),
    node('Gather', ['gy', 'pick'], ['y'], [attr.int('axis', 1)], { name: 'gather_const' }),
  ];
  const g = graph({
    name: 'sequence_ops',
    nodes,
    initializers: [
      randomW(rng, 'table', [20, 6]),
      i64('shape4', [1, 3, 2, 4]),
      i64('st', [0, 3]),
      i64('en', [2, -100]),
      i64('ax', [1, 3]),
      i64('sp', [1, -2]),
      randomW(rng, 'sl2', [1, 2, 2, 3]),
      i64('splits', [1, 1]),
      i64('rax', [1]),
      i64('eshape', [1, 3, 2, 5]),
      i64('sq_ax', [0]),
      randomW(rng, 'ln.g', [5]),
      randomW(rng, 'ln.b', [5]),
      randomW(rng, 'mm.w', [5, 4]),
      randomW(rng, 'mm.b', [4]),
      i64('un_ax', [0]),
      randomW(rng, 'batched', [3, 2]),
      randomW(rng, 'gw', [3, 7]),
      randomW(rng, 'gb', [7]),
      i64('pick', [6, 0, -1]),
    ],
    inputs: [valueInfo('ids', 'int64', [1, 4])],
    outputs: [
      valueInfo('y', 'float32', [1, 3]),
      valueInfo('rmean', 'float32', [1, 3]),
      // intermediate values as outputs too, so that no op's error can hide behind a later normalisation
      valueInfo('cc', 'float32', [1, 2, 2, 5]),
      valueInfo('ex', 'float32', [1, 3, 2, 5]),
      valueInfo('er', 'float32', [3, 2, 4]),
      valueInfo('bm', 'float32', [1, 3, 3, 2]),
    ],
  });
  return model(g, { opset: 17 });
}

/** Gelu and opset-18 ReduceMean (axes as an input). */
function opset20Ops(): Model {
  const rng = new Rng(9);
  const g = graph({
    name: 'opset20',
    nodes: [
      node('Gelu', ['x'], ['ge'], [], { name: 'gelu' }),
      node('Reciprocal', ['ge2'], ['rc'], [], { name: 'reciprocal' }),
      node('Add', ['ge', 'one'], ['ge2'], [], { name: 'shift' }),
      node('ReduceMean', ['rc', 'axes'], ['y'], [attr.int('keepdims', 0)], { name: 'reduce_mean18' }),
    ],
    initializers: [floatTensor('one', [], [3]), i64('axes', [1])],
    inputs: [valueInfo('x', 'float32', ['N', 4, 5])],
    outputs: [valueInfo('y', 'float32', ['N', 5])],
  });
  void rng;
  return model(g, { opset: 20, irVersion: 9 });
}

/** A tile on the left of a MatMul (TbnDecode → MatMul(W, X)) with a fused bias along X's columns. */
function leftTile(): Model {
  const rng = new Rng(12);
  const g = graph({
    name: 'left_tile',
    nodes: [
      node('Transpose', ['x'], ['xt'], [attr.ints('perm', [1, 0])], { name: 'transpose' }),
      node('MatMul', ['w', 'xt'], ['wx'], [], { name: 'w_times_x' }),
      node('Add', ['wx', 'b'], ['wxb'], [], { name: 'bias' }),
      node('Relu', ['wxb'], ['y'], [], { name: 'relu' }),
    ],
    initializers: [randomW(rng, 'w', [6, 10]), randomW(rng, 'b', [3])],
    inputs: [valueInfo('x', 'float32', [3, 10])],
    outputs: [valueInfo('y', 'float32', [6, 3])],
  });
  return model(g, { opset: 17 });
}

function perLayerAlpha(m: Model, p: number): Model {
  return rewriteModel(m, tileChoices(selectLayers(m, { p, minParams: 0 }).chosen, 'per-layer'), { format: 'custom' });
}

async function passes(m: Model) {
  const r = await exportTo(m, { samples: 3 });
  expect(r.host.status, `${r.host.reason}`).toBe('pass');
  for (const o of r.host.outputs!) expect(o.maxAbsErr).toBeLessThanOrEqual(1e-4 * Math.max(o.scale, 1e-30));
  return r;
}

describe.skipIf(!hasCC())('every emitter, compiled and compared with onnxruntime', () => {
  it.each([
    ['along the outputs', 'output', 'tbn_tiled_gemm_out_reuse'],
    ['along the inputs', 'input', 'tbn_tiled_gemm_in_combine'],
  ] as const)('a tile on the left of MatMul, regions %s, bias and ReLU fused', async (_label, axis, kernel) => {
    const r = await passes(compressInMemory(leftTile(), 'custom', { p: 2, tileAxis: axis }).model);
    expect(r.layers.find((l) => l.node === 'w_times_x')).toMatchObject({ op: 'TbnMatMul', kernel, fused: ['TbnDecode', 'Add', 'Relu'] });
  });

  it('image ops: SAME/dilated/grouped/1-D conv, standalone BatchNorm, pools, unary and broadcast ops', async () => {
    const r = await passes(imageOps());
    const kernels = new Set(r.layers.map((l) => l.kernel));
    for (const k of ['tbn_conv2d', 'tbn_channel_affine', 'tbn_avgpool2d', 'tbn_maxpool2d', 'tbn_global_maxpool', 'tbn_global_avgpool', 'tbn_binary', 'tbn_leaky_relu', 'tbn_sigmoid', 'tbn_tanh', 'tbn_clip', 'tbn_exp', 'tbn_sqrt', 'tbn_neg', 'tbn_abs']) {
      expect(kernels, k).toContain(k);
    }
    expect(r.layers.find((l) => l.node === 'conv1d')!.fused).toEqual(['MaxPool']);
  });

  it('sequence ops: Gather (int64 input and constant indices), Transpose, Slice with steps, Concat, Split, Expand, Softmax, LayerNorm, reductions, batched MatMul, Gemm attributes', async () => {
    const r = await passes(sequenceOps());
    const kernels = new Set(r.layers.map((l) => l.kernel));
    for (const k of ['tbn_gather_i64', 'tbn_gather_i32', 'tbn_copy', 'tbn_softmax', 'tbn_layernorm', 'tbn_reduce', 'tbn_gemm', 'tbn_erf']) expect(kernels, k).toContain(k);
    expect(r.layers.find((l) => l.node === 'matmul_const')!.fused).toEqual(['Add']);
  });

  it('opset 20: Gelu, Reciprocal, ReduceMean with axes as an input', async () => {
    const r = await passes(opset20Ops());
    expect(r.layers.map((l) => l.kernel)).toContain('tbn_gelu');
  });

  it.each([
    ['p = 2, axis chosen by tbn', (m: Model) => compressInMemory(m, 'custom', { p: 2 }).model, ['tbn_tiled_conv2d_out_reuse', 'tbn_tiled_conv2d_general', 'tbn_tiled_gemm_in_combine']],
    ['p = 2 along the outputs', (m: Model) => compressInMemory(m, 'custom', { p: 2, tileAxis: 'output' }).model, ['tbn_tiled_gemm_out_reuse']],
    ['p = 4 along the input axis', (m: Model) => compressInMemory(m, 'custom', { p: 4, tileAxis: 'input' }).model, ['tbn_tiled_gemm_in_combine', 'tbn_tiled_conv2d_general']],
    ['p = 3 row-major (regions cut across rows)', (m: Model) => compressInMemory(m, 'custom', { p: 3, tileAxis: 'row-major' }).model, ['tbn_tiled_gemm_general']],
    ['one α per layer', (m: Model) => perLayerAlpha(m, 2), ['tbn_tiled_conv2d_out_reuse']],
  ])('tiled layers, %s', async (_label, compress, kernels) => {
    const r = await passes(compress(coverageModel()));
    const used = r.layers.map((l) => l.kernel);
    for (const k of kernels) expect(used).toContain(k);
    expect(r.layers.find((l) => l.node === 'matmul_w_first')!.op).toBe('TbnMatMul'); // TbnDecode → MatMul(W, x) read as tiles
    expect(r.flash.tileBytes).toBeGreaterThan(0);
  });
});
