// Every fixture model through the interpreter against onnxruntime-node on the same inputs:
// synthetic inputs at two batch sizes (one compiled program: the batch dimension is dynamic)
// and the fixture data sets. Error bound: 1e-4 × the output's scale (max |reference|).

import { afterAll, describe, expect, it } from 'vitest';
import { readArrays } from '../../../src/data/dataset.js';
import { syntheticInputs } from '../../../src/data/synthetic.js';
import { compile, type Program } from '../../../src/interp/index.js';
import type { Model } from '../../../src/ir/types.js';
import { loadModel } from '../../../src/onnx/file.js';
import { createOrtSession, type OrtSession } from '../../../src/runtime/ort.js';
import { sliceBatch, toFloat64, type HostTensor } from '../../../src/util/host-tensor.js';
import { dataPath, modelPath, TORCH_MODELS } from '../../helpers/fixtures.js';

const TS_MODELS = ['tf-style-opset11.onnx', 'fp16-weight.onnx', 'opset18-conv.onnx', 'external/mlp-external.onnx'];
const DATA: Record<string, string> = {
  'mnist-mlp.onnx': 'mnist-test.npz',
  'mnist-cnn.onnx': 'mnist-test.npz',
  'mnist-resnet.onnx': 'mnist-test.npz',
  'tcn-1d.onnx': 'tcn-calib.npz',
  'transformer-encoder.onnx': 'transformer-calib.npz',
};

async function compare(program: Program, ort: OrtSession, feeds: Record<string, HostTensor>): Promise<void> {
  const ours = program.runHost(feeds);
  const ref = await ort.run(feeds);
  for (const [name, want] of Object.entries(ref)) {
    const got = ours[name]!;
    expect(got.dims).toEqual(want.dims);
    const w = toFloat64(want);
    const scale = Math.max(1e-3, ...w.map(Math.abs));
    expect(toFloat64(got), `${name} (scale ${scale.toPrecision(3)})`).toBeAllclose(w, { atol: 1e-4 * scale, rtol: 0 });
  }
}

describe.each([...TORCH_MODELS, ...TS_MODELS])('%s', (file) => {
  let model: Model;
  let program: Program;
  let ort: OrtSession;
  const setup = async () => {
    if (program) return;
    model = loadModel(modelPath(file)).model;
    program = compile(model);
    ort = await createOrtSession(modelPath(file));
  };
  afterAll(async () => {
    program?.dispose();
    await ort?.release();
  });

  it('matches onnxruntime on synthetic inputs, batch 1 and 3', async () => {
    await setup();
    for (const batch of [1, 3]) await compare(program, ort, syntheticInputs(model, { batch, seed: batch }));
  });

  // The models tbn builds itself (TS_MODELS) have no data set: synthetic inputs only.
  if (DATA[file]) it('matches onnxruntime on the fixture data', async () => {
    await setup();
    const { arrays } = await readArrays(dataPath(DATA[file]!));
    const feeds = Object.fromEntries(program.inputs.map((i) => [i.name, sliceBatch(arrays.get(i.name)!, 0, 16)]));
    await compare(program, ort, feeds);
  });
});
