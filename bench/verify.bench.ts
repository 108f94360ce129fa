// `tbn verify` figures on the MNIST fixtures at p = 2, 4, 8: each fixture compressed with the
// default fine-tune (`tbn compress -p P --data mnist-calib.npz`), then verified on the 2 000
// test images in stock onnxruntime (the ONNX functions) and with the ai.tbn kernel library.
// Everything runs through bin/tbn.js in child processes, as a user runs it.
// TBN_BENCH_MODELS=mnist-mlp limits the models. `npm run bench -- verify`.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../src/tbn/sizes.js';
import { ensureDist, tbnCli as cli } from './cli.js';
import type { BenchSection } from './run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface VerifyJson {
  original: { bytes: number };
  compressed: { bytes: number; bitsPerTiledWeight: number | null; bitsPerWeight: number };
  outputs: { mse: number; cosine: number; top1Agreement: number | null; accuracy: { original: number; compressed: number } | null }[];
  latency: { batchSize: number; threads: number; originalMs: number; compressedMs: number; speedup: number };
}

function verify(model: string, compressed: string, runtime: 'ort' | 'custom-ops'): VerifyJson {
  return JSON.parse(cli(['verify', model, compressed, '--data', path.join(root, 'fixtures', 'data', 'mnist-test.npz'), '--runtime', runtime, '--threads', '1', '--json'])) as VerifyJson;
}

export default async function verifyBench(): Promise<BenchSection[]> {
  ensureDist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-bench-verify-'));
  const models = (process.env.TBN_BENCH_MODELS ?? 'mnist-mlp,mnist-cnn').split(',');
  const rows: (string | number)[][] = [];
  const data: unknown[] = [];
  try {
    for (const m of models) {
      const model = path.join(root, 'fixtures', 'models', `${m}.onnx`);
      for (const p of [2, 4, 8]) {
        const out = path.join(dir, `${m}-p${p}.onnx`);
        cli(['compress', model, '--data', path.join(root, 'fixtures', 'data', 'mnist-calib.npz'), '-p', String(p), '-o', out, '--quiet', '--json']);
        const ort = verify(model, out, 'ort');
        const ops = verify(model, out, 'custom-ops');
        const o = ort.outputs[0]!;
        rows.push([
          m,
          p,
          `${formatBytes(ort.original.bytes)} → ${formatBytes(ort.compressed.bytes)}`,
          ort.compressed.bitsPerTiledWeight?.toFixed(3) ?? '-',
          o.accuracy ? `${(100 * o.accuracy.original).toFixed(2)} → ${(100 * o.accuracy.compressed).toFixed(2)}` : '-',
          o.top1Agreement === null ? '-' : (100 * o.top1Agreement).toFixed(2),
          o.mse.toExponential(2),
          o.cosine.toFixed(4),
          ort.latency.originalMs.toFixed(2),
          ort.latency.compressedMs.toFixed(2),
          ops.latency.compressedMs.toFixed(2),
        ]);
        data.push({ model: m, p, ort, customOps: ops });
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    {
      title: 'tbn verify on the MNIST test set (2 000 images), default fine-tune',
      columns: ['model', 'p', 'file size', 'bits/tiled weight', 'top-1 % (fp32 → tbn)', 'top-1 agreement %', 'MSE', 'cosine', 'fp32 ms', 'functions ms', 'ai.tbn kernels ms'],
      rows,
      notes: ['Latency: batch 64, onnxruntime-node with 1 intra-op thread, median of 10 runs after warm-up; "functions" is the compressed file in stock onnxruntime, "ai.tbn kernels" with the custom-op library. λ chosen from the model (the default; for these fixtures the same layers as λ = 64 000).'],
      data,
    },
  ];
}
