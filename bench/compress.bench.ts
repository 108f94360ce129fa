// Compression quality on the MNIST fixtures: top-1 accuracy on the 2 000 held-out test images
// at p = 2, 4, 8 without and with fine-tuning, and an ablation at p = 4 from the paper's
// recipe (tiles from the trained weights, 15 epochs of distillation + labels) to tbn's
// defaults (channel permutation, BatchNorm re-estimation, augmentation, 60 epochs).
// TBN_BENCH_MODELS=mnist-mlp limits the models; TBN_BENCH_QUICK=1 runs p = 4 only.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData, type Dataset } from '../src/data/dataset.js';
import type { Model } from '../src/ir/types.js';
import { getBackend } from '../src/engine/index.js';
import { loadModel } from '../src/onnx/file.js';
import { compressModel, type CompressOptions } from '../src/pipeline/compress.js';
import { compareModels } from '../src/verify/compare.js';
import type { BenchSection } from './run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = (f: string) => path.join(root, 'fixtures', f);

interface Row {
  model: string;
  p: number;
  config: string;
  bitsPerTiledWeight: number | null;
  accuracy: number;
  fp32Accuracy: number;
  seconds: number;
}

const CONFIGS: Record<string, Partial<CompressOptions>> = {
  'paper recipe (15 epochs, labels, no permutation/BN/augmentation)': { permute: false, bnRecalib: false, epochs: 15, augment: false },
  '+ channel permutation': { bnRecalib: false, epochs: 15, augment: false },
  '+ BatchNorm re-estimation': { epochs: 15, augment: false },
  '+ augmentation': { epochs: 15 },
  'tbn default (+ 60 epochs)': {},
};

const testSets = new Map<string, { ir: Model; test: Dataset }>();
/** The fixture's IR and the test set, loaded once per fixture. */
async function testSet(file: string): Promise<{ ir: Model; test: Dataset }> {
  let t = testSets.get(file);
  if (!t) {
    const { model: ir } = loadModel(file);
    testSets.set(file, (t = { ir, test: await loadData(fixture('data/mnist-test.npz'), ir) }));
  }
  return t;
}

async function run(model: string, p: number, config: string, extra: Partial<CompressOptions>, dir: string): Promise<Row> {
  const file = fixture(`models/${model}.onnx`);
  const out = path.join(dir, `${model}-${p}-${Object.keys(CONFIGS).indexOf(config)}.onnx`);
  const started = performance.now();
  const report = await compressModel({ model: file, output: out, force: true, data: fixture('data/mnist-calib.npz'), p, minParams: 10_000, evalSamples: 1, ...extra });
  const seconds = (performance.now() - started) / 1000;
  const { ir, test } = await testSet(file);
  const a = await compareModels(file, out, { data: test, model: ir, samples: test.count, seed: 0 });
  const acc = a.outputs[0]!.accuracy!;
  return { model, p, config, bitsPerTiledWeight: report.sizes.bitsPerTiledWeight, accuracy: 100 * acc.compressed, fp32Accuracy: 100 * acc.original, seconds };
}

export default async function bench(): Promise<BenchSection[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-bench-'));
  const models = (process.env.TBN_BENCH_MODELS ?? 'mnist-mlp,mnist-cnn').split(',');
  const quick = !!process.env.TBN_BENCH_QUICK;
  const rows: Row[] = [];
  for (const m of models) {
    for (const p of quick ? [4] : [2, 4, 8]) {
      rows.push(await run(m, p, 'no fine-tuning (permutation + BatchNorm)', { finetune: false }, dir));
      rows.push(await run(m, p, 'tbn default (+ 60 epochs)', {}, dir));
    }
  }
  const ablation: Row[] = [];
  for (const m of models) {
    for (const [name, extra] of Object.entries(CONFIGS)) {
      if (quick && !name.startsWith('tbn')) continue;
      // The default at p = 4 is a row of the first table already: the same run, not repeated.
      const done = rows.find((r) => r.model === m && r.p === 4 && r.config === name);
      ablation.push(done ?? (await run(m, 4, name, extra, dir)));
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const table = (r: Row[]) => r.map((x) => [x.model, x.p, x.config, x.bitsPerTiledWeight?.toFixed(3) ?? '-', x.fp32Accuracy.toFixed(2), x.accuracy.toFixed(2), (x.fp32Accuracy - x.accuracy).toFixed(2), x.seconds.toFixed(0)]);
  const columns = ['model', 'p', 'configuration', 'bits/tiled weight', 'fp32 top-1 %', 'top-1 %', 'drop', 'seconds'];
  const notes = [`λ = 10 000, 2 000 calibration images, 2 000 test images; engine backend: ${getBackend().name}`];
  return [
    { title: 'compression accuracy (MNIST test)', columns, rows: table(rows), notes, data: rows },
    { title: 'ablation at p = 4', columns, rows: table(ablation), notes, data: ablation },
  ];
}
