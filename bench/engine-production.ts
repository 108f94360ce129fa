// The production-graph part of the engine bench (issue 16 item 3): one fine-tuning step of a
// ResNet-18 at 224² and of a CTC text recognizer with attention blocks, on tbn's engine (the
// student as src/tbn/finetune.ts builds it: layers tiled at p = 4 by the default selection,
// every other float weight trainable, KL distillation, Adam) against PyTorch 1.13 on the CPU
// (the same nn.Module the ONNX file was exported from, eval mode, all weights trainable, the
// same loss and optimiser) at 1 and 2 threads; the engine also untiled (--p 0: the same work as
// PyTorch, all weights dense and trainable). Each measurement is its own child process, so
// peak RSS is that run's alone; engine and torch runs alternate within each round, so load from
// other processes falls on both. Reported: medians over rounds of each process's median step.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchSection } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const THREADS = [1, 2];
const ROUNDS = Number(process.env.TBN_BENCH_ROUNDS ?? 3);

interface Graph {
  name: 'resnet18' | 'ctc';
  label: string;
  batch: number;
  warmup: number;
  steps: number;
}

const GRAPHS: Graph[] = [
  { name: 'resnet18', label: 'ResNet-18, 224², 1000 classes', batch: 8, warmup: 2, steps: 4 },
  { name: 'ctc', label: 'CTC recognizer (conv stem + 2 attention blocks), 48 × 320, 97 classes', batch: 16, warmup: 2, steps: 6 },
];

interface Run {
  median_ms: number;
  cpu_median_ms: number;
  peak_rss_mb: number;
  rss_mb?: number[];
  tiled?: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

function lastJson(out: string): Run {
  return JSON.parse(out.trim().split('\n').pop()!) as Run;
}

/** One engine process: layers tiled at p (the fine-tune tbn runs), or p = 0 (dense, as torch). */
function engineRun(model: string, g: Graph, threads: number, p: number): Run {
  const args = ['--import', 'tsx', path.join(here, 'engine_step.ts'), '--model', model, '--batch', String(g.batch), '--threads', String(threads), '--steps', String(g.steps), '--warmup', String(g.warmup), '--p', String(p)];
  return lastJson(execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TBN_BACKEND: 'native' } }));
}

