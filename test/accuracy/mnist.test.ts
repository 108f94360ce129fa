// The product's promise on the MNIST fixtures: `tbn compress -p 4` with the default fine-tune
// keeps top-1 accuracy on the 2 000 held-out test images within 2 points of fp32, at ≤ 0.27
// bits per tiled weight (the README's "Accuracy after compression").
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadData } from '../../src/data/dataset.js';
import { loadModel } from '../../src/onnx/file.js';
import { compressModel } from '../../src/pipeline/compress.js';
import { compareModels } from '../../src/verify/compare.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

describe.each(['mnist-mlp.onnx', 'mnist-cnn.onnx'])('%s at p = 4 with the default fine-tune', (name) => {
  it('stays within 2 points of fp32 on held-out data at ≤ 0.27 bits per tiled weight', { timeout: 30 * 60_000 }, async () => {
    const out = path.join(tmpDir(), name);
    const report = await compressModel({ model: modelPath(name), output: out, data: dataPath('mnist-calib.npz'), p: 4, evalSamples: 1 });
    expect(report.layers.length).toBeGreaterThanOrEqual(2);
    expect(report.sizes.bitsPerTiledWeight!).toBeLessThanOrEqual(0.27);
    const { model } = loadModel(modelPath(name));
    const test = await loadData(dataPath('mnist-test.npz'), model);
    const a = await compareModels(modelPath(name), out, { data: test, model, samples: test.count, seed: 0 });
    const acc = a.outputs[0]!.accuracy!;
    console.log(`${name}: fp32 ${(100 * acc.original).toFixed(2)} %, p = 4 ${(100 * acc.compressed).toFixed(2)} %, ${report.finetune?.seconds.toFixed(0)} s fine-tuning on ${report.finetune?.backend}`);
    expect(100 * (acc.original - acc.compressed)).toBeLessThanOrEqual(2);
  });
});
