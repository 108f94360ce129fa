// Builds the fixtures that exporters rarely write but users' models do contain, through tbn's
// own IR: external data, a float16 weight behind a Cast, an opset-18 model, and a tf2onnx-style
// opset-11 model whose weights are Constant nodes behind Transpose/Identity.
// Run: npx tsx scripts/make-ts-fixtures.ts  (part of `npm run fixtures`)

import fs from 'node:fs';
import path from 'node:path';
import { attr, floatTensor, graph, int64Tensor, model, node, tensor, valueInfo } from '../src/ir/build.js';
import { floatToHalf } from '../src/ir/dtype.js';
import type { OnnxTensor } from '../src/ir/types.js';
import { saveModel } from '../src/onnx/file.js';
import { Rng } from '../src/util/random.js';

const OUT = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'models');
const rng = new Rng(7);

function randomWeight(name: string, dims: number[], scale = 0.1): OnnxTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return floatTensor(name, dims, Float32Array.from({ length: n }, () => rng.normal() * scale));
}

function externalMlp(): void {
  const dir = path.join(OUT, 'external');
  fs.mkdirSync(dir, { recursive: true });
  const w1 = { ...randomWeight('fc1.weight', [256, 64]), encoding: 'external' as const };
  const w2 = { ...randomWeight('fc2.weight', [10, 256]), encoding: 'external' as const };
  const g = graph({
    name: 'external-mlp',
    nodes: [
      node('Gemm', ['x', 'fc1.weight', 'fc1.bias'], ['h'], [attr.int('transB', 1)], { name: 'fc1' }),
      node('Relu', ['h'], ['hr'], [], { name: 'relu' }),
      node('Gemm', ['hr', 'fc2.weight', 'fc2.bias'], ['y'], [attr.int('transB', 1)], { name: 'fc2' }),
    ],
    initializers: [w1, randomWeight('fc1.bias', [256]), w2, randomWeight('fc2.bias', [10])],
    inputs: [valueInfo('x', 'float32', ['N', 64])],
    outputs: [valueInfo('y', 'float32', ['N', 10])],
  });
  saveModel(model(g, { opset: 13 }), path.join(dir, 'mlp-external.onnx'), { externalLocation: 'mlp-external.onnx.data' });
}

function float16Weight(): void {
  const n = 128 * 64;
  const half = Uint16Array.from({ length: n }, () => floatToHalf(rng.normal() * 0.1));
  const g = graph({
    name: 'fp16-weight',
    nodes: [
      node('Cast', ['w.half'], ['w'], [attr.int('to', 1)], { name: 'cast_w' }),
      node('MatMul', ['x', 'w'], ['y'], [], { name: 'matmul' }),
      node('Tanh', ['y'], ['out'], [], { name: 'tanh' }),
    ],
    initializers: [tensor('w.half', 'float16', [128, 64], half)],
    inputs: [valueInfo('x', 'float32', ['N', 128])],
    outputs: [valueInfo('out', 'float32', ['N', 64])],
  });
  saveModel(model(g, { opset: 17 }), path.join(OUT, 'fp16-weight.onnx'));
}

function opset18(): void {
  const g = graph({
    name: 'opset18',
    nodes: [
      node('Conv', ['x', 'conv.w', 'conv.b'], ['c'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('kernel_shape', [3, 3])], { name: 'conv' }),
      node('Relu', ['c'], ['r'], [], { name: 'relu' }),
      node('ReduceMean', ['r', 'axes'], ['m'], [attr.int('keepdims', 0)], { name: 'gap' }),
      node('Gemm', ['m', 'fc.w', 'fc.b'], ['y'], [attr.int('transB', 1)], { name: 'fc' }),
    ],
    initializers: [
      randomWeight('conv.w', [16, 3, 3, 3]),
      randomWeight('conv.b', [16]),
      int64Tensor('axes', [2], [2, 3]),
      randomWeight('fc.w', [8, 16]),
      randomWeight('fc.b', [8]),
    ],
    inputs: [valueInfo('x', 'float32', ['N', 3, 12, 12])],
    outputs: [valueInfo('y', 'float32', ['N', 8])],
  });
  saveModel(model(g, { opset: 18, irVersion: 9 }), path.join(OUT, 'opset18-conv.onnx'));
}

function tfStyle(): void {
  const constant = (out: string, t: OnnxTensor) => node('Constant', [], [out], [attr.tensor('value', { ...t, name: undefined })], { name: out + '/Const' });
  const g = graph({
    name: 'tf2onnx-style',
    nodes: [
      constant('dense/kernel', randomWeight(undefined as never, [96, 32])),
      node('Transpose', ['dense/kernel'], ['dense/kernel/T'], [attr.ints('perm', [1, 0])], { name: 'dense/Transpose' }),
      node('MatMul', ['x', 'dense/kernel/T'], ['dense/MatMul'], [], { name: 'dense/MatMul' }),
      constant('dense/bias', randomWeight(undefined as never, [96])),
      node('Add', ['dense/MatMul', 'dense/bias'], ['dense/BiasAdd'], [], { name: 'dense/BiasAdd' }),
      node('Relu', ['dense/BiasAdd'], ['dense/Relu'], [], { name: 'dense/Relu' }),
      constant('out/kernel', randomWeight(undefined as never, [96, 5])),
      node('Identity', ['out/kernel'], ['out/kernel/read'], [], { name: 'out/kernel/read' }),
      node('MatMul', ['dense/Relu', 'out/kernel/read'], ['logits'], [], { name: 'out/MatMul' }),
    ],
    inputs: [valueInfo('x', 'float32', ['unk__0', 32])],
    outputs: [valueInfo('logits', 'float32', ['unk__0', 5])],
  });
  const m = model(g, { opset: 11, irVersion: 6, producer: 'tf2onnx-style' });
  m.producerVersion = '1.9.3';
  saveModel(m, path.join(OUT, 'tf-style-opset11.onnx'));
}

externalMlp();
float16Weight();
opset18();
tfStyle();
console.log(`TypeScript-built fixtures written to ${OUT}`);
