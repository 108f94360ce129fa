// The defaults that act on real models (issue 15): λ chosen from the model and reported, the
// same in inspect and compress; nothing tiled → exit 4 and no file; every figure finite.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { tbn } from './run.js';

describe('λ chosen from the model', () => {
  it('is reported by compress (text and JSON) and equals what inspect chooses', async () => {
    const inspect = JSON.parse((await tbn('inspect', modelPath('mnist-resnet.onnx'), '--json')).stdout);
    const r = await tbn('compress', modelPath('mnist-resnet.onnx'), '--dry-run', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.lambda).toEqual(inspect.lambda);
    expect(report.lambda).toMatchObject({ auto: true, value: 8_192 });
    expect(report.layers.map((l: { weight: string }) => l.weight)).toEqual(
      inspect.layers.filter((l: { blocked: string | null; underThreshold: boolean }) => !l.blocked && !l.underThreshold).map((l: { weight: string }) => l.weight),
    );
    const text = await tbn('compress', modelPath('mnist-resnet.onnx'), '--dry-run');
    expect(text.stdout).toContain('λ = 8,192 (chosen from the model): the largest layers until they hold ≥ 90 % of the tileable weight bytes');
  });

  it('--min-params keeps its meaning', async () => {
    const r = await tbn('compress', modelPath('mnist-mlp.onnx'), '--dry-run', '--min-params', '100000', '--json');
    const report = JSON.parse(r.stdout);
    expect(report.lambda).toMatchObject({ auto: false, value: 100_000 });
    expect(report.layers.map((l: { params: number }) => l.params)).toEqual([200_704]);
  });
});

describe('nothing to tile', () => {
  it('exits 4 with one line on stderr and writes no file', async () => {
    const d = tmpDir();
    const out = path.join(d, 'out.onnx');
    const r = await tbn('compress', modelPath('tf-style-opset11.onnx'), '-o', out, '--min-params', '100000');
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no layer was tiled \(2 layers under λ = 100,000\); the largest of those has 3,072 parameters: lower --min-params; nothing was written/);
    expect(fs.readdirSync(d)).toEqual([]);
    const excluded = await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', out, '--exclude', '*', '--dry-run');
    expect(excluded.code).toBe(4);
    expect(excluded.stderr).toMatch(/no layer was tiled \(3 layers matched by --exclude\); nothing was written/);
  });
});

describe('report figures', () => {
  it('are finite for a model whose weights are Constant nodes, in inspect, compress and verify', async () => {
    const d = tmpDir();
    const model = modelPath('tf-style-opset11.onnx');
    const out = path.join(d, 'out.onnx');
    const runs = [await tbn('inspect', model), await tbn('compress', model, '-o', out, '--no-finetune'), await tbn('verify', model, out, '--latency-runs', '1')];
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/Infinity|NaN|1\.0× smaller|1\.00× smaller/);
    }
    const v = JSON.parse((await tbn('verify', model, out, '--latency-runs', '1', '--json')).stdout);
    expect(Number.isFinite(v.compressed.bitsPerWeight)).toBe(true);
    const i = JSON.parse((await tbn('inspect', model, '--json')).stdout);
    for (const e of i.totals.perP) expect(e.bitsPerWeight === null || Number.isFinite(e.bitsPerWeight)).toBe(true);
  });
});
