// tbn compress end to end: outputs written once and atomically, never over the input or an
// existing file, reproducible for a seed, valid for onnx.checker, and interruptible at any
// point (SIGINT or SIGKILL) leaving either the complete output or nothing.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import { loadModel, saveModel } from '../../src/onnx/file.js';
import { ROOT, dataPath, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { hasPythonOnnx } from '../helpers/models.js';
import { Rng } from '../../src/util/random.js';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { runOnce } from '../helpers/ort.js';
import { tbn } from './run.js';

describe('tbn compress', () => {
  it('writes nothing on --dry-run, and refuses to replace a file or the input', async () => {
    const d = tmpDir();
    const out = path.join(d, 'out.onnx');
    const dry = await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', out, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run: nothing written/);
    expect(fs.readdirSync(d)).toEqual([]);
    fs.writeFileSync(out, 'keep me');
    const exists = await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', out, '--no-finetune');
    expect(exists.code).toBe(2);
    expect(exists.stderr).toMatch(/exists; add --force/);
    expect(fs.readFileSync(out, 'utf8')).toBe('keep me');
    const self = await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', modelPath('mnist-mlp.onnx'), '--force', '--no-finetune');
    expect(self.code).toBe(2);
    expect(self.stderr).toMatch(/that is the input model/);
  });

  it('tiles a model whose shapes are unknown without data (--no-finetune)', async () => {
    const d = tmpDir();
    const rng = new Rng(3);
    const w = floatTensor('w', [64, 128], Float32Array.from({ length: 64 * 128 }, () => rng.normal()));
    const m = model(graph({ name: 'dyn', nodes: [node('MatMul', ['x', 'w'], ['y'], [], { name: 'mm' })], initializers: [w], inputs: [valueInfo('x', 'float32', ['N', 'T', 64])], outputs: [valueInfo('y', 'float32', ['N', 'T', 128])] }));
    const src = path.join(d, 'dyn.onnx');
    saveModel(m, src);
    const r = await tbn('compress', src, '--no-finetune', '--min-params', '0');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/agreement with the original not measured/);
    const out = loadModel(path.join(d, 'dyn.tbn.onnx')).model;
    expect(out.graph.nodes.map((n) => n.opType)).toEqual(['TbnMatMul']);
  });

  it('gives the same bytes for the same seed and data', async () => {
    const d = tmpDir();
    const args = ['--data', dataPath('mnist-calib.npz'), '--steps', '4', '--min-params', '60000', '--seed', '5'];
    expect((await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', path.join(d, 'a.onnx'), ...args)).code).toBe(0);
    expect((await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', path.join(d, 'b.onnx'), ...args)).code).toBe(0);
    expect(fs.readFileSync(path.join(d, 'a.onnx')).equals(fs.readFileSync(path.join(d, 'b.onnx')))).toBe(true);
    const c = await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', path.join(d, 'c.onnx'), ...args.slice(0, -1), '6');
    expect(fs.readFileSync(path.join(d, 'a.onnx')).equals(fs.readFileSync(path.join(d, 'c.onnx')))).toBe(c.code !== 0);
  });

  it.skipIf(!hasPythonOnnx && process.env.CI !== 'true')('writes models onnx.checker accepts (full_check), with value_info for the custom ops', async () => {
    const d = tmpDir();
    const out = path.join(d, 'cnn.onnx');
    expect((await tbn('compress', modelPath('mnist-cnn.onnx'), '-o', out, '--data', dataPath('mnist-calib.npz'), '--steps', '2', '--min-params', '10000')).code).toBe(0);
    const script = 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(len(m.graph.value_info))';
    expect(Number(execFileSync('/usr/bin/python3', ['-c', script, out], { encoding: 'utf8' }).trim())).toBeGreaterThanOrEqual(3);
  });

  it('refuses a model tbn already compressed before it reads any data', async () => {
    const d = tmpDir();
    const once = path.join(d, 'once.onnx');
    expect((await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', once, '--no-finetune', '--min-params', '60000')).code).toBe(0);
    const again = await tbn('compress', once, '-o', path.join(d, 'twice.onnx'), '--data', path.join(d, 'missing.npz'));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/once\.onnx: the model is already compressed by tbn/);
    expect(fs.existsSync(path.join(d, 'twice.onnx'))).toBe(false);
  });

  it("shortens intermediate names unless --keep-names, with the same outputs in onnxruntime", async () => {
    const d = tmpDir();
    const [short, kept] = [path.join(d, 'short.onnx'), path.join(d, 'kept.onnx')];
    const args = ['--no-finetune', '--min-params', '60000'];
    expect((await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', short, ...args)).code).toBe(0);
    expect((await tbn('compress', modelPath('mnist-mlp.onnx'), '-o', kept, ...args, '--keep-names')).code).toBe(0);
    const values = (file: string) => loadModel(file).model.graph.nodes.flatMap((n) => n.outputs);
    expect(values(kept)).toContain('/Shape_output_0');
    expect(values(short).filter((v) => v !== 'logits').every((v) => /^v[0-9a-z]+$/.test(v))).toBe(true);
    expect(fs.statSync(short).size).toBeLessThan(fs.statSync(kept).size);
    const m = loadModel(kept).model;
    const feeds = syntheticInputs(m, { batch: 4, seed: 2 });
    const [a, b] = [await runOnce(kept, feeds), await runOnce(short, feeds)];
    for (const k of Object.keys(a)) expect(b[k]!.data).toEqual(a[k]!.data);
  });

  it('stores the untiled parameters as float16 with --rest-dtype float16; the tiles, onnxruntime and the C export agree', async () => {
    const d = tmpDir();
    const [full, half] = [path.join(d, 'full.onnx'), path.join(d, 'half.onnx')];
    const args = ['--no-finetune', '--min-params', '10000'];
    expect((await tbn('compress', modelPath('mnist-cnn.onnx'), '-o', full, ...args)).code).toBe(0);
    const r = await tbn('compress', modelPath('mnist-cnn.onnx'), '-o', half, ...args, '--rest-dtype', 'float16');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/stored as float16: \d+ float32 tensors/);
    const [a, b] = [loadModel(full).model, loadModel(half).model];
    const tiles = (m: typeof a) => m.graph.initializers.filter((t) => /_tbn_(bits|scales)$/.test(t.name!));
    expect(tiles(b)).toEqual(tiles(a));
    expect(b.graph.initializers.filter((t) => t.dtype === 'float16').length).toBeGreaterThan(4);
    expect(fs.statSync(full).size - fs.statSync(half).size).toBeGreaterThan(3000);
    const feeds = syntheticInputs(a, { batch: 4, seed: 2 });
    const [x, y] = [await runOnce(full, feeds), await runOnce(half, feeds)];
    const ref = x.logits!.data as Float32Array;
    expect(y.logits!.data as Float32Array).toBeAllclose(ref, { atol: 5e-3 * Math.max(...Array.from(ref, Math.abs)), rtol: 5e-3 });
    const exported = await tbn('export', half, '--target', 'mcu', '--out', path.join(d, 'half_c'), '--data', dataPath('mnist-test.npz'), '--samples', '4');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/host check: PASS on 4 samples/);
  });
});

describe('interrupting tbn compress', () => {
  const entry = path.join(ROOT, 'test/helpers/cli-entry.ts');
  const run = (out: string) =>
    spawn(process.execPath, ['--import', 'tsx', entry, 'compress', modelPath('mnist-mlp.onnx'), '-o', out, '--data', dataPath('mnist-calib.npz'), '--steps', '30', '--min-params', '60000'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });

  // Seeded random points across the whole run (start-up, tiling, fine-tuning, writing, done).
  const rng = new Rng(2026);
  const points = Array.from({ length: 10 }, (_, i) => [i % 2 ? 'SIGKILL' : 'SIGINT', 100 + Math.round(rng.next() * 8000)] as const);
  it.each(points)('%s after %i ms leaves the complete output or nothing', async (signal, delay) => {
    const d = tmpDir();
    const out = path.join(d, 'out.onnx');
    const child = run(out);
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    await new Promise((r) => setTimeout(r, delay));
    child.kill(signal);
    const code = await exited;
    // Before tbn has printed anything it may not have installed its handler yet (node and tsx
    // still loading on a busy machine): then SIGINT ends the process as it ends any other.
    const started = stderr.length > 0;
    const files = fs.readdirSync(d);
    if (files.includes('out.onnx')) {
      expect(() => loadModel(out)).not.toThrow();
      expect(files).toEqual(['out.onnx']);
    } else {
      expect(files).toEqual([]);
      if (signal === 'SIGINT' && started) expect(code).toBe(130);
    }
  });
});
