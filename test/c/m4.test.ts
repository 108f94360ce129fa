// On an emulated Cortex-M4 (QEMU mps2-an386, hard-float, semihosting): the cross-compiled
// harness passes on the same reference vectors, and the goals for the LeNet-style CNN
// hold: at p = 4 its deployment image needs at least 15× less flash than the fp32 export and
// links into a 256 KiB-flash / 64 KiB-RAM part (the linker enforces the budget).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compressInMemory } from '../helpers/compress.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { findTool } from '../../src/mcu/toolchain.js';
import type { SelectOptions } from '../../src/tbn/select.js';
import { exportTo } from './helpers.js';
import { hasCC, hasQemu } from './tools.js';

function compressedFile(fixture: string, opts: SelectOptions): string {
  const file = path.join(tmpDir('tbn-c-m4-'), fixture.replace('.onnx', '.tbn.onnx'));
  fs.writeFileSync(file, compressInMemory(modelPath(fixture), 'custom', opts).bytes);
  return file;
}

const m4 = (file: string, data: string, extra: { qemuSamples?: number } = {}) =>
  exportTo(file, { data: dataPath(data), samples: 3, qemu: true, qemuSamples: extra.qemuSamples ?? 2 });

describe.skipIf(!(hasCC() && hasQemu()))('Cortex-M4 on QEMU', () => {
  it('mnist-cnn: p = 4 needs ≥ 15× less flash than fp32 and fits 256 KiB / 64 KiB', async () => {
    const fp32 = await m4(modelPath('mnist-cnn.onnx'), 'mnist-test.npz');
    const p4 = await m4(compressedFile('mnist-cnn.onnx', { p: 4, minParams: 10_000 }), 'mnist-test.npz');
    for (const r of [fp32, p4]) {
      expect(r.m4!.status, r.m4!.reason).toBe('pass');
      expect(r.m4!.top1Agree).toBe(r.m4!.samples);
      expect(r.m4!.instructionsPerInference).toBeGreaterThan(1e6);
      expect(r.m4!.stackUsed).toBeGreaterThan(0);
      expect(r.m4!.stackUsed).toBeLessThan(4096);
    }
    const [a, b] = [fp32.m4!.app!, p4.m4!.app!];
    expect(a.flash / b.flash).toBeGreaterThanOrEqual(15);
    expect(p4.m4!.fit).toMatchObject({ ok: true, flashBytes: 256 * 1024, ramBytes: 64 * 1024 });
    expect(b.flash).toBeLessThanOrEqual(256 * 1024);
    expect(b.ram).toBeLessThanOrEqual(64 * 1024);
    expect(fp32.m4!.fit!.ok).toBe(false); // ~950 KiB of fp32 weights cannot fit
    expect(p4.m4!.instructionsPerInference!).toBeLessThan(fp32.m4!.instructionsPerInference!);
  });

  it('mnist-mlp at p = 8 along the inputs (input chunks combined first)', async () => {
    const r = await m4(compressedFile('mnist-mlp.onnx', { p: 8, tileAxis: 'input' }), 'mnist-test.npz', { qemuSamples: 3 });
    expect(r.m4!.status, r.m4!.reason).toBe('pass');
    expect(r.layers.map((l) => l.kernel)).toContain('tbn_tiled_gemm_in_combine');
    // the generated Makefile does the same by hand
    if (findTool('make')) {
      const make = spawnSync('make', ['m4-test', 'M4_TEST_LIMIT=1'], { cwd: r.out, encoding: 'utf8' });
      expect(make.status, make.stderr).toBe(0);
      expect(make.stdout).toMatch(/tbn-test: ticks_per_inference=.* instructions_per_inference=\d+/);
      expect(make.stdout).toContain('tbn-test: PASS');
    }
  });

  it('transformer-encoder at p = 4: int64 token ids, Softmax, LayerNorm and Erf with newlib’s libm', async () => {
    const r = await m4(compressedFile('transformer-encoder.onnx', { p: 4 }), 'transformer-calib.npz');
    expect(r.m4!.status, r.m4!.reason).toBe('pass');
    expect(r.m4!.outputs![0]!.maxAbsErr).toBeLessThanOrEqual(1e-4 * r.m4!.outputs![0]!.scale);
  });
});
