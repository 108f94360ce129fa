// Moving the hidden units of recurrent nodes (perm-flow's LSTM/GRU/RNN rule): with W and R in
// the hidden-unit layout, the permuted fp32 model equals the original in onnxruntime — on the
// LSTM and GRU fixtures and on a stacked bidirectional LSTM (peepholes, initial states) feeding a GRU
// whose input features move with the LSTM's units — and the tile groups grow more alike.
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { attr, graph, int64Tensor, model, node, valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { loadModel } from '../../src/onnx/file.js';
import { permuteChannels } from '../../src/tbn/permute.js';
import { selectLayers } from '../../src/tbn/select.js';
import { concreteShapes } from '../../src/tbn/shapes.js';
import { Rng } from '../../src/util/random.js';
import { modelPath } from '../helpers/fixtures.js';
import { expectSameOutputs } from '../helpers/ort.js';
import { randomWeight } from '../helpers/models.js';

const expectSameFunction = (m: Model, pm: Model) => expectSameOutputs(m, pm, syntheticInputs(m, { batch: 3, seed: 2 }), { atol: 1e-5, rtol: 1e-5 });

const [T, B, I, H] = [5, 3, 8, 16];

/** x → bidirectional LSTM (peepholes, initial states) → [T, B, 2H] → GRU → Y_h → Gemm head. */
function stacked(): Model {
  const rng = new Rng(7);
  const g = graph({
    name: 'stacked',
    nodes: [
      node('LSTM', ['x', 'l.W', 'l.R', 'l.B', '', 'l.h0', 'l.c0', 'l.P'], ['l_y'], [attr.int('hidden_size', H), attr.string('direction', 'bidirectional')], { name: 'lstm' }),
      node('Transpose', ['l_y'], ['l_t'], [attr.ints('perm', [0, 2, 1, 3])]),
      node('Reshape', ['l_t', 'shape'], ['g_x']),
      node('GRU', ['g_x', 'g.W', 'g.R', 'g.B'], ['', 'g_h'], [attr.int('hidden_size', H)], { name: 'gru' }),
      node('Squeeze', ['g_h', 'axis0'], ['feat']),
      node('Gemm', ['feat', 'head.W', 'head.b'], ['y'], [attr.int('transB', 1)], { name: 'head' }),
    ],
    initializers: [
      randomWeight(rng, 'l.W', [2, 4 * H, I], 0.4),
      randomWeight(rng, 'l.R', [2, 4 * H, H], 0.4),
      randomWeight(rng, 'l.B', [2, 8 * H]),
      randomWeight(rng, 'l.h0', [2, B, H]),
      randomWeight(rng, 'l.c0', [2, B, H]),
      randomWeight(rng, 'l.P', [2, 3 * H]),
      int64Tensor('shape', [3], [T, B, 2 * H]),
      randomWeight(rng, 'g.W', [1, 3 * H, 2 * H], 0.4),
      randomWeight(rng, 'g.R', [1, 3 * H, H], 0.4),
      randomWeight(rng, 'g.B', [1, 6 * H]),
      int64Tensor('axis0', [1], [0]),
      randomWeight(rng, 'head.W', [10, H]),
      randomWeight(rng, 'head.b', [10]),
    ],
    inputs: [valueInfo('x', 'float32', [T, B, I])],
    outputs: [valueInfo('y', 'float32', [B, 10])],
  });
  return model(g, { opset: 14 });
}

async function permuteHidden(m: Model, p = 4) {
  const { chosen } = selectLayers(m, { p, minParams: 0, tileAxis: 'hidden' });
  return permuteChannels(m, chosen, await concreteShapes(m));
}

describe('permuting recurrent hidden units', () => {
  it.each([
    ['mnist-lstm.onnx', '/lstm/LSTM'],
    ['mnist-gru.onnx', '/lstm/GRU'],
  ])('%s: the fp32 function is unchanged and the tile groups grow more alike', async (file, node) => {
    const { model: m } = loadModel(modelPath(file));
    const { model: pm, report } = await permuteHidden(m);
    expect(report).toHaveLength(1);
    expect(report[0]).toMatchObject({ layers: [node], channels: 96, p: 4, permuted: true });
    expect(report[0]!.similarityAfter!).toBeGreaterThan(report[0]!.similarityBefore!);
    await expectSameFunction(m, pm);
  });

  it('a bidirectional LSTM feeding a GRU: both move, the GRU’s W columns with the LSTM’s units', async () => {
    const m = stacked();
    const { model: pm, report } = await permuteHidden(m);
    expect(report.map((r) => [r.layers[0], r.permuted])).toEqual([
      ['lstm', true],
      ['gru', true],
    ]);
    const init = (mm: Model, name: string) => mm.graph.initializers.find((t) => t.name === name)!.data as Float32Array;
    for (const name of ['l.W', 'l.R', 'l.B', 'l.h0', 'l.c0', 'l.P', 'g.W', 'g.R', 'g.B', 'head.W']) expect(init(pm, name), name).not.toEqual(init(m, name));
    await expectSameFunction(m, pm);
  });

  it('the gate-row layout leaves the hidden units where they are, and says why', async () => {
    const { model: m } = loadModel(modelPath('mnist-lstm.onnx'));
    const { chosen } = selectLayers(m, { p: 4, minParams: 0, tileAxis: 'output' });
    const { model: pm, report } = permuteChannels(m, chosen, await concreteShapes(m));
    expect(pm).toBe(m);
    expect(report.find((r) => r.layers[0] === '/lstm/LSTM')).toMatchObject({ permuted: false, reason: expect.stringMatching(/gate rows/) });
  });
});