function torchRun(g: Graph, threads: number): Run {
  const args = [path.join(here, 'torch_step.py'), '--model', g.name, '--batch', String(g.batch), '--threads', String(threads), '--steps', String(g.steps), '--warmup', String(g.warmup)];
  return lastJson(execFileSync(PYTHON, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

function exportGraph(g: Graph, dir: string): string {
  const out = path.join(dir, `${g.name}.onnx`);
  execFileSync(PYTHON, [path.join(here, 'torch_models.py'), '--export', g.name, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

const fmt = (v: number | undefined, digits = 0) => (v === undefined ? 'n/a' : v.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}×`);

interface Summary {
  stepMs: number;
  cpuMs: number;
  peakRssMb: number;
  runs: Run[];
}

function summarise(runs: Run[]): Summary | undefined {
  if (!runs.length) return undefined;
  return { stepMs: median(runs.map((r) => r.median_ms)), cpuMs: median(runs.map((r) => r.cpu_median_ms)), peakRssMb: Math.max(...runs.map((r) => r.peak_rss_mb)), runs };
}

export function productionSection(native: boolean): BenchSection {
  const title = 'Engine vs PyTorch: one fine-tuning step of production-size graphs (forward + KL loss + backward + Adam)';
  const columns = ['graph', 'batch', 'threads', 'engine p = 4 ms/step', 'engine dense ms/step', 'torch ms/step', 'p = 4 / torch', 'dense / torch', 'CPU ratio p = 4 / dense', 'engine peak RSS MB (p = 4 / dense)', 'torch peak RSS MB'];
  if (!native || !fs.existsSync(PYTHON)) {
    return { title, columns, rows: [], notes: [`skipped: ${native ? `${PYTHON} (python3-torch) not found` : 'the native engine is not built'}`], data: null };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-bench-production-'));
  const loadBefore = os.loadavg();
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown> = {};
  try {
    for (const g of GRAPHS) {
      const model = exportGraph(g, dir);
      const eng = new Map<number, Run[]>(THREADS.map((n) => [n, []]));
      const dense = new Map<number, Run[]>(THREADS.map((n) => [n, []]));
      const tor = new Map<number, Run[]>(THREADS.map((n) => [n, []]));
      for (let r = 0; r < ROUNDS; r++) {
        for (const n of THREADS) {
          eng.get(n)!.push(engineRun(model, g, n, 4));
          tor.get(n)!.push(torchRun(g, n));
          dense.get(n)!.push(engineRun(model, g, n, 0));
        }
      }
      const perThreads: Record<string, unknown> = {};
      const growth = (s: Summary | undefined) => (s ? median(s.runs.map((x) => (x.rss_mb ? x.rss_mb[x.rss_mb.length - 1]! - x.rss_mb[0]! : 0))) : null);
      for (const n of THREADS) {
        const e = summarise(eng.get(n)!);
        const d = summarise(dense.get(n)!);
        const t = summarise(tor.get(n)!);
        rows.push([g.label, g.batch, n, fmt(e?.stepMs), fmt(d?.stepMs), fmt(t?.stepMs), ratio(e?.stepMs, t?.stepMs), ratio(d?.stepMs, t?.stepMs), `${ratio(e?.cpuMs, t?.cpuMs)} / ${ratio(d?.cpuMs, t?.cpuMs)}`, `${fmt(e?.peakRssMb)} / ${fmt(d?.peakRssMb)}`, fmt(t?.peakRssMb)]);
        perThreads[`${n}`] = {
          engine: e ?? null,
          engineDense: d ?? null,
          torch: t ?? null,
          ratio: e && t ? e.stepMs / t.stepMs : null,
          denseRatio: d && t ? d.stepMs / t.stepMs : null,
          cpuRatio: e && t ? e.cpuMs / t.cpuMs : null,
          denseCpuRatio: d && t ? d.cpuMs / t.cpuMs : null,
          engineRssGrowthMb: growth(e),
          denseRssGrowthMb: growth(d),
        };
      }
      data[g.name] = { batch: g.batch, warmup: g.warmup, steps: g.steps, rounds: ROUNDS, tiledLayers: eng.get(1)![0]?.tiled ?? null, threads: perThreads };
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = os.loadavg();
  data.load = { before: loadBefore, after: loadAfter, cpus: os.cpus().length };
  return {
    title,
    columns,
    rows,
    notes: [
      `Medians over ${ROUNDS} rounds of each process's median step (${GRAPHS.map((g) => `${g.name}: ${g.warmup} warm-up + ${g.steps} timed steps`).join('; ')}); engine and torch processes alternate. CPU ms: process CPU time per step (all threads), less sensitive to other processes than wall time.`,
      `Load average ${loadBefore.map((v) => v.toFixed(1)).join(' / ')} before, ${loadAfter.map((v) => v.toFixed(1)).join(' / ')} after, on ${os.cpus().length} CPUs: on a shared machine the wall times carry that load.`,
      'Engine: the ONNX export (BatchNormalization kept, opset 13 / 11) compiled by src/interp; "p = 4": layers tiled at p = 4 (default selection; a tiled convolution runs on its tile, p× fewer multiply-adds forward and for the data gradient), other float weights trainable; "dense": no layer tiled, every float weight trainable (the same work as PyTorch). Adam. PyTorch 1.13 (Debian python3-torch: oneDNN convolutions, reference BLAS for Linear/MatMul): the nn.Module in eval mode, every weight trainable (no tiling), Adam.',
    ],
    data,
  };
}
