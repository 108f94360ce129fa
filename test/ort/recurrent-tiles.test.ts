// Tiled LSTM/GRU weights: both W and R of each recurrent node are found as layers (the
// [D·G·H, in] matrix of gate rows; by default tiled along the hidden units), the custom form (TbnDecode → Reshape → the standard node)
// runs in stock onnxruntime, passes onnx.checker and equals the expanded form, whose weights are the TypeScript
// decode of the tiles; the custom-op library runs it too; gradients of a student reach the
// latent weights through the recurrent ops; the MCU export refuses it in one line.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import * as E from '../../src/engine/index.js';
import { attr, graph, model, node, valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { buildStudent, DEFAULT_FINETUNE } from '../../src/tbn/finetune.js';
import { selectLayers } from '../../src/tbn/select.js';
import { decodeTile } from '../../src/tbn/tile.js';
import { Rng } from '../../src/util/random.js';
import { tbn } from '../cli/run.js';
import { compressInMemory } from '../helpers/compress.js';
import { hasPythonOnnx, onnxChecker, randomWeight } from '../helpers/models.js';
import { tmpDir } from '../helpers/tmp.js';
import { expectClose, KERNEL_PATHS, nativeReason, runFunctionForm, runKernels, skipNative } from '../native-ops/helpers.js';

const [T, I, H] = [5, 8, 16];

/** A bidirectional LSTM with peepholes and a GRU (linear_before_reset) reading the same sequence. */
function recurrentModel(): Model {
  const rng = new Rng(3);
  const g = graph({
    name: 'recurrent',
    nodes: [
      node('LSTM', ['x', 'lstm.W', 'lstm.R', 'lstm.B', '', '', '', 'lstm.P'], ['lstm_y', 'lstm_h'], [attr.int('hidden_size', H), attr.string('direction', 'bidirectional')], { name: 'lstm' }),
      node('GRU', ['x', 'gru.W', 'gru.R', 'gru.B'], ['gru_y'], [attr.int('hidden_size', H), attr.int('linear_before_reset', 1)], { name: 'gru' }),
    ],
    initializers: [
      randomWeight(rng, 'lstm.W', [2, 4 * H, I], 0.4),
      randomWeight(rng, 'lstm.R', [2, 4 * H, H], 0.4),
      randomWeight(rng, 'lstm.B', [2, 8 * H]),
      randomWeight(rng, 'lstm.P', [2, 3 * H]),
      randomWeight(rng, 'gru.W', [1, 3 * H, I], 0.4),
      randomWeight(rng, 'gru.R', [1, 3 * H, H], 0.4),
      randomWeight(rng, 'gru.B', [1, 6 * H]),
    ],
    inputs: [valueInfo('x', 'float32', [T, 3, I])],
    outputs: [valueInfo('lstm_y', 'float32', [T, 2, 3, H]), valueInfo('lstm_h', 'float32', [2, 3, H]), valueInfo('gru_y', 'float32', [T, 1, 3, H])],
  });
  return model(g, { opset: 14 });
}

describe('tiled recurrent weights', () => {
  const feeds = () => syntheticInputs(recurrentModel(), { batch: 3, seed: 5 });

  it('finds W and R of each node as [D·G·H, in] layers', () => {
    const { chosen } = selectLayers(recurrentModel(), { p: 4, minParams: 0 });
    // By default the regions run along the hidden units (the view [D·G, H·in], tile_axis 1).
    expect(chosen.map((c) => [c.layer.op, c.layer.source.name, c.layer.shape, c.layer.nodeShape, c.layout.shape, c.layout.tileAxis])).toEqual([
      ['LSTM', 'lstm.W', [2 * 4 * H, I], [2, 4 * H, I], [2 * 4, H * I], 1],
      ['LSTM', 'lstm.R', [2 * 4 * H, H], [2, 4 * H, H], [2 * 4, H * H], 1],
      ['GRU', 'gru.W', [3 * H, I], [1, 3 * H, I], [3, H * I], 1],
      ['GRU', 'gru.R', [3 * H, H], [1, 3 * H, H], [3, H * H], 1],
    ]);
  });

  const LAYOUTS = [
    ['regions along the gate rows', 'output' as const],
    ['regions along the inputs', 'input' as const],
    ['regions along the hidden units, every gate its own bits', 'hidden' as const],
  ] as const;

  it.each(LAYOUTS)('custom form (%s) runs in stock onnxruntime and equals the expanded form', async (_what, tileAxis) => {
    const custom = compressInMemory(recurrentModel(), 'custom', { p: 4, tileAxis });
    const expanded = compressInMemory(recurrentModel(), 'expanded', { p: 4, tileAxis });
    expect(custom.tiled).toHaveLength(4);
    expect(custom.model.graph.nodes.filter((n) => n.opType === 'TbnDecode')).toHaveLength(4);
    for (const t of expanded.tiled) {
      const w = expanded.model.graph.initializers.find((i) => i.name === `${t.layer.source.name}_tbn`)!;
      expect(w.dims).toEqual(t.layer.nodeShape);
      expect(Array.from(w.data as Float32Array)).toEqual(Array.from(decodeTile(t.tile, t.layout)));
    }
    const f = feeds();
    expectClose(await runFunctionForm(custom.bytes, f), await runFunctionForm(expanded.bytes, f));
  });

  it.skipIf(!hasPythonOnnx && process.env.CI !== 'true')('onnx.checker accepts the custom form (full_check)', () => {
    expect(onnxChecker(compressInMemory(recurrentModel(), 'custom', { p: 4 }).bytes)).toBe('ok');
  });

  describe.skipIf(skipNative)(`custom-op library${nativeReason}`, () => {
    it.each(KERNEL_PATHS.flatMap((k) => [[k, 'output' as const], [k, 'hidden' as const]] as const))('runs the custom form (%s kernels, tile axis %s) as the function form does', async (kernel, tileAxis) => {
      const custom = compressInMemory(recurrentModel(), 'custom', { p: 4, tileAxis });
      const f = feeds();
      expectClose(await runKernels(custom.bytes, f, kernel), await runFunctionForm(custom.bytes, f));
    });
  });

  it('trains: the student gradient reaches the latent W and R of both nodes', () => {
    const m = recurrentModel();
    const { chosen } = selectLayers(m, { p: 4, minParams: 0 });
    const student = buildStudent(m, chosen, { ...DEFAULT_FINETUNE, trainRest: false }, new Set());
    try {
      E.tidy(() => {
        const run = student.program.run(feeds());
        const loss = E.add(E.sum(E.mul(run.outputs.lstm_h!, run.outputs.lstm_h!)), E.sum(run.outputs.gru_y!));
        E.backward(loss);
      });
      for (const c of chosen) {
        const g = student.latent.get(c.layer.source.name)!.w.grad;
        const v = Array.from(g!.toArray());
        expect(v.every(Number.isFinite), c.layer.source.name).toBe(true);
        expect(v.filter((x) => x !== 0).length, c.layer.source.name).toBeGreaterThan(v.length / 2);
      }
    } finally {
      for (const l of student.latent.values()) l.w.dispose();
      student.program.dispose();
    }
  });

  it('tbn export --target mcu refuses it in one line', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'rnn.onnx');
    fs.writeFileSync(file, compressInMemory(recurrentModel(), 'custom', { p: 4 }).bytes);
    const r = await tbn('export', file, '--target', 'mcu', '--out', path.join(dir, 'c'), '--no-verify');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/LSTM/);
    expect(fs.existsSync(path.join(dir, 'c'))).toBe(false);
  });
});
