// A fine-tune step on the fixture CNN at batch 64 (every weight trainable, distillation loss
// against the model's own outputs, AdamW) must not grow memory: the backend's live buffers are
// the same after every step (exact), and the process's heap + ArrayBuffer bytes, measured after
// a forced GC, stay within a generous 16 MiB over 30 steps (one step allocates ~150 MB). Freed
// ArrayBuffers are released lazily, so a single sample can be one step's worth high: the check
// compares the medians of the first and the last ten samples.

import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as E from '../../../src/engine/index.js';
import { fixture, randn } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('memory across fine-tune steps', () => {
  it('the CNN at batch 64 holds steady over 30 steps', () => {
    const { model, program } = fixture('mnist-cnn.onnx');
    program.setTrainable(model.graph.initializers.filter((t) => !t.name!.includes('running')).map((t) => t.name!));
    const opt = new E.AdamW([...program.parameters().values()], { lr: 1e-4 });
    const x = E.keep(randn([64, 1, 28, 28], 3));
    const teacher = E.keep(E.noGrad(() => E.tidy(() => program.run({ input: x }).outputs.logits!)));
    const step = () => {
      E.tidy(() => E.backward(E.klDistillLoss(program.run({ input: x }).outputs.logits!, teacher, 2)));
      opt.step();
      opt.zeroGrad();
    };
    const usage = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    for (let i = 0; i < 3; i++) step();
    const buffers = E.getBackend().stats().buffers;
    const samples: number[] = [];
    for (let i = 0; i < 30; i++) {
      step();
      expect(E.getBackend().stats().buffers).toBe(buffers);
      samples.push(usage());
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
    expect(median(samples.slice(-10)) - median(samples.slice(0, 10))).toBeLessThan(16 * 2 ** 20);
    opt.dispose();
    program.dispose();
    x.dispose();
    teacher.dispose();
  });
});
