// Compression of the transformer fixtures (issue 18), run by `npm run bench -- compress`: the
// ViT on MNIST and the licence-text classifier at p = 4 with tbn's defaults, top-1
// on their test sets and the file-size ratio, with tbn's defaults and with one step taken away
// or changed at a time: channel permutation, embedding tiling, fine-tuning the norms and biases
// with the tiles, the tile axis of the attention projections, a longer schedule, intermediate-
// feature distillation, the λ = 4096, the exporter's value names.
// TBN_BENCH_MODELS=vit-mnist limits the models; TBN_BENCH_QUICK=1 runs the defaults only;
// TBN_BENCH_CONFIGS='tbn default,intermediate' runs the configurations whose names start so;
// TBN_BENCH_EPOCHS=N sets every schedule (the halved one stays half).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData } from '../src/data/dataset.js';
import { getBackend } from '../src/engine/index.js';
import { loadModel } from '../src/onnx/file.js';
import { rawByteLength } from '../src/ir/dtype.js';
import { compressModel, type CompressOptions } from '../src/pipeline/compress.js';
import { compareModels } from '../src/verify/compare.js';
import type { BenchSection } from './run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = (f: string) => path.join(root, 'fixtures', f);

const MODELS: Record<string, { calib: string; test: string }> = {
  'vit-mnist': { calib: 'mnist-calib.npz', test: 'mnist-test.npz' },
  'text-transformer': { calib: 'text-calib.npz', test: 'text-test.npz' },
};

function configs(epochs: number | undefined): Record<string, Partial<CompressOptions>> {
  const e = epochs ? { epochs } : {};
  return {
    'tbn default': { ...e },
    'no fine-tuning': { finetune: false },
    '− channel permutation': { permute: false, ...e },
    '− embedding tiling (tables fp32)': { exclude: ['/Gather$/'], ...e },
    '− norm/bias fine-tuning (tiles only)': { ...e, trainRest: false },
    'token embedding at p = 2': { layerP: new Map([['tok.weight', 2]]), ...e },
    'attention projections along their input axis': { layerAxis: [['/attn\\//', 'input']], ...e },
    'only q/k/v along their input axis': { layerAxis: [['/attn\\/(qkv|q|k|v)\\//', 'input']], ...e },
    'schedule halved (60 epochs, the default before attention got 120)': { epochs: Math.max(1, Math.round((epochs ?? 120) / 2)) },
    "λ = 4096 (the issue's command: the patch projection stays fp32)": { minParams: 4096, ...e },
    'intermediate features (--features on)': { features: 'on', ...e },
    "exporter's value names kept (--keep-names)": { keepNames: true, ...e },
  };
}

interface Row {
  model: string;
  config: string;
  fp32: number;
  top1: number;
  inputBytes: number;
  outputBytes: number;
  /** Bytes of the compressed file's tensors (tiles, scales and the fp32 remainder); the rest is graph structure. */
  tensorBytes: number;
  permuted: string;
  seconds: number;
}

async function run(model: string, config: string, extra: Partial<CompressOptions>, dir: string): Promise<Row> {
  const file = fixture(`models/${model}.onnx`);
  const out = path.join(dir, `${model}-${config.replace(/\W+/g, '_')}.onnx`);
  const started = performance.now();
  const report = await compressModel({ model: file, output: out, force: true, data: fixture(`data/${MODELS[model]!.calib}`), p: 4, evalSamples: 1, ...extra });
  const seconds = (performance.now() - started) / 1000;
  const { model: ir } = loadModel(file);
  const test = await loadData(fixture(`data/${MODELS[model]!.test}`), ir);
  const a = (await compareModels(file, out, { data: test, model: ir, samples: test.count, seed: 0 })).outputs[0]!.accuracy!;
  const spaces = report.permutation;
  const tensorBytes = loadModel(out).model.graph.initializers.reduce((acc, t) => acc + rawByteLength(t.dtype, t.dims.reduce((a, b) => a * b, 1)), 0);
  return {
    model,
    config,
    fp32: 100 * a.original,
    top1: 100 * a.compressed,
    inputBytes: report.sizes.inputBytes,
    outputBytes: report.sizes.outputBytes ?? 0,
    tensorBytes,
    permuted: `${spaces.filter((s) => s.permuted).length}/${spaces.length}`,
    seconds,
  };
}

export default async function bench(): Promise<BenchSection[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-bench-tf-'));
  const models = (process.env.TBN_BENCH_MODELS ?? Object.keys(MODELS).join(',')).split(',').filter((m) => m in MODELS);
  const epochs = process.env.TBN_BENCH_EPOCHS ? Number(process.env.TBN_BENCH_EPOCHS) : undefined;
  const only = process.env.TBN_BENCH_QUICK ? ['tbn default'] : process.env.TBN_BENCH_CONFIGS?.split(',');
  const rows: Row[] = [];
  for (const m of models) {
    for (const [name, extra] of Object.entries(configs(epochs))) {
      if (only && !only.some((o) => name.startsWith(o))) continue;
      // The ViT has no embedding table (its patch projection is a Conv).
      if (m === 'vit-mnist' && /embedding/.test(name)) continue;
      rows.push(await run(m, name, extra, dir));
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const columns = ['model', 'configuration', 'fp32 top-1 %', 'top-1 %', 'drop', 'file', 'smaller', 'of which tensors', 'spaces permuted', 'seconds'];
  const table = rows.map((r) => [
    r.model,
    r.config,
    r.fp32.toFixed(2),
    r.top1.toFixed(2),
    (r.fp32 - r.top1).toFixed(2),
    `${(r.inputBytes / 1024).toFixed(1)} → ${(r.outputBytes / 1024).toFixed(1)} KiB`,
    `${(r.inputBytes / r.outputBytes).toFixed(1)}×`,
    `${(r.tensorBytes / 1024).toFixed(1)} KiB`,
    r.permuted,
    r.seconds.toFixed(0),
  ]);
  const notes = [`p = 4, λ chosen from the model, ${epochs ?? 'the default'} epochs unless stated; ViT: 2 000 MNIST calibration / 2 000 test images; text: licence windows (fixtures/README.md); engine backend: ${getBackend().name}`];
  return [{ title: 'transformers at p = 4 (ablation)', columns, rows: table, notes, data: rows }];
}
