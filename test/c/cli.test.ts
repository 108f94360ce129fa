// `tbn export` through the CLI: the report, --json, the generated Makefile's `make test`,
// flag and input errors (exit 2 / 1, nothing written), --force, and exit 1 when the compiled
// model does not match onnxruntime (a compiler wrapper perturbs one weight).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostCheck } from '../../src/mcu/verify.js';
import { findTool, hostCompiler } from '../../src/mcu/toolchain.js';
import { tbn } from '../cli/run.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { hasCC } from './tools.js';

const MLP = modelPath('mnist-mlp.onnx');
const DATA = dataPath('mnist-test.npz');

describe('tbn export: flags and inputs', () => {
  it('refuses an unknown target, a bad name and a bad --fit with exit 2, writing nothing', async () => {
    const out = path.join(tmpDir(), 'o');
    for (const args of [['--target', 'fpga'], ['--target', 'mcu', '--name', '1bad'], ['--target', 'mcu', '--fit', '256K']]) {
      const r = await tbn('export', MLP, ...args, '--out', out, '--no-verify');
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a missing model or data file is one line and exit 1', async () => {
    const out = path.join(tmpDir(), 'o');
    let r = await tbn('export', '/nonexistent/m.onnx', '--target', 'mcu', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('tbn: /nonexistent/m.onnx: no such model file\n');
    r = await tbn('export', MLP, '--target', 'mcu', '--out', out, '--data', '/nonexistent/d.npz');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe.skipIf(!hasCC())('tbn export: a working export', () => {
  it('prints the layers, sizes and the host check; the folder builds and passes with `make test`', async () => {
    const out = path.join(tmpDir(), 'mlp');
    const r = await tbn('export', MLP, '--target', 'mcu', '--out', out, '--data', DATA, '--samples', '4');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/host check: PASS on 4 samples, max \|err\| [\d.e-]+ \(scale [\d.]+\), top-1 agreement 4\/4, label accuracy \d\/4/);
    expect(r.stdout).toContain('flash, constant data: 1.03 MiB');
    expect(r.stdout).toContain('RAM: arena 2.0 KiB');
    for (const f of ['mnist_mlp.h', 'mnist_mlp.c', 'mnist_mlp_weights.c', 'tbn_kernels.h', 'tbn_kernels.c', 'Makefile', 'm4/tbn_m4.c']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    const header = fs.readFileSync(path.join(out, 'mnist_mlp.h'), 'utf8');
    expect(header).toContain(`sha256:       ${(await import('node:crypto')).createHash('sha256').update(fs.readFileSync(MLP)).digest('hex')}`);
    expect(header).toContain('command:      tbn export');
    expect(header).toMatch(/#define MNIST_MLP_ARENA_BYTES 2048/);
    expect(header).toContain('void mnist_mlp_run(const float *input, float *logits);');
    if (findTool('make')) {
      const make = spawnSync('make', ['test', `CC=${hostCompiler()}`], { cwd: out, encoding: 'utf8' });
      expect(make.status, make.stderr).toBe(0);
      expect(make.stdout).toContain('tbn-test: PASS');
    }
    // an existing export is only replaced with --force
    const again = await tbn('export', MLP, '--target', 'mcu', '--out', out, '--no-verify');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect((await tbn('export', MLP, '--target', 'mcu', '--out', out, '--no-verify', '--force')).code).toBe(0);
  });

  it('--json prints one document', async () => {
    const out = path.join(tmpDir(), 'cnn');
    const r = await tbn('export', modelPath('mnist-cnn.onnx'), '--target', 'mcu', '--out', out, '--samples', '2', '--json', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ name: 'mnist_cnn', target: 'mcu', ok: true, host: { status: 'pass', samples: 2 } });
    expect(doc.ram.arenaBytes).toBe(4 * (32 * 14 * 14 + 64 * 7 * 7 + 14 * 14));
    expect(doc.flash.constBytes).toBeGreaterThan(900_000);
  });
});

describe.skipIf(!hasCC())('the check can fail', () => {
  const saved = process.env.CC;
  afterEach(() => {
    if (saved === undefined) delete process.env.CC;
    else process.env.CC = saved;
  });

  /** A C compiler that changes the first weight of every *_weights.c before compiling. */
  function perturbingCompiler(): string {
    const dir = tmpDir('tbn-cc-');
    const script = path.join(dir, 'cc-perturb');
    fs.writeFileSync(
      script,
      `#!${process.execPath}
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const args = process.argv.slice(2).map((a, i) => {
  if (!a.endsWith('_weights.c')) return a;
  const copy = ${JSON.stringify(dir)} + '/w' + i + '.c';
  fs.writeFileSync(copy, fs.readFileSync(a, 'utf8').replace(/= \\{\\n    (-?[0-9.e+-]+)f/, '= {\\n    ($1f + 1.0f)'));
  return copy;
});
process.exit(spawnSync(${JSON.stringify(hostCompiler())}, args, { stdio: 'inherit' }).status ?? 1);
`,
    );
    fs.chmodSync(script, 0o755);
    return script;
  }

  it('hostCheck reports FAIL, and tbn export exits 1, when the C model differs from onnxruntime', async () => {
    const out = path.join(tmpDir(), 'mlp');
    process.env.CC = perturbingCompiler();
    const r = await tbn('export', MLP, '--target', 'mcu', '--out', out, '--data', DATA, '--samples', '3');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('host check: FAIL');
    expect(r.stderr).toMatch(/does not match onnxruntime \(host check: outputs differ/);
    const check = hostCheck(out, 'mnist_mlp');
    expect(check.status).toBe('fail');
    expect(check.outputs![0]!.maxAbsErr).toBeGreaterThan(1e-4 * check.outputs![0]!.scale);
    delete process.env.CC;
    expect(hostCheck(out, 'mnist_mlp').status).toBe('pass'); // the files themselves are right
  });
});
