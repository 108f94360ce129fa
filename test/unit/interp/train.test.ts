// Training through the interpreter: the fixture MLP's last layer (fc3) is re-initialised,
// then trained with the engine (cross-entropy, Adam, cosine schedule with warm-up) on the 2 000
// calibration images; accuracy on the 2 000 held-out test images must recover (fp32: 97.5 %).

import { describe, expect, it } from 'vitest';
import { loadData, readAll } from '../../../src/data/dataset.js';
import * as E from '../../../src/engine/index.js';
import type { Program } from '../../../src/interp/index.js';
import { sliceBatch, type HostTensor } from '../../../src/util/host-tensor.js';
import { Rng } from '../../../src/util/random.js';
import { dataPath } from '../../helpers/fixtures.js';
import { fixture } from './helpers.js';

function accuracy(program: Program, x: HostTensor, labels: HostTensor): number {
  let right = 0;
  const n = x.dims[0]!;
  for (let s = 0; s < n; s += 500) {
    const pred = E.noGrad(() => E.tidy(() => E.argMax(program.run({ input: sliceBatch(x, s, Math.min(n, s + 500)) }).outputs.logits!, 1, false).toArray()));
    pred.forEach((p, i) => (right += p === Number(labels.data[s + i]) ? 1 : 0));
  }
  return right / n;
}

describe('training the MLP head with the engine', () => {
  it('recovers ≥ 95 % test accuracy after fc3 is re-initialised', async () => {
    const { model, program } = fixture('mnist-mlp.onnx');
    const calib = await readAll(await loadData(dataPath('mnist-calib.npz'), model));
    const test = await readAll(await loadData(dataPath('mnist-test.npz'), model));
    program.setTrainable(['fc3.weight', 'fc3.bias']);
    const params = program.parameters();
    // torch.nn.Linear's initialisation: U(−1/√fan_in, 1/√fan_in).
    const rng = new Rng(42);
    for (const p of params.values()) p.backend.write(p.buf, Float32Array.from({ length: p.size }, () => (rng.next() * 2 - 1) / 16));
    expect(accuracy(program, test.feeds.input!, test.labels!)).toBeLessThan(0.5);

    const batch = 100;
    const epochs = 4;
    const steps = (epochs * 2000) / batch;
    const opt = new E.Adam([...params.values()], { lr: E.cosineSchedule({ lr: 1e-2, totalSteps: steps, warmupSteps: 5 }) });
    const x = calib.feeds.input!;
    const y = calib.labels!;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = rng.permutation(2000);
      for (let s = 0; s < 2000; s += batch) {
        const idx = order.subarray(s, s + batch);
        const xb = new Float32Array(batch * 784);
        idx.forEach((j, i) => xb.set((x.data as Float32Array).subarray(j * 784, (j + 1) * 784), i * 784));
        const yb = Array.from(idx, (j) => Number(y.data[j]));
        E.tidy(() => {
          const logits = program.run({ input: { dtype: 'float32', dims: [batch, 1, 28, 28], data: xb } }).outputs.logits!;
          E.backward(E.crossEntropyLoss(logits, yb));
        });
        opt.step();
        opt.zeroGrad();
      }
    }
    expect(opt.stepCount).toBe(steps);
    expect(accuracy(program, test.feeds.input!, test.labels!)).toBeGreaterThanOrEqual(0.95);
    opt.dispose();
    program.dispose();
  });
});
