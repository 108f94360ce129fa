// The compressed model's ONNX functions (stock onnxruntime, no custom-op library) give the
// same outputs as the expanded form, whose weights are exactly the TypeScript decode of the
// tiles; onnx.checker (full_check) accepts the custom form.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import { decodeTile } from '../../src/tbn/tile.js';
import { Rng } from '../../src/util/random.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { TORCH_MODELS, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

async function outputs(bytes: Uint8Array, feeds: ReturnType<typeof syntheticInputs>) {
  const s = await createOrtSession(bytes, { threads: 1 });
  const r = await s.run(feeds);
  await s.release();
  return r;
}

function randomW(rng: Rng, name: string, dims: number[]) {
  return floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.2));
}

/** Layers that exercise every op form: p not dividing out, tile_axis 1, no bias, W·x MatMul, grouped conv. */
function coverageModel() {
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
      randomW(rng, 'c1.w', [6, 3, 3, 3]),
      randomW(rng, 'c2.w', [8, 3, 3, 3]),
      randomW(rng, 'c2.b', [8]),
      randomW(rng, 'g1.w', [8 * 4 * 4, 12]),
      randomW(rng, 'm1.w', [12, 10]),
      randomW(rng, 'm2.w', [6, 10]),
    ],
    inputs: [valueInfo('x', 'float32', ['N', 3, 8, 8])],
    outputs: [valueInfo('y', 'float32', [6, 'N'])],
  });
  return model(g, { opset: 17 });
}

const cases: [string, () => Parameters<typeof compressInMemory>[0], Parameters<typeof compressInMemory>[2]][] = [
  ...TORCH_MODELS.map((m) => [m, () => modelPath(m), { p: 4 }] as [string, () => string, { p: number }]),
  ['mnist-mlp.onnx p=8 per input axis', () => modelPath('mnist-mlp.onnx'), { p: 8, axis: 'input' }],
  ['coverage p=2', coverageModel, { p: 2 }],
  ['coverage p=4 tile_axis 1', coverageModel, { p: 4, axis: 'input' }],
  ['opset18-conv.onnx', () => modelPath('opset18-conv.onnx'), { p: 4 }],
];

describe.each(cases)('function form of %s', (_name, source, opts) => {
  it('equals the expanded form, whose weights are the TypeScript decode of the tiles', async () => {
    const custom = compressInMemory(source(), 'custom', opts);
    const expanded = compressInMemory(source(), 'expanded', opts);
    expect(custom.tiled.length).toBeGreaterThan(0);
    for (const t of expanded.tiled) {
      const w = expanded.model.graph.initializers.find((i) => i.name === `${t.layer.source.name}_tbn`)!;
      expect(Array.from(w.data as Float32Array)).toEqual(Array.from(decodeTile(t.tile, t.layout)));
    }
    const feeds = syntheticInputs(custom.original, { batch: 3, seed: 5 });
    const [a, b] = [await outputs(custom.bytes, feeds), await outputs(expanded.bytes, feeds)];
    for (const k of Object.keys(b)) {
      const ref = b[k]!.data as Float32Array;
      const scale = Math.max(...Array.from(ref, Math.abs));
      expect(a[k]!.data as Float32Array).toBeAllclose(ref, { atol: 1e-5 * scale, rtol: 1e-5 });
    }
  });
});

const hasOnnx = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasOnnx && process.env.CI !== 'true')('onnx.checker', () => {
  // Debian's onnx 1.12 knows IR ≤ 8 and opset ≤ 17: newer models are beyond its checker.
  const checkable = cases.filter(([name]) => !name.startsWith('opset18'));
  it.each(checkable)('accepts the custom form of %s (full_check)', (_name, source, opts) => {
    const file = path.join(tmpDir(), 'model.onnx');
    fs.writeFileSync(file, toBytes(compressInMemory(source(), 'custom', opts).model));
    const script = 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print("ok")';
    expect(execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()).toBe('ok');
  });
});
