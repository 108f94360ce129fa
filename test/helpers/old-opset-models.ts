// Small models at opsets 7–11 whose ops changed schema on the way to 12/13, one case per kind
// of change the opset upgrade rewrites (src/ir/upgrade/adapters), for the upgrade tests and
// the cross-check against python onnx.version_converter.
import { attr, floatTensor, graph, int64Tensor, model, node, tensor, valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';

export interface OldOpsetCase {
  name: string;
  model: Model;
  target: number;
  /** `Op@version` rewrites the upgrade must report. */
  converted: string[];
}

const f32 = (name: string, shape: (number | string)[]) => valueInfo(name, 'float32', shape);
const out = (name: string, shape: (number | string)[], dtype: 'float32' | 'int64' = 'float32') => valueInfo(name, dtype, shape);

function slicePadClip(): Model {
  return model(
    graph({
      name: 'slicePadClip',
      nodes: [
        node('Pad', ['x'], ['padded'], [attr.ints('pads', [0, 0, 1, 1, 0, 0, 1, 1]), attr.float('value', 0.5)], { name: 'pad' }),
        node('Pad', ['x'], ['reflected'], [attr.ints('pads', [0, 0, 2, 0, 0, 0, 0, 2]), attr.string('mode', 'reflect')], { name: 'pad_reflect' }),
        node('Clip', ['padded'], ['clipped'], [attr.float('min', -0.5), attr.float('max', 0.8)], { name: 'clip' }),
        node('Clip', ['reflected'], ['clipped_max'], [attr.float('max', 0.1)], { name: 'clip_max_only' }),
        node('Slice', ['clipped'], ['y'], [attr.ints('starts', [1, 1]), attr.ints('ends', [8, 1000]), attr.ints('axes', [2, 3])], { name: 'slice' }),
        node('Slice', ['clipped_max'], ['z'], [attr.ints('starts', [0, 1]), attr.ints('ends', [1, -1])], { name: 'slice_no_axes' }),
      ],
      inputs: [f32('x', [2, 3, 8, 8])],
      outputs: [out('y', [2, 3, 7, 9]), out('z', [1, 1, 10, 10])],
    }),
    { opset: 9, irVersion: 4 },
  );
}

function upsample7(): Model {
  return model(
    graph({
      name: 'upsample7',
      nodes: [
        node('Upsample', ['x'], ['near'], [attr.floats('scales', [1, 1, 2, 3]), attr.string('mode', 'nearest')], { name: 'up_nearest' }),
        node('Upsample', ['x'], ['lin'], [attr.floats('scales', [1, 1, 2, 2]), attr.string('mode', 'linear')], { name: 'up_linear' }),
      ],
      inputs: [f32('x', [1, 2, 3, 4])],
      outputs: [out('near', [1, 2, 6, 12]), out('lin', [1, 2, 6, 8])],
    }),
    { opset: 7, irVersion: 3 },
  );
}

function upsample9(): Model {
  return model(
    graph({
      name: 'upsample9',
      nodes: [node('Upsample', ['x', 'scales'], ['y'], [attr.string('mode', 'nearest')], { name: 'up' }), node('Relu', ['y'], ['r'])],
      initializers: [floatTensor('scales', [4], [1, 1, 2, 2])],
      inputs: [f32('x', [1, 3, 5, 5])],
      outputs: [out('r', [1, 3, 10, 10])],
    }),
    { opset: 9, irVersion: 4 },
  );
}

function resize10Down(): Model {
  return model(
    graph({
      name: 'resize10Down',
      nodes: [node('Resize', ['x', 'scales'], ['y'], [attr.string('mode', 'nearest')], { name: 'down' })],
      initializers: [floatTensor('scales', [4], [1, 1, 0.6, 0.6])],
      inputs: [f32('x', [1, 1, 7, 7])],
      outputs: [out('y', [1, 1, 4, 4])],
    }),
    { opset: 10, irVersion: 5 },
  );
}

function topKDropout(): Model {
  return model(
    graph({
      name: 'topKDropout',
      nodes: [
        node('TopK', ['x'], ['values', 'indices'], [attr.int('k', 3), attr.int('axis', -1)], { name: 'topk' }),
        node('Dropout', ['values'], ['dropped', 'mask'], [attr.float('ratio', 0.3)], { name: 'dropout' }),
      ],
      inputs: [f32('x', [2, 4, 6])],
      outputs: [out('dropped', [2, 4, 3]), out('indices', [2, 4, 3], 'int64')],
    }),
    { opset: 9, irVersion: 4 },
  );
}

function batchNorm7(): Model {
  const c = 3;
  const stats = (name: string, v: number[]) => floatTensor(name, [c], v);
  return model(
    graph({
      name: 'batchNorm7',
      nodes: [node('BatchNormalization', ['x', 'scale', 'bias', 'mean', 'var'], ['y'], [attr.int('spatial', 1), attr.float('epsilon', 1e-3)], { name: 'bn' })],
      initializers: [stats('scale', [1, 0.5, 2]), stats('bias', [0, 0.1, -0.2]), stats('mean', [0.1, 0.2, 0.3]), stats('var', [1, 2, 0.5])],
      // IR 3: initializers are listed as graph inputs too.
      inputs: [f32('x', [2, c, 4, 4]), ...['scale', 'bias', 'mean', 'var'].map((n) => f32(n, [c]))],
      outputs: [out('y', [2, c, 4, 4])],
    }),
    { opset: 7, irVersion: 3 },
  );
}

function softmaxes(): Model {
  return model(
    graph({
      name: 'softmaxes',
      nodes: [
        node('Softmax', ['x'], ['s'], [attr.int('axis', 1)], { name: 'softmax_axis1' }),
        node('LogSoftmax', ['x'], ['ls'], [attr.int('axis', 2)], { name: 'logsoftmax_last' }),
        node('Relu', ['x'], ['r']),
        node('Hardmax', ['r'], ['h'], [], { name: 'hardmax_default' }),
      ],
      inputs: [f32('x', [2, 3, 4])],
      outputs: [out('s', [2, 3, 4]), out('ls', [2, 3, 4]), out('h', [2, 3, 4])],
    }),
    { opset: 11, irVersion: 6 },
  );
}

function splitSqueezeReduce(): Model {
  return model(
    graph({
      name: 'splitSqueezeReduce',
      nodes: [
        node('Split', ['x'], ['a', 'b'], [attr.int('axis', 1), attr.ints('split', [1, 2])], { name: 'split' }),
        node('Squeeze', ['a'], ['sq'], [attr.ints('axes', [1])], { name: 'squeeze' }),
        node('Unsqueeze', ['sq'], ['us'], [attr.ints('axes', [0])], { name: 'unsqueeze' }),
        node('ReduceSum', ['b'], ['rs'], [attr.ints('axes', [1]), attr.int('keepdims', 0)], { name: 'reducesum' }),
        node('ReduceMean', ['b'], ['rm'], [attr.ints('axes', [-1])], { name: 'reducemean' }),
      ],
      inputs: [f32('x', [2, 3, 4])],
      outputs: [out('us', [1, 2, 4]), out('rs', [2, 4]), out('rm', [2, 2, 1])],
    }),
    { opset: 11, irVersion: 6 },
  );
}

function scatter9(): Model {
  return model(
    graph({
      name: 'scatter9',
      nodes: [node('Scatter', ['x', 'idx', 'upd'], ['y'], [attr.int('axis', 1)], { name: 'scatter' })],
      initializers: [int64Tensor('idx', [2, 2], [1, 0, 2, 1]), floatTensor('upd', [2, 2], [10, 20, 30, 40])],
      inputs: [f32('x', [2, 3])],
      outputs: [out('y', [2, 3])],
    }),
    { opset: 9, irVersion: 4 },
  );
}

/** An If whose branches hold ops that change on the way (Unsqueeze, Slice). */
function ifSubgraph(): Model {
  const branch = (scale: number, name: string) =>
    graph({
      name,
      nodes: [
        node('Mul', ['x', `k_${name}`], [`m_${name}`]),
        node('Slice', [`m_${name}`], [`s_${name}`], [attr.ints('starts', [1]), attr.ints('ends', [3]), attr.ints('axes', [1])]),
        node('Unsqueeze', [`s_${name}`], [`u_${name}`], [attr.ints('axes', [0])]),
      ],
      initializers: [tensor(`k_${name}`, 'float32', [], Float32Array.of(scale))],
      inputs: [],
      outputs: [out(`u_${name}`, [1, 2, 2])],
    });
  return model(
    graph({
      name: 'ifSubgraph',
      nodes: [
        node('ReduceSum', ['x'], ['total'], [attr.int('keepdims', 0)]),
        node('Greater', ['total', 'zero'], ['cond']),
        node('If', ['cond'], ['y'], [attr.graph('then_branch', branch(2, 'then')), attr.graph('else_branch', branch(-1, 'else'))], { name: 'if' }),
      ],
      initializers: [tensor('zero', 'float32', [], Float32Array.of(0))],
      inputs: [f32('x', [2, 4])],
      outputs: [out('y', [1, 2, 2])],
    }),
    { opset: 9, irVersion: 4 },
  );
}

export const OLD_OPSET_CASES: OldOpsetCase[] = [
  { name: 'pad-clip-slice-opset9', model: slicePadClip(), target: 12, converted: ['Slice@10', 'Clip@11', 'Pad@11'] },
  { name: 'upsample-opset7', model: upsample7(), target: 12, converted: ['Upsample@9', 'Upsample@10', 'Resize@11'] },
  { name: 'upsample-input-opset9', model: upsample9(), target: 12, converted: ['Upsample@10', 'Resize@11'] },
  { name: 'resize-downsample-opset10', model: resize10Down(), target: 12, converted: ['Resize@11'] },
  { name: 'topk-dropout-opset9', model: topKDropout(), target: 12, converted: ['TopK@10', 'Dropout@10', 'Dropout@12'] },
  { name: 'batchnorm-spatial-opset7', model: batchNorm7(), target: 12, converted: ['BatchNormalization@9'] },
  { name: 'softmax-opset11-to-13', model: softmaxes(), target: 13, converted: ['Hardmax@13', 'LogSoftmax@13', 'Softmax@13'] },
  { name: 'split-squeeze-reducesum-opset11-to-13', model: splitSqueezeReduce(), target: 13, converted: ['ReduceSum@13', 'Split@13', 'Squeeze@13', 'Unsqueeze@13'] },
  { name: 'scatter-opset9', model: scatter9(), target: 12, converted: ['Scatter@11'] },
  { name: 'if-subgraph-opset9-to-13', model: ifSubgraph(), target: 13, converted: ['Slice@10', 'Unsqueeze@13'] },
];
