// Engine bench: one training step (forward, KL-distillation loss at T = 2 against fixed teacher
// logits, backward, AdamW update) of the fixture CNN and transformer at batch 32, through the
// ONNX interpreter on the TypeScript backend and on the native backend with 1 and 2 threads,
// next to PyTorch on the CPU doing the same step on the same architecture
// (bench/torch_step.py) with the same thread counts. Native 1- and 2-thread steps alternate
// (the thread count is switched between steps) and torch runs alternate too, so load from
// other processes hits both alike; reported numbers are medians.
// Then the production graphs of bench/torch_models.py — a ResNet-18 at 224² and a CTC text
// recognizer with attention blocks at 48 × 320 — exported by torch.onnx into a temporary folder
// and fine-tuned as src/tbn/finetune.ts runs its student (tiled weights, Adam), each step in its
// own child process (bench/engine_step.ts, bench/torch_step.py) so that peak RSS is per run;
// engine and torch processes alternate, 1 and 2 threads, TBN_BENCH_ROUNDS rounds (default 3).
// TBN_BENCH_PRODUCTION=0 skips them; TBN_BENCH_FIXTURES=0 skips the fixture section.
// With TBN_BENCH_COMPRESS=1 it also times `tbn compress` of the MNIST CNN and MLP on each backend
// (default 60 epochs; the CNN on TypeScript for 3) and `tbn verify`s each result on the test set.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticInputs } from '../src/data/synthetic.js';
import * as E from '../src/engine/index.js';
import { compile } from '../src/interp/index.js';
import { loadModel } from '../src/onnx/file.js';
import { ensureDist, tbnCli } from './cli.js';
import { productionSection } from './engine-production.js';
import type { BenchSection } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(here, '..');
const PYTHON = '/usr/bin/python3';
const BATCH = 32;
const WARMUP = 2;
const JS_STEPS = 5;
const NATIVE_STEPS = 15;
const THREADS = [1, 2];
const MODELS = [
  { file: 'mnist-cnn.onnx', torch: 'cnn', label: 'CNN (3 × Conv+BN+ReLU+MaxPool, 2 Gemm)' },
  { file: 'transformer-encoder.onnx', torch: 'transformer', label: 'transformer encoder (T = 16, d = 128)' },
];

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

interface Trainer {
  step(): number;
  forward(): number;
  dispose(): void;
}

/** A program of `file` on `backend`, every float weight trainable, with its AdamW and feeds. */
function trainer(file: string, backend: E.Backend): Trainer {
  return E.withBackend(backend, () => {
    const { model } = loadModel(path.join(ROOT, 'fixtures', 'models', file));
    const program = compile(model);
    program.setTrainable(model.graph.initializers.filter((t) => t.dtype === 'float32' && !t.name!.includes('running')).map((t) => t.name!));
    const opt = new E.AdamW([...program.parameters().values()], { lr: 1e-4 });
    const feeds = syntheticInputs(model, { batch: BATCH, seed: 1 });
    const out = program.outputNames[0]!;
    const teacher = E.keep(E.noGrad(() => E.tidy(() => program.run(feeds).outputs[out]!)));
    return {
      step: () =>
        E.withBackend(backend, () => {
          const t = performance.now();
          E.tidy(() => E.backward(E.klDistillLoss(program.run(feeds).outputs[out]!, teacher, 2)));
          opt.step();
          opt.zeroGrad();
          return performance.now() - t;
        }),
      forward: () =>
        E.withBackend(backend, () => {
          const t = performance.now();
          E.noGrad(() => E.tidy(() => program.run(feeds).outputs[out]!.shape));
          return performance.now() - t;
        }),
      dispose: () =>
        E.withBackend(backend, () => {
          opt.dispose();
          teacher.dispose();
          program.dispose();
        }),
    };
  });
}

