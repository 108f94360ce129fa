// tbn verify: exit codes a CI pipeline can trust. Two encodings of the same tiles agree
// exactly; one flipped tile byte or one scaled α fails a threshold with exit 3; models with
// different inputs/outputs fail with exit 1; --json has the documented shape.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Model } from '../../src/ir/types.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { skipNative } from '../native-ops/helpers.js';
import { tbn } from './run.js';

function write(dir: string, name: string, m: Model): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, toBytes(m));
  return f;
}

function damaged(m: Model, how: 'bits' | 'alpha'): Model {
  const initializers = m.graph.initializers.map((t) => {
    if (how === 'bits' && t.name === 'fc1.weight_tbn_bits') {
      const data = Uint8Array.from(t.data as Uint8Array);
      data[50] ^= 0xff; // weights of row 0 reading pixels 400–407 (the image centre)
      return { ...t, data };
    }
    if (how === 'alpha' && t.name === 'fc2.weight_tbn_scales') {
      const data = Float32Array.from(t.data as Float32Array);
      data[1] *= 4;
      return { ...t, data };
    }
    return t;
  });
  return { ...m, graph: { ...m.graph, initializers } };
}

describe('tbn verify', () => {
  const dir = () => tmpDir();
  const mlp = () => compressInMemory(modelPath('mnist-mlp.onnx'), 'custom', { p: 4, minParams: 60000 });
  const tight = ['--min-agreement', '0.999', '--max-mse', '1e-6', '--max-drop', '0.1'];

  it('passes a model against a faithful re-encoding of it', async () => {
    const d = dir();
    const c = mlp();
    const a = write(d, 'custom.onnx', c.model);
    const b = write(d, 'expanded.onnx', compressInMemory(modelPath('mnist-mlp.onnx'), 'expanded', { p: 4, minParams: 60000 }).model);
    const r = await tbn('verify', a, b, '--data', dataPath('mnist-test.npz'), '--samples', '300', ...tight);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pass: --min-agreement 0.999/);
  });

  it.each([
    ['one flipped tile byte', 'bits' as const],
    ['one scaled α', 'alpha' as const],
  ])('fails with exit 3 on %s', async (_what, how) => {
    const d = dir();
    const c = mlp();
    const a = write(d, 'good.onnx', c.model);
    const b = write(d, 'bad.onnx', damaged(c.model, how));
    const r = await tbn('verify', a, b, '--data', dataPath('mnist-test.npz'), '--samples', '300', '--max-mse', '1e-6');
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tbn: verification failed: --max-mse 0.000001: logits MSE is \d/);
  });

  it('fails with exit 1 when the models do not have the same inputs and outputs', async () => {
    const r = await tbn('verify', modelPath('mnist-mlp.onnx'), modelPath('tcn-1d.onnx'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not comparable: input 'input' is float32\[batch,1,28,28\] in .* but float32\[batch,4,64\]/);
    expect(r.stderr).toMatch(/output 'logits' is missing from/);
  });

  it('exits 2 on bad flag values and 1 when --max-drop has no labels', async () => {
    expect((await tbn('verify', modelPath('mnist-mlp.onnx'), modelPath('mnist-mlp.onnx'), '--min-agreement', '98')).code).toBe(2);
    const r = await tbn('verify', modelPath('mnist-mlp.onnx'), modelPath('mnist-mlp.onnx'), '--max-drop', '1', '--samples', '8', '--latency-runs', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--max-drop needs labelled data/);
  });

  it('prints one JSON document of the documented shape', async () => {
    const d = dir();
    const a = write(d, 'c.onnx', mlp().model);
    const r = await tbn('verify', modelPath('mnist-mlp.onnx'), a, '--data', dataPath('mnist-test.npz'), '--samples', '128', '--json', '--latency-runs', '2', '--min-agreement', '0');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const num = expect.any(Number);
    expect(report).toMatchObject({
      original: { file: modelPath('mnist-mlp.onnx'), bytes: num, params: 269322 + 0 * 1 },
      compressed: { file: a, bytes: num, tiledLayers: 2, tiledParams: 266240, bitsPerTiledWeight: num, bitsPerWeight: num },
      runtime: 'ort',
      data: { source: dataPath('mnist-test.npz'), samples: 128, synthetic: false, labelled: true },
      latency: { batchSize: 64, runs: 2, threads: 0, originalMs: num, compressedMs: num, speedup: num },
      thresholds: [{ flag: '--min-agreement', output: 'logits', limit: 0, value: num, passed: true }],
      passed: true,
      warnings: [],
    });
    expect(report.outputs).toEqual([
      {
        name: 'logits',
        values: 1280,
        mse: num,
        maxAbsError: num,
        cosine: num,
        task: { kind: 'classification', form: 'logits', reason: expect.stringMatching(/labels/), source: 'graph' },
        top1Agreement: num,
        accuracy: { original: num, compressed: num },
        sequence: null,
        embedding: null,
        dense: null,
        regression: null,
      },
    ]);
  });
});

describe('tbn verify --runtime custom-ops', () => {
  it.skipIf(skipNative)('runs the compressed model through the ai.tbn kernels with the same answers', async () => {
    const d = tmpDir();
    const c = compressInMemory(modelPath('mnist-mlp.onnx'), 'custom', { p: 4, minParams: 60000 });
    const a = write(d, 'c.onnx', c.model);
    const viaOrt = JSON.parse((await tbn('verify', modelPath('mnist-mlp.onnx'), a, '--data', dataPath('mnist-test.npz'), '--samples', '256', '--json', '--latency-runs', '2')).stdout);
    const r = await tbn('verify', modelPath('mnist-mlp.onnx'), a, '--data', dataPath('mnist-test.npz'), '--samples', '256', '--json', '--latency-runs', '2', '--runtime', 'custom-ops');
    expect(r.code).toBe(0);
    const viaOps = JSON.parse(r.stdout);
    expect(viaOps.runtime).toBe('custom-ops');
    expect(viaOps.outputs[0].top1Agreement).toBeCloseTo(viaOrt.outputs[0].top1Agreement, 2);
    expect(viaOps.outputs[0].mse).toBeCloseTo(viaOrt.outputs[0].mse, 3);
    // With the kernels it also times the file as stock onnxruntime runs it (its functions).
    expect(viaOps.latency.functionFormMs).toBeGreaterThan(0);
    expect(viaOrt.latency.functionFormMs).toBeUndefined();
    const text = await tbn('verify', modelPath('mnist-mlp.onnx'), a, '--samples', '16', '--latency-runs', '2', '--runtime', 'custom-ops');
    expect(text.stdout).toMatch(/median of 2 interleaved runs\): original [\d.]+ ms, compressed [\d.]+ ms \([^)]+\); as its ONNX functions \(stock onnxruntime, no ai\.tbn library\) [\d.]+ ms/);
  });
});
