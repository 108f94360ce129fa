// Same seed, same model, whatever the thread count: ten fine-tune steps of the fixture CNN with
// tiled weights (forward, distillation loss, backward, Adam) from the same start on 1 and on 2
// threads must leave bitwise identical parameters — every native kernel computes each output
// element the same way however the work is split.
import { afterAll, describe, expect, it } from 'vitest';
import * as E from '../../src/engine/index.js';
import { loadModel } from '../../src/onnx/file.js';
import { Rng } from '../../src/util/random.js';
import { modelPath } from '../helpers/fixtures.js';
import { nativeBackend, nativeReason, skipNative, tiledCnn } from './helpers.js';

function train(threads: number): Float32Array[] {
  const nb = nativeBackend();
  nb.threads = threads;
  return E.withBackend(nb, () => {
    const { program, latent, params } = tiledCnn(1);
    const opt = new E.Adam(params, { lr: 1e-3 });
    const rng = new Rng(11);
    for (let step = 0; step < 10; step++) {
      const x = E.tensor(Float32Array.from({ length: 24 * 784 }, () => rng.next()), [24, 1, 28, 28]);
      const t = E.tensor(Float32Array.from({ length: 24 * 10 }, () => rng.normal() * 3), [24, 10]);
      E.tidy(() => E.backward(E.klDistillLoss(program.run({ input: x }).outputs.logits!, t, 2)));
      opt.step();
      opt.zeroGrad();
      x.dispose();
      t.dispose();
    }
    const out = params.map((p) => p.toArray() as Float32Array);
    opt.dispose();
    program.dispose();
    for (const w of latent) w.dispose();
    return out;
  });
}

describe.skipIf(skipNative)(`native fine-tuning is deterministic across thread counts${nativeReason}`, () => {
  const saved = skipNative ? 1 : nativeBackend().threads;
  afterAll(() => {
    if (!skipNative) nativeBackend().threads = saved;
  });

  it('1 and 2 threads give bitwise the same parameters after 10 steps', () => {
    const one = train(1);
    const two = train(2);
    expect(two.length).toBe(one.length);
    one.forEach((p, i) => expect(Buffer.from(two[i]!.buffer).equals(Buffer.from(p.buffer)), `parameter ${i}`).toBe(true));
    // The steps did move the weights.
    const { model } = loadModel(modelPath('mnist-cnn.onnx'));
    const w0 = model.graph.initializers.find((t) => t.dims.length === 4)!.data as Float32Array;
    expect(Buffer.from(one[0]!.buffer).equals(Buffer.from(w0.buffer, w0.byteOffset, w0.byteLength))).toBe(false);
  });
});
