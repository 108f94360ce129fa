// What the fine-tune trains and in how many steps: weights held in Constant nodes (as
// tf2onnx-style exports hold them) train exactly as the same weights held in initializers, and
// small data sets get a smaller batch so that an epoch keeps enough steps.
import { describe, expect, it } from 'vitest';
import { loadData } from '../../../src/data/dataset.js';
import type { Model } from '../../../src/ir/types.js';
import { upgradeOpset } from '../../../src/ir/upgrade/index.js';
import { loadModel } from '../../../src/onnx/file.js';
import { createOrtSession } from '../../../src/runtime/ort.js';
import { batchSizeFor, finetune } from '../../../src/tbn/finetune.js';
import { selectLayers } from '../../../src/tbn/select.js';
import { dataPath, modelPath } from '../../helpers/fixtures.js';

/** The model with every Constant node's tensor moved into an initializer of the same name. */
function constantsAsInitializers(model: Model): Model {
  const constants = model.graph.nodes.filter((n) => n.opType === 'Constant');
  const moved = constants.map((n) => ({ ...n.attributes.find((a) => a.name === 'value')!.t!, name: n.outputs[0]! }));
  return { ...model, graph: { ...model.graph, nodes: model.graph.nodes.filter((n) => n.opType !== 'Constant'), initializers: [...model.graph.initializers, ...moved] } };
}

describe('fine-tuning', () => {
  it('trains weights held in Constant nodes as it trains the same weights held in initializers', async () => {
    const file = modelPath('exporters/tf-nhwc-opset10.onnx');
    const asConstants = upgradeOpset(loadModel(file).model, 12).model;
    const asInitializers = constantsAsInitializers(asConstants);
    expect(asInitializers.graph.initializers.length).toBeGreaterThanOrEqual(8);
    const data = await loadData(dataPath('mnist-nhwc-calib.npz'), asConstants);
    const teacher = await createOrtSession(file, { threads: 1 });
    const run = (m: Model) => finetune(m, selectLayers(m, { p: 4 }).chosen, data, teacher, { steps: 3, seed: 1 });
    try {
      const [a, b] = [await run(asConstants), await run(asInitializers)];
      // The biases, the untiled first conv and the classifier: every weight but the tiled ones.
      expect([...a.updated.keys()].sort()).toEqual(['c1/bias', 'c1/kernel', 'c2/bias', 'c3/bias', 'dense/bias', 'dense/kernel']);
      expect([...a.updated.keys()].sort()).toEqual([...b.updated.keys()].sort());
      for (const [name, v] of a.updated) expect(v).toEqual(b.updated.get(name));
      expect(a.lossAfter).toBe(b.lossAfter);
    } finally {
      await teacher.release();
    }
  });

  it('takes 64 samples a step on large data sets, fewer on small ones so that an epoch keeps ≥ 30 steps (never under 16)', () => {
    expect(batchSizeFor(2000)).toBe(64);
    expect(batchSizeFor(1000)).toBe(33);
    expect(batchSizeFor(500)).toBe(16);
    expect(batchSizeFor(100)).toBe(16);
    expect(batchSizeFor(10)).toBe(10);
    expect(batchSizeFor(500, 64)).toBe(64);
    expect(batchSizeFor(40, 64)).toBe(40);
  });
});
