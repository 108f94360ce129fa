// Channel permutation keeps the fp32 function (onnxruntime on the permuted model equals the
// original), ties residual partners together, refuses spaces it cannot follow, and makes
// the tiles fit better.
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { loadModel } from '../../src/onnx/file.js';
import { groupChannels, permuteChannels } from '../../src/tbn/permute.js';
import { selectLayers } from '../../src/tbn/select.js';
import { concreteShapes } from '../../src/tbn/shapes.js';
import { Rng } from '../../src/util/random.js';
import { TORCH_MODELS, modelPath } from '../helpers/fixtures.js';
import { expectSameOutputs } from '../helpers/ort.js';

async function permute(m: Model, p = 4) {
  const sel = selectLayers(m, { p, minParams: 0 });
  return permuteChannels(m, sel.chosen, await concreteShapes(m));
}

describe.each(TORCH_MODELS)('channel permutation of %s', (name) => {
  it('leaves the fp32 outputs unchanged', async () => {
    const { model: m } = loadModel(modelPath(name));
    const { model: pm, report } = await permute(m);
    await expectSameOutputs(m, pm, syntheticInputs(m, { batch: 4, seed: 2 }), { atol: 2e-5, rtol: 1e-4 });
    if (name.startsWith('mnist')) {
      expect(report.some((r) => r.permuted)).toBe(true);
      for (const r of report.filter((x) => x.permuted)) expect(r.similarityAfter!).toBeGreaterThan(r.similarityBefore!);
    }
  });
});

describe('channel spaces', () => {
  it('ties the residual partners of a ResNet stage into one space', async () => {
    const { model: m } = loadModel(modelPath('mnist-resnet.onnx'));
    const { report } = await permute(m);
    expect(report.some((r) => r.permuted && r.layers.length >= 2)).toBe(true);
  });

  it('keeps a layer whose output is a graph output', async () => {
    const rng = new Rng(1);
    const w = (n: string, d: number[]) => floatTensor(n, d, Float32Array.from({ length: d[0]! * d[1]! }, () => rng.normal()));
    const m = model(
      graph({
        nodes: [node('Gemm', ['x', 'w1'], ['h'], [attr.int('transB', 1)], { name: 'fc1' }), node('Relu', ['h'], ['y'], [], { name: 'relu' })],
        initializers: [w('w1', [64, 8])],
        inputs: [valueInfo('x', 'float32', ['N', 8])],
        outputs: [valueInfo('y', 'float32', ['N', 64])],
      }),
    );
    const { report } = await permute(m);
    expect(report).toHaveLength(1);
    expect(report[0]).toMatchObject({ permuted: false, reason: "'y' is a graph output" });
  });

  it('groups alike rows: identical rows end up sharing a tile row', () => {
    // Channels 0..7; rows 2k and 2k+1 identical: p = 2 must pair them.
    const c = 8;
    const sim = new Float64Array(c * c);
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) sim[i * c + j] = i >> 1 === j >> 1 ? 1 : 0;
    const order = groupChannels(sim, c, 2, new Float64Array(c).fill(1));
    for (let j = 0; j < 4; j++) expect(order[j]! >> 1).toBe(order[j + 4]! >> 1);
    expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
