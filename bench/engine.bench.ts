// Engine bench: one training step (forward, KL-distillation loss at T = 2 against fixed teacher
// logits, backward, AdamW update) of the fixture CNN and transformer at batch 32, through the
// ONNX interpreter on the TypeScript backend, next to PyTorch on the CPU doing the same step
// on the same architecture (bench/torch_step.py) with the same thread count (1: the JS backend
// is single-threaded). Medians over measured steps after warm-up.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticInputs } from '../src/data/synthetic.js';
import * as E from '../src/engine/index.js';
import { compile } from '../src/interp/index.js';
import { loadModel } from '../src/onnx/file.js';
import type { BenchSection } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const BATCH = 32;
const WARMUP = 2;
const STEPS = 6;
const MODELS = [
  { file: 'mnist-cnn.onnx', torch: 'cnn', label: 'CNN (3 × Conv+BN+ReLU+MaxPool, 2 Gemm)' },
  { file: 'transformer-encoder.onnx', torch: 'transformer', label: 'transformer encoder (T = 16, d = 128)' },
];

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

function tbnStep(file: string): { stepMs: number; forwardMs: number } {
  const { model } = loadModel(path.join(here, '..', 'fixtures', 'models', file));
  const program = compile(model);
  program.setTrainable(model.graph.initializers.filter((t) => t.dtype === 'float32' && !t.name!.includes('running')).map((t) => t.name!));
  const opt = new E.AdamW([...program.parameters().values()], { lr: 1e-4 });
  const feeds = syntheticInputs(model, { batch: BATCH, seed: 1 });
  const out = program.outputNames[0]!;
  const teacher = E.keep(E.noGrad(() => E.tidy(() => program.run(feeds).outputs[out]!)));
  const step = () => {
    const t = performance.now();
    E.tidy(() => E.backward(E.klDistillLoss(program.run(feeds).outputs[out]!, teacher, 2)));
    opt.step();
    opt.zeroGrad();
    return performance.now() - t;
  };
  const forward = () => {
    const t = performance.now();
    E.noGrad(() => E.tidy(() => program.run(feeds).outputs[out]!.shape));
    return performance.now() - t;
  };
  for (let i = 0; i < WARMUP; i++) step();
  const steps = Array.from({ length: STEPS }, step);
  const fwd = Array.from({ length: STEPS }, forward);
  opt.dispose();
  teacher.dispose();
  program.dispose();
  return { stepMs: median(steps), forwardMs: median(fwd) };
}

function torchStep(model: string, threads: number): number | undefined {
  if (!fs.existsSync(PYTHON)) return undefined;
  try {
    const out = execFileSync(PYTHON, [path.join(here, 'torch_step.py'), '--model', model, '--batch', String(BATCH), '--threads', String(threads), '--steps', '10'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return (JSON.parse(out.trim().split('\n').pop()!) as { median_ms: number }).median_ms;
  } catch {
    return undefined; // python3-torch missing or failing: reported as n/a
  }
}

const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(1));

export default async function engineBench(): Promise<BenchSection[]> {
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown> = {};
  for (const m of MODELS) {
    const ours = tbnStep(m.file);
    const torch1 = torchStep(m.torch, 1);
    const torchAll = torchStep(m.torch, os.cpus().length);
    rows.push([m.label, ours.forwardMs.toFixed(1), ours.stepMs.toFixed(1), fmt(torch1), torch1 ? `${(ours.stepMs / torch1).toFixed(1)}×` : 'n/a', fmt(torchAll)]);
    data[m.file] = { batch: BATCH, tbnForwardMs: ours.forwardMs, tbnStepMs: ours.stepMs, torchStepMs1Thread: torch1 ?? null, torchStepMsAllThreads: torchAll ?? null };
  }
  return [
    {
      title: `Engine: training step at batch ${BATCH} (forward + KL loss + backward + AdamW), TypeScript backend vs PyTorch CPU`,
      columns: ['model', 'tbn forward ms', 'tbn step ms', 'torch step ms (1 thread)', 'tbn / torch', `torch step ms (${os.cpus().length} threads)`],
      rows,
      notes: [
        `Medians of ${STEPS} steps after ${WARMUP} warm-up steps (torch: 10 after 3). Same thread count: 1, as the JS backend is single-threaded.`,
        'PyTorch runs the model classes of scripts/make_fixtures.py in eval mode (BatchNorm on running statistics), as the interpreter runs the export.',
      ],
      data,
    },
  ];
}
