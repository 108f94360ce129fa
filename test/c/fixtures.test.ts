// The exported fixtures (real PyTorch exports) compiled with the host C compiler and compared
// with onnxruntime on their own data: plain fp32 ("p = 1") and compressed with tiles.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compressInMemory } from '../helpers/compress.js';
import { dataPath, modelPath, TORCH_MODELS } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import type { SelectOptions } from '../../src/tbn/select.js';
import { exportTo } from './helpers.js';
import { hasCC } from './tools.js';

// tcn-calib.npz names its targets 'target', which is not the model's output name, so
// loadData refuses it: the TCN runs on synthetic inputs.
const DATA: Record<string, string | undefined> = {
  'mnist-mlp.onnx': 'mnist-test.npz',
  'mnist-cnn.onnx': 'mnist-test.npz',
  'mnist-resnet.onnx': 'mnist-test.npz',
  'tcn-1d.onnx': undefined,
  'transformer-encoder.onnx': 'transformer-calib.npz',
};
const data = (fixture: string) => (DATA[fixture] ? dataPath(DATA[fixture]) : undefined);

function compressedFile(fixture: string, opts: SelectOptions): string {
  const file = path.join(tmpDir('tbn-c-fixture-'), fixture.replace('.onnx', '.tbn.onnx'));
  fs.writeFileSync(file, compressInMemory(modelPath(fixture), 'custom', opts).bytes);
  return file;
}

function expectPass(r: Awaited<ReturnType<typeof exportTo>>) {
  expect(r.host.status, r.host.reason).toBe('pass');
  expect(r.host.samples).toBe(5);
  for (const o of r.host.outputs!) expect(o.maxAbsErr).toBeLessThanOrEqual(1e-4 * o.scale);
}

describe.skipIf(!hasCC())('fixtures exported to C match onnxruntime', () => {
  it.each(TORCH_MODELS)('%s, fp32 (p = 1)', async (fixture) => {
    const r = await exportTo(modelPath(fixture), { data: data(fixture), samples: 5 });
    expectPass(r);
    expect(r.flash.tileBytes).toBe(0);
    expect(r.host.top1Agree).toBe(5);
  });

  it.each<[string, SelectOptions]>([
    ['mnist-mlp.onnx', { p: 4 }],
    ['mnist-mlp.onnx', { p: 8, tileAxis: 'input' }],
    ['mnist-cnn.onnx', { p: 4, minParams: 10_000 }],
    ['mnist-resnet.onnx', { p: 4 }],
    ['tcn-1d.onnx', { p: 4 }],
    ['transformer-encoder.onnx', { p: 4 }],
  ])('%s compressed %o', async (fixture, opts) => {
    const r = await exportTo(compressedFile(fixture, opts), { data: data(fixture), samples: 5 });
    expectPass(r);
    expect(r.flash.tileBytes).toBeGreaterThan(0);
    // no fp32 copy of a tiled weight: every Tbn* layer's flash is tile bits, scales and small vectors
    for (const l of r.layers.filter((x) => x.op.startsWith('Tbn'))) expect(l.kernel).toMatch(/^tbn_tiled_/);
  });

  it.each([
    ['external/mlp-external.onnx', 'external data'],
    ['tf-style-opset11.onnx', 'Constant weights behind Transpose and Identity, opset 11'],
    ['fp16-weight.onnx', 'a float16 weight behind Cast'],
    ['opset18-conv.onnx', 'opset 18, ReduceMean with axes as an input'],
  ])(
    '%s (%s)',
    async (fixture) => {
      const r = await exportTo(modelPath(fixture), { samples: 5 });
      expectPass(r);
    },
  );

  it('the LeNet-style CNN: conv + BatchNorm + ReLU + MaxPool fused, so 32×28×28 never exists', async () => {
    const r = await exportTo(modelPath('mnist-cnn.onnx'), { data: dataPath('mnist-test.npz'), samples: 5 });
    expectPass(r);
    const convs = r.layers.filter((l) => l.op === 'Conv');
    expect(convs).toHaveLength(3);
    for (const c of convs) expect(c.fused).toEqual(['BatchNormalization', 'Relu', 'MaxPool']);
    // largest set alive: 32×14×14 (pooled conv1), 64×7×7 (pooled conv2) and one 14×14 plane of conv2
    expect(r.ram.arenaBytes).toBe(4 * (32 * 14 * 14 + 64 * 7 * 7 + 14 * 14));
    expect(r.ram.arenaBytes).toBeLessThan(4 * 32 * 28 * 28);
  });
});
