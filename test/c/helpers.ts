// Shared by the C-export tests: small in-memory models and an export into a temporary folder.
import fs from 'node:fs';
import path from 'node:path';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import type { Model, OnnxTensor } from '../../src/ir/types.js';
import { exportModel, type ExportOptions, type ExportReport } from '../../src/pipeline/export.js';
import { Rng } from '../../src/util/random.js';
import { toBytes } from '../helpers/compress.js';
import { tmpDir } from '../helpers/tmp.js';

export function randomW(rng: Rng, name: string, dims: number[], scale = 0.3): OnnxTensor {
  return floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale));
}

/** Writes `m` to a temporary .onnx file. */
export function modelFile(m: Model, name = 'model.onnx'): string {
  const file = path.join(tmpDir('tbn-c-model-'), name);
  fs.writeFileSync(file, toBytes(m));
  return file;
}

/** Exports a model (file or in-memory) into a fresh temporary folder. */
export async function exportTo(source: string | Model, opts: Partial<ExportOptions> = {}): Promise<ExportReport> {
  const file = typeof source === 'string' ? source : modelFile(source);
  const out = path.join(tmpDir('tbn-c-out-'), opts.name ?? 'model');
  return exportModel({ model: file, target: 'mcu', out, name: 'model', samples: 4, ...opts });
}

/** Conv + BatchNorm + Relu + MaxPool → Flatten → Gemm: the LeNet block in miniature. */
export function tinyCnn(seed = 1): Model {
  const rng = new Rng(seed);
  const g = graph({
    name: 'tiny',
    nodes: [
      node('Conv', ['x', 'c.w', 'c.b'], ['c'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('kernel_shape', [3, 3])], { name: 'conv' }),
      node('BatchNormalization', ['c', 'bn.g', 'bn.b', 'bn.m', 'bn.v'], ['bn'], [attr.float('epsilon', 1e-5)], { name: 'bn' }),
      node('Relu', ['bn'], ['r'], [], { name: 'relu' }),
      node('MaxPool', ['r'], ['p'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])], { name: 'pool' }),
      node('Flatten', ['p'], ['f'], [], { name: 'flatten' }),
      node('Gemm', ['f', 'g.w', 'g.b'], ['y'], [attr.int('transB', 1)], { name: 'fc' }),
    ],
    initializers: [
      randomW(rng, 'c.w', [4, 1, 3, 3]),
      randomW(rng, 'c.b', [4]),
      randomW(rng, 'bn.g', [4]),
      randomW(rng, 'bn.b', [4]),
      randomW(rng, 'bn.m', [4]),
      floatTensor('bn.v', [4], [0.5, 1, 1.5, 2]),
      randomW(rng, 'g.w', [3, 36]),
      randomW(rng, 'g.b', [3]),
    ],
    inputs: [valueInfo('x', 'float32', ['N', 1, 6, 6])],
    outputs: [valueInfo('y', 'float32', ['N', 3])],
  });
  return model(g, { opset: 17 });
}
