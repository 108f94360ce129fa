// load → save of an unchanged model gives back the same ModelProto, field for field, and
// onnxruntime computes bit-identical outputs from both files.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../../src/onnx/file.js';
import { decodeModel, modelToPlain } from '../../../src/onnx/proto.js';
import { createOrtSession } from '../../../src/runtime/ort.js';
import { syntheticInputs } from '../../../src/data/synthetic.js';
import { EXPORTER_MODELS, TORCH_MODELS, modelPath } from '../../helpers/fixtures.js';
import { tmpDir } from '../../helpers/tmp.js';

const ALL = [...TORCH_MODELS, 'tf-style-opset11.onnx', 'fp16-weight.onnx', 'opset18-conv.onnx', 'external/mlp-external.onnx', ...EXPORTER_MODELS];

describe.each(ALL)('round trip of %s', (name) => {
  it('writes the same ModelProto and the same outputs', async () => {
    const src = modelPath(name);
    const out = path.join(tmpDir(), path.basename(name));
    const { model } = loadModel(src);
    saveModel(model, out);
    const a = modelToPlain(decodeModel(fs.readFileSync(src)));
    const b = modelToPlain(decodeModel(fs.readFileSync(out)));
    expect(b).toEqual(a);

    const feeds = syntheticInputs(model, { batch: 3, seed: 1 });
    const s1 = await createOrtSession(src, { noOptimize: true, threads: 1 });
    const s2 = await createOrtSession(out, { noOptimize: true, threads: 1 });
    const [r1, r2] = [await s1.run(feeds), await s2.run(feeds)];
    for (const k of Object.keys(r1)) expect(r2[k]!.data).toEqual(r1[k]!.data);
    if (name.startsWith('external/')) {
      // External data goes back to a file of the same name, byte for byte.
      const data = path.basename(src) + '.data';
      expect(fs.readFileSync(path.join(path.dirname(out), data))).toEqual(fs.readFileSync(path.join(path.dirname(src), data)));
    }
    await s1.release();
    await s2.release();
  });
});
