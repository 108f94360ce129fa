// In-memory models shared by several test tiers, and onnx.checker on a model.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { Rng } from '../../src/util/random.js';
import { tmpDir } from './tmp.js';

export function randomWeight(rng: Rng, name: string, dims: number[], scale = 0.2) {
  return floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale));
}

/**
 * Layers that exercise every form of the compressed format: a Conv without bias (auto_pad,
 * strides), a grouped dilated Conv, a Gemm without bias with transB = 0 and alpha, a MatMul,
 * and a MatMul whose weight is the first operand (TbnDecode).
 */
export function coverageModel(): Model {
  const rng = new Rng(11);
  const g = graph({
    name: 'coverage',
    nodes: [
      node('Conv', ['x', 'c1.w'], ['c1'], [attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 2])], { name: 'conv_nobias' }),
      node('Conv', ['c1', 'c2.w', 'c2.b'], ['c2'], [attr.int('group', 2), attr.ints('dilations', [2, 2]), attr.ints('pads', [2, 2, 2, 2])], { name: 'conv_group' }),
      node('Flatten', ['c2'], ['f']),
      node('Gemm', ['f', 'g1.w'], ['g1'], [attr.float('alpha', 0.5)], { name: 'gemm_nobias_transB0' }),
      node('MatMul', ['g1', 'm1.w'], ['m1'], [], { name: 'matmul' }),
      node('Transpose', ['m1'], ['m1t'], [attr.ints('perm', [1, 0])]),
      node('MatMul', ['m2.w', 'm1t'], ['y'], [], { name: 'matmul_w_first' }),
    ],
    initializers: [
      randomWeight(rng, 'c1.w', [6, 3, 3, 3]),
      randomWeight(rng, 'c2.w', [8, 3, 3, 3]),
      randomWeight(rng, 'c2.b', [8]),
      randomWeight(rng, 'g1.w', [8 * 4 * 4, 12]),
      randomWeight(rng, 'm1.w', [12, 10]),
      randomWeight(rng, 'm2.w', [6, 10]),
    ],
    inputs: [valueInfo('x', 'float32', ['N', 3, 8, 8])],
    outputs: [valueInfo('y', 'float32', [6, 'N'])],
  });
  return model(g, { opset: 17 });
}

/** Whether Debian's python3-onnx is importable by /usr/bin/python3. */
export const hasPythonOnnx = await (async () => {
  const { execFileSync } = await import('node:child_process');
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** onnx.checker.check_model(full_check=True) on the model's bytes: 'ok', or throws with its error. */
export function onnxChecker(bytes: Uint8Array): string {
  const file = path.join(tmpDir(), 'model.onnx');
  fs.writeFileSync(file, bytes);
  const script = 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print("ok")';
  return execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}