function jsStep(file: string): { stepMs: number; forwardMs: number } {
  const t = trainer(file, E.createBackend('js'));
  for (let i = 0; i < WARMUP; i++) t.step();
  const steps = Array.from({ length: JS_STEPS }, t.step);
  const fwd = Array.from({ length: JS_STEPS }, t.forward);
  t.dispose();
  return { stepMs: median(steps), forwardMs: median(fwd) };
}

/** Native step and forward medians per thread count, the counts alternating step by step. */
function nativeSteps(file: string, native: E.NativeBackend): Map<number, { stepMs: number; forwardMs: number }> {
  const saved = native.threads;
  const t = trainer(file, native);
  const steps = new Map<number, number[]>(THREADS.map((n) => [n, []]));
  const fwd = new Map<number, number[]>(THREADS.map((n) => [n, []]));
  for (const n of THREADS) {
    native.threads = n;
    for (let i = 0; i < WARMUP; i++) t.step();
  }
  for (let i = 0; i < NATIVE_STEPS; i++) {
    for (const n of THREADS) {
      native.threads = n;
      steps.get(n)!.push(t.step());
      fwd.get(n)!.push(t.forward());
    }
  }
  t.dispose();
  native.threads = saved;
  return new Map(THREADS.map((n) => [n, { stepMs: median(steps.get(n)!), forwardMs: median(fwd.get(n)!) }]));
}

