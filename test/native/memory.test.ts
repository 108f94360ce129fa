// Fine-tuning on the native backend must not grow memory: 400 steps of the fixture CNN with
// every Conv/Gemm weight produced by the TBN tile op (as src/tbn/finetune.ts builds its
// student), a distillation loss and Adam. After every step the native buffer table holds the
// same buffers and bytes (exact), its free-block cache stays under its cap, and the process's
// resident memory (sampled every 10 steps) does not trend upwards. The loop yields to the event
// loop now and then, so a slow (loaded, sanitized) run does not starve the test runner's RPC.
import { describe, expect, it } from 'vitest';
import * as E from '../../src/engine/index.js';
import { Rng } from '../../src/util/random.js';
import { nativeBackend, nativeReason, skipNative, tiledCnn } from './helpers.js';

// Under the sanitizers (test/native/sanitize.test.ts) every step is ~10× slower: fewer there.
const STEPS = Number(process.env.TBN_TEST_MEMORY_STEPS ?? 400);
const BATCH = 16;

describe.skipIf(skipNative)(`native memory across fine-tune steps${nativeReason}`, () => {
  it(`the tiled CNN holds steady over ${STEPS} steps`, async () => {
    const nb = nativeBackend();
    const before = nb.stats();
    const prev = E.setBackend(nb);
    try {
      const { program, latent, params } = tiledCnn(0);
      const opt = new E.Adam(params, { lr: 1e-3 });
      const rng = new Rng(5);
      const x = E.keep(E.tensor(Float32Array.from({ length: BATCH * 784 }, () => rng.next()), [BATCH, 1, 28, 28]));
      const teacher = E.keep(E.tensor(Float32Array.from({ length: BATCH * 10 }, () => rng.normal()), [BATCH, 10]));
      const step = () => {
        E.tidy(() => E.backward(E.klDistillLoss(program.run({ input: x }).outputs.logits!, teacher, 2)));
        opt.step();
        opt.zeroGrad();
      };
      for (let i = 0; i < 5; i++) step();
      const steady = nb.stats();
      const rss: number[] = [];
      for (let i = 0; i < STEPS; i++) {
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
        step();
        const s = nb.stats();
        if (s.buffers !== steady.buffers || s.bytes !== steady.bytes) expect(s, `native memory after step ${i}`).toEqual(steady);
        if (i % 10 === 0) rss.push(process.memoryUsage.rss());
      }
      expect(nb.cachedBytes()).toBeLessThanOrEqual(256 * 2 ** 20);
      const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
      expect(median(rss.slice(-10)) - median(rss.slice(0, 10)), 'RSS growth over the run').toBeLessThan(24 * 2 ** 20);
      opt.dispose();
      program.dispose();
      for (const t of [...latent, x, teacher]) t.dispose();
    } finally {
      if (prev) E.setBackend(prev);
    }
    expect(nb.stats(), 'everything freed').toEqual(before);
  }, 120_000);
});
