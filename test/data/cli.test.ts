// tbn compress and verify on a folder of PNGs, run as a user runs them: a real process with
// stderr piped (not a TTY), so progress comes as plain lines, and --json keeps stdout to JSON.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArrays } from '../../src/data/dataset.js';
import { dataPath, modelPath, ROOT } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

function tbn(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/helpers/cli-entry.ts'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let images: string;
let npz: Map<string, import('../../src/util/host-tensor.js').HostTensor>;
beforeAll(async () => {
  // 120 MNIST test digits as 8-bit PNGs in class folders.
  npz = (await readArrays(dataPath('mnist-test.npz'))).arrays;
  // Shared by the tests of this file (tmpDir's folders go after each test).
  images = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-folder-'));
  const x = npz.get('input')!.data as Float32Array;
  const y = npz.get('label')!.data as BigInt64Array;
  await Promise.all(
    Array.from({ length: 120 }, async (_, i) => {
      const dir = path.join(images, String(y[i]));
      fs.mkdirSync(dir, { recursive: true });
      const px = Buffer.from(Array.from(x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)));
      await sharp(px, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(path.join(dir, `${String(i).padStart(3, '0')}.png`));
    }),
  );
});

afterAll(() => fs.rmSync(images, { recursive: true, force: true }));

describe('a folder of images through the CLI', () => {
  it('compress --json: one JSON document on stdout, progress lines on stderr; verify reads the same folder', { timeout: 180_000 }, () => {
    const out = path.join(tmpDir(), 'mlp.tbn.onnx');
    const r = tbn('compress', modelPath('mnist-mlp.onnx'), '--data', images, '--steps', '12', '--batch-size', '32', '-o', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.finetune.steps).toBe(12);
    expect(report.agreement.samples).toBe(120);
    expect(report.warnings.join('\n')).toMatch(/120 images from .*channels=gray.*→ \(1, 28, 28\) float32/);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^\[00:\d\d\] compressing$/);
    expect(lines.some((l) => /^\[\d\d:\d\d\] fine-tuning: step \d+\/12, epoch \d+\/\d+, loss [\d.]+, [\d.]+ samples\/s, ETA \d+/.test(l))).toBe(true);
    expect(lines.some((l) => /writing .*mlp\.tbn\.onnx/.test(l))).toBe(true);

    const v = tbn('verify', modelPath('mnist-mlp.onnx'), out, '--data', images, '--json', '--quiet');
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toBe('');
    const rep = JSON.parse(v.stdout);
    expect(rep.data).toMatchObject({ samples: 120, labelled: true, synthetic: false });
    // The PNGs hold the npz's pixels rounded to 8 bits: fp32 accuracy is the npz's on those rows.
    expect(rep.outputs[0].accuracy.original).toBeGreaterThan(0.9);
  });

  it('the same seed gives the same output bytes from a folder (shuffled reads, augmentation)', { timeout: 180_000 }, async () => {
    const { compressModel } = await import('../../src/pipeline/compress.js');
    const dir = tmpDir();
    const run = async (name: string) => {
      const output = path.join(dir, name);
      await compressModel({ model: modelPath('mnist-mlp.onnx'), output, data: images, preprocess: ['resize=28x28,mean=0.1307,std=0.3081'], seed: 7, evalSamples: 1, steps: 6, batchSize: 16 });
      return fs.readFileSync(output);
    };
    const [a, b] = [await run('a.onnx'), await run('b.onnx')];
    expect(a.equals(b)).toBe(true);
  });

  it('a bad recipe and a bad file are one line each, exit 2 and 1', () => {
    const bad = tbn('compress', modelPath('mnist-mlp.onnx'), '--data', images, '--preprocess', 'resize=28', '--dry-run');
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n').filter((l) => l.startsWith('tbn:'))).toEqual([
      "tbn: --preprocess 'resize=28': resize=28 is not valid (expected HxW, fixed:HxW, keep-aspect-pad:HxW, fit-height-pad:HxW, shorter-side:S or none)",
    ]);
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'broken.png'), 'not an image');
    const file = tbn('compress', modelPath('mnist-mlp.onnx'), '--data', dir, '--dry-run', '--quiet');
    expect(file.code).toBe(1);
    expect(file.stderr.trim().split('\n')).toHaveLength(1);
    expect(file.stderr).toMatch(/broken\.png: not an image tbn can read/);
  });
});
