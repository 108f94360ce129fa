// All forms give the engine's own TBN forward: the student program (interpreter, weights
// produced by the TBN parametrisation from latent weights) equals the compressed model run by
// onnxruntime through its ONNX functions, within 1e-4 of the output scale, on every fixture.
import { describe, expect, it } from 'vitest';
import * as E from '../../src/engine/index.js';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { compile } from '../../src/interp/index.js';
import { loadModel } from '../../src/onnx/file.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import { tileChoices } from '../../src/tbn/method.js';
import { consumedWeight } from '../../src/tbn/layers.js';
import { tiledWeight } from '../../src/tbn/parametrize.js';
import { rewriteModel } from '../../src/tbn/rewrite.js';
import { selectLayers } from '../../src/tbn/select.js';
import { toBytes } from '../helpers/compress.js';
import { TORCH_MODELS, modelPath } from '../helpers/fixtures.js';

const cases = [...TORCH_MODELS, 'tf-style-opset11.onnx', 'fp16-weight.onnx', 'opset18-conv.onnx'];

describe.each(cases)('TBN forward of %s', (name) => {
  it.each(['per-tile', 'per-layer'] as const)('engine (α %s) equals onnxruntime on the compressed model', async (alpha) => {
    const { model } = loadModel(modelPath(name));
    const chosen = selectLayers(model, { p: 4, minParams: 0 }).chosen;
    expect(chosen.length).toBeGreaterThan(0);
    const format = name.startsWith('tf-style') ? 'expanded' : 'custom'; // opset 11: no functions
    const compressed = rewriteModel(model, tileChoices(chosen, alpha), { format });
    const program = compile(model);
    for (const c of chosen) {
      const w = E.keep(E.tensor(consumedWeight(c.layer), c.layout.shape));
      program.setProducer(c.layer.node.inputs[c.layer.weightInput]!, () => tiledWeight(w, undefined, c.layout, alpha));
    }
    const feeds = syntheticInputs(model, { batch: 3, seed: 9 });
    const ours = program.runHost(feeds);
    const session = await createOrtSession(toBytes(compressed), { threads: 1 });
    const ref = await session.run(feeds);
    await session.release();
    program.dispose();
    for (const k of Object.keys(ref)) {
      const r = ref[k]!.data as Float32Array;
      const scale = Math.max(1e-6, ...Array.from(r, Math.abs));
      expect(ours[k]!.data as Float32Array).toBeAllclose(r, { atol: 1e-4 * scale, rtol: 0 });
    }
  });
});