function torchOnce(model: string, threads: number): number | undefined {
  try {
    const out = execFileSync(PYTHON, [path.join(here, 'torch_step.py'), '--model', model, '--batch', String(BATCH), '--threads', String(threads), '--steps', '10'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return (JSON.parse(out.trim().split('\n').pop()!) as { median_ms: number }).median_ms;
  } catch {
    return undefined; // python3-torch missing or failing: reported as n/a
  }
}

/** Median over alternating runs of each thread count (3 processes each). */
function torchSteps(model: string): Map<number, number | undefined> {
  const runs = new Map<number, number[]>(THREADS.map((n) => [n, []]));
  if (!fs.existsSync(PYTHON)) return new Map(THREADS.map((n) => [n, undefined]));
  for (let r = 0; r < 3; r++) {
    for (const n of THREADS) {
      const ms = torchOnce(model, n);
      if (ms !== undefined) runs.get(n)!.push(ms);
    }
  }
  return new Map(THREADS.map((n) => [n, runs.get(n)!.length ? median(runs.get(n)!) : undefined]));
}

const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}×`);

function stepSection(native: E.NativeBackend | undefined): BenchSection {
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown> = {};
  for (const m of MODELS) {
    const js = jsStep(m.file);
    const nat = native ? nativeSteps(m.file, native) : undefined;
    const torch = torchSteps(m.torch);
    for (const n of THREADS) {
      const ns = nat?.get(n);
      const ts = torch.get(n);
      rows.push([m.label, n, n === 1 ? js.stepMs.toFixed(1) : '', fmt(ns?.stepMs), fmt(ns?.forwardMs), fmt(ts), ratio(ns?.stepMs, ts), ratio(js.stepMs, ns?.stepMs)]);
    }
    data[m.file] = {
      batch: BATCH,
      jsStepMs: js.stepMs,
      jsForwardMs: js.forwardMs,
      native: Object.fromEntries(THREADS.map((n) => [`${n}`, nat?.get(n) ?? null])),
      torchStepMs: Object.fromEntries(THREADS.map((n) => [`${n}`, torch.get(n) ?? null])),
      kernelPath: native?.kernelPath ?? null,
    };
  }
  return {
    title: `Engine: training step at batch ${BATCH} (forward + KL loss + backward + AdamW), TypeScript vs native backend vs PyTorch CPU`,
    columns: ['model', 'threads', 'TS step ms', 'native step ms', 'native fwd ms', 'torch step ms', 'native / torch', 'TS / native'],
    rows,
    notes: [
      `Medians: TS ${JS_STEPS} steps, native ${NATIVE_STEPS} steps per thread count (alternating), torch 3 alternating processes × 10 steps, after warm-up. The TS backend is single-threaded.`,
      `Native kernel path: ${native?.kernelPath ?? 'not built'}. PyTorch ${'runs the model classes of scripts/make_fixtures.py in eval mode (BatchNorm on running statistics), as the interpreter runs the export'}.`,
    ],
    data,
  };
}

/** `tbn compress` and `tbn verify` of one fixture in child processes (bin/tbn.js, as a user runs it). */
function compress(model: string, backend: 'js' | 'native', epochs: number): { seconds: number; finetuneSeconds?: number; accuracy?: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-bench-engine-'));
  const out = path.join(dir, model);
  const env = { ...process.env, TBN_BACKEND: backend };
  try {
    const t = performance.now();
    const report = tbnCli(['compress', path.join(ROOT, 'fixtures', 'models', model), '--data', path.join(ROOT, 'fixtures', 'data', 'mnist-calib.npz'), '-o', out, '--force', '--epochs', String(epochs), '--json'], env);
    const seconds = (performance.now() - t) / 1000;
    const r = JSON.parse(report) as { finetune?: { seconds: number } | null };
    const v = JSON.parse(tbnCli(['verify', path.join(ROOT, 'fixtures', 'models', model), out, '--data', path.join(ROOT, 'fixtures', 'data', 'mnist-test.npz'), '--json'], env)) as {
      outputs?: { accuracy?: { original: number; compressed: number } }[];
    };
    const acc = v.outputs?.[0]?.accuracy;
    return { seconds, finetuneSeconds: r.finetune?.seconds, accuracy: acc ? `${(100 * acc.original).toFixed(2)} → ${(100 * acc.compressed).toFixed(2)}` : undefined };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Default 60 epochs on each backend, except the CNN on TypeScript (~37 min): 3 epochs, scaled. */
const COMPRESS_RUNS: { model: string; backend: 'js' | 'native'; epochs: number }[] = [
  { model: 'mnist-cnn.onnx', backend: 'native', epochs: 60 },
  { model: 'mnist-cnn.onnx', backend: 'js', epochs: 3 },
  { model: 'mnist-mlp.onnx', backend: 'native', epochs: 60 },
  { model: 'mnist-mlp.onnx', backend: 'js', epochs: 60 },
];

function compressSection(native: boolean): BenchSection {
  ensureDist();
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown> = {};
  for (const run of COMPRESS_RUNS) {
    if (run.backend === 'native' && !native) continue;
    const r = compress(run.model, run.backend, run.epochs);
    const per60 = r.finetuneSeconds === undefined ? undefined : (r.finetuneSeconds * 60) / run.epochs;
    rows.push([run.model, run.backend, run.epochs, r.seconds.toFixed(1), fmt(r.finetuneSeconds), run.epochs === 60 ? '' : fmt(per60), r.accuracy ?? 'n/a']);
    data[`${run.model}:${run.backend}:${run.epochs}`] = { ...r, finetuneSecondsPer60Epochs: per60 ?? null };
  }
  return {
    title: 'tbn compress (fixtures/data/mnist-calib.npz, 2 000 images) and tbn verify on fixtures/data/mnist-test.npz',
    columns: ['model', 'backend', 'epochs', 'compress wall s', 'fine-tune s', 'fine-tune s scaled to 60 epochs', 'test accuracy % (original → compressed)'],
    rows,
    notes: ['Wall time of `node bin/tbn.js compress … --force` in a child process: model load, tiling, BatchNorm re-estimation, fine-tuning (teacher in onnxruntime, augmentation, student on the engine), rewrite and write.'],
    data,
  };
}

export default async function engineBench(): Promise<BenchSection[]> {
  const n = E.nativeBackend();
  const sections: BenchSection[] = [];
  if (process.env.TBN_BENCH_FIXTURES !== '0') sections.push(stepSection(n.backend));
  if (process.env.TBN_BENCH_PRODUCTION !== '0') sections.push(productionSection(!!n.backend));
  if (process.env.TBN_BENCH_COMPRESS === '1') sections.push(compressSection(!!n.backend));
  return sections;
}
