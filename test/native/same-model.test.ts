// A user never sees which backend fine-tuned: `tbn compress` with the same seed on the
// TypeScript and on the native backend writes the same compressed model up to float rounding —
// the same tile bits (a sign may flip only where a region sum sits at rounding distance from
// zero), scales within float tolerance, and outputs that agree on the test images.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../src/engine/index.js';
import { loadData } from '../../src/data/dataset.js';
import { loadModel } from '../../src/onnx/file.js';
import { compressModel } from '../../src/pipeline/compress.js';
import { compareModels } from '../../src/verify/compare.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { backendOf, nativeReason, skipNative, type BackendName } from './helpers.js';

async function compressOn(name: BackendName, dir: string): Promise<string> {
  const prev = E.getBackend();
  E.setBackend(backendOf(name));
  try {
    const output = path.join(dir, `${name}.onnx`);
    const report = await compressModel({ model: modelPath('mnist-mlp.onnx'), output, data: dataPath('mnist-calib.npz'), p: 4, seed: 3, evalSamples: 1, steps: 60 });
    expect(report.finetune?.backend).toBe(name);
    return output;
  } finally {
    E.setBackend(prev);
  }
}

describe.skipIf(skipNative)(`the same seed on either backend${nativeReason}`, () => {
  it('tbn compress writes the same model up to float rounding on TypeScript and native', { timeout: 300_000 }, async () => {
    const dir = tmpDir();
    const jsFile = await compressOn('js', dir);
    const js = loadModel(jsFile).model;
    const nativeFile = await compressOn('native', dir);
    const native = loadModel(nativeFile).model;
    const byName = new Map(native.graph.initializers.map((t) => [t.name, t]));
    let bits = 0;
    let flipped = 0;
    let scales = 0;
    for (const a of js.graph.initializers) {
      const b = byName.get(a.name)!;
      expect(b.dims, a.name).toEqual(a.dims);
      if (a.dtype === 'uint8') {
        const x = a.data as Uint8Array;
        const y = b.data as Uint8Array;
        for (let i = 0; i < x.length; i++) {
          bits += 8;
          for (let d = x[i]! ^ y[i]!; d; d &= d - 1) flipped++;
        }
      } else if (a.dtype === 'float32' && a.name?.endsWith('scales')) {
        scales++;
        const x = a.data as Float32Array;
        const y = b.data as Float32Array;
        for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!), `${a.name}[${i}]`).toBeLessThanOrEqual(1e-3 * Math.abs(x[i]!) + 1e-6);
      }
    }
    expect(scales).toBe(2);
    expect(bits).toBeGreaterThan(60_000);
    expect(flipped / bits).toBeLessThan(0.005);
    const { model } = loadModel(modelPath('mnist-mlp.onnx'));
    expect(fs.existsSync(jsFile)).toBe(true);
    const test = await loadData(dataPath('mnist-test.npz'), model);
    const r = await compareModels(jsFile, nativeFile, { data: test, model, samples: 1000, seed: 0 });
    expect(r.outputs[0]!.top1Agreement!).toBeGreaterThanOrEqual(0.99);
  });
});
