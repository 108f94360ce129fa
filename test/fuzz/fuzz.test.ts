// The fuzz suite (seeded, bounded): mutated fixture models and data files fed to the CLI.
// Every case must end with exit 1 or 2 and exactly one stderr line naming the file (or flag)
// and the problem — never a signal, a hang, a stack trace or an internal error — leave no
// file at or beside the output path, and leave the input byte-for-byte unchanged. A case
// that exits 0 must have produced a valid result.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/ir/types.js';
import { loadModel } from '../../src/onnx/file.js';
import { encodeModel } from '../../src/onnx/proto.js';
import { writeModel } from '../../src/onnx/write.js';
import { Rng } from '../../src/util/random.js';
import { modelPath } from '../helpers/fixtures.js';
import {
  STRUCTURAL,
  escapingExternal,
  fieldBoundaries,
  flipBits,
  hugeLength,
  notAZip,
  npyWithHeader,
  npzOf,
  wrongWireType,
  zipBomb,
} from './mutate.js';
import { CliPool, type CaseResult } from './pool.js';

const SEED = Number(process.env.TBN_FUZZ_SEED ?? 1);
const SCALE = Number(process.env.TBN_FUZZ_SCALE ?? 1);
const TIME_LIMIT_MS = 20_000;

interface Case {
  category: string;
  argv: string[];
  /** Text the one stderr line must contain (a file name or a flag). */
  names: string;
  /** Files the command reads: they must not change. */
  inputs: string[];
  /** Folder the command may write its output into (must hold nothing new after a failure). */
  outDir?: string;
  output?: string;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-fuzz-'));
let counter = 0;
const rng = new Rng(SEED);

function caseDir(): string {
  const d = path.join(root, `c${counter++}`);
  fs.mkdirSync(d);
  return d;
}

function put(dir: string, name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

const SMALL_MODELS = ['mnist-mlp.onnx', 'opset18-conv.onnx', 'tf-style-opset11.onnx', 'fp16-weight.onnx', 'mnist-cnn.onnx'];
const bytesOf = new Map(SMALL_MODELS.map((m) => [m, fs.readFileSync(modelPath(m))]));
const irOf = new Map(SMALL_MODELS.map((m) => [m, loadModel(modelPath(m)).model]));
const count = (n: number) => Math.max(1, Math.round(n * SCALE));

/** The commands a broken model is fed to, in rotation. */
function modelCommand(file: string, dir: string, k: number): Pick<Case, 'argv' | 'outDir' | 'output'> {
  const out = path.join(dir, 'out', 'model.tbn.onnx');
  switch (k % 5) {
    case 0:
      return { argv: ['inspect', file] };
    case 1:
      return { argv: ['inspect', file, '--json', '--min-params', '0'] };
    case 2:
      fs.mkdirSync(path.dirname(out), { recursive: true });
      return { argv: ['compress', file, '-o', out, '--min-params', '0', '--format', 'expanded', '--no-finetune'], outDir: path.dirname(out), output: out };
    case 3:
      return { argv: ['verify', modelPath('mnist-mlp.onnx'), file, '--samples', '8', '--latency-runs', '1'] };
    default: {
      const outDir = path.join(dir, 'out');
      fs.mkdirSync(outDir, { recursive: true });
      return { argv: ['export', file, '--target', 'mcu', '--out', path.join(outDir, 'c'), '--no-verify'], outDir };
    }
  }
}

function byteCases(): Case[] {
  const cases: Case[] = [];
  const add = (category: string, model: string, bytes: Uint8Array | undefined, k: number) => {
    if (!bytes) return;
    const dir = caseDir();
    const file = put(dir, model, bytes);
    cases.push({ category, names: model, inputs: [file], ...modelCommand(file, dir, k) });
  };
  for (let i = 0; i < count(160); i++) {
    const m = SMALL_MODELS[i % SMALL_MODELS.length]!;
    add('bit flips', m, flipBits(bytesOf.get(m)!, rng, 1 + rng.int(16)), i);
  }
  for (const m of SMALL_MODELS) {
    const b = bytesOf.get(m)!;
    const bounds = fieldBoundaries(b).filter((x) => x > 0);
    const take = Math.min(bounds.length, count(m === 'mnist-mlp.onnx' ? 120 : 40));
    for (let i = 0; i < take; i++) add('truncation at a field boundary', m, b.subarray(0, bounds[Math.floor((i * bounds.length) / take)]!), i);
    for (let i = 0; i < count(25); i++) add('wrong wire type', m, wrongWireType(b, bounds[rng.int(bounds.length)]!, rng), i);
    for (let i = 0; i < count(25); i++) add('huge declared length', m, hugeLength(b, bounds[rng.int(bounds.length)]!, rng.next() < 0.5 ? 2 ** 31 - 1 : 2 ** 52), i);
  }
  return cases;
}

function structuralCases(): Case[] {
  const cases: Case[] = [];
  const models = ['mnist-mlp.onnx', 'opset18-conv.onnx', 'mnist-cnn.onnx'];
  for (const [category, mutate] of Object.entries(STRUCTURAL)) {
    for (let i = 0; i < count(16); i++) {
      const name = models[i % models.length]!;
      let mutated: Model;
      try {
        mutated = mutate(irOf.get(name)!, rng);
      } catch {
        continue; // the mutation does not apply to this model
      }
      const dir = caseDir();
      const file = put(dir, name, encodeModel(writeModel(mutated, (t) => t.external!.entries)));
      cases.push({ category, names: name, inputs: [file], ...modelCommand(file, dir, i) });
    }
  }
  return cases;
}

function externalCases(): Case[] {
  const cases: Case[] = [];
  const outside = fs.mkdtempSync(path.join(root, 'outside-'));
  fs.writeFileSync(path.join(outside, 'secret.bin'), new Uint8Array(1 << 20));
  const locations = ['../outside/secret.bin', '/etc/passwd', path.join(outside, 'secret.bin'), 'sub/../../x.bin', 'link.bin'];
  for (let i = 0; i < count(40); i++) {
    const dir = caseDir();
    const location = locations[i % locations.length]!;
    if (location === 'link.bin') fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(dir, 'link.bin'));
    const m = escapingExternal(irOf.get('mnist-mlp.onnx')!, location, rng);
    const file = put(dir, 'ext.onnx', encodeModel(writeModel(m, (t) => t.external!.entries)));
    cases.push({ category: 'external data leaving the folder', names: 'ext.onnx', inputs: [file], ...modelCommand(file, dir, i) });
  }
  return cases;
}

function dataCases(): Case[] {
  const cases: Case[] = [];
  const x = (n: number, dims = [n, 1, 28, 28]) => ({ dtype: 'float32' as const, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
  const makers: [string, () => Uint8Array, string][] = [
    ['.npz that is not a zip', () => notAZip(rng), 'd.npz'],
    ['zip bomb', () => zipBomb(), 'd.npz'],
    ['npy header with the wrong shape', () => npyWithHeader(x(4), (h) => h.replace('(4, 1, 28, 28)', `(${5 + rng.int(9)}, 1, 28, 28)`)), 'd.npy'],
    ['npy header with a wrong dtype', () => npyWithHeader(x(4), (h) => h.replace('<f4', pick(['<c8', '|O', '<U3', '>q9', '<f4x']))), 'd.npy'],
    ['npy in Fortran order with a wrong shape', () => npyWithHeader(x(4), (h) => h.replace('False', 'True ').replace('(4, 1, 28, 28)', '(4, 1, 28, 29)')), 'd.npy'],
    ['npz keys that do not match the inputs', () => npzOf({ pixels: x(4) }), 'd.npz'],
    ['npz input of the wrong shape', () => npzOf({ input: x(4, [4, 784]) }), 'd.npz'],
    ['npz labels that do not fit', () => npzOf({ input: x(4), label: { dtype: 'float32', dims: [3], data: new Float32Array(3) } }), 'd.npz'],
    ['truncated npz', () => { const z = npzOf({ input: x(8) }); return z.subarray(0, Math.floor(z.length * (0.1 + 0.85 * rng.next()))); }, 'd.npz'],
  ];
  const pick = <T>(xs: T[]) => xs[rng.int(xs.length)]!;
  for (const [category, make, name] of makers) {
    for (let i = 0; i < count(category === 'zip bomb' ? 6 : 24); i++) {
      const dir = caseDir();
      const data = put(dir, name, make());
      const out = path.join(dir, 'out', 'm.tbn.onnx');
      fs.mkdirSync(path.dirname(out));
      const argv =
        i % 2 === 0
          ? ['compress', modelPath('mnist-mlp.onnx'), '--data', data, '-o', out, '--format', 'expanded', '--no-finetune']
          : ['verify', modelPath('mnist-mlp.onnx'), modelPath('mnist-mlp.onnx'), '--data', data, '--latency-runs', '1'];
      cases.push({ category, argv, names: name, inputs: [data, modelPath('mnist-mlp.onnx')], outDir: path.dirname(out), output: i % 2 === 0 ? out : undefined });
    }
  }
  return cases;
}

function flagCases(): Case[] {
  const m = modelPath('mnist-mlp.onnx');
  const bad: [string[], string][] = [
    [['compress', m, '-p', '0'], '-p'],
    [['compress', m, '-p', '-4'], '-p'],
    [['compress', m, '-p', 'x'], '-p'],
    [['compress', m, '--layer-p', 'fc1.weight'], '--layer-p'],
    [['compress', m, '--layer-p', 'nope=4'], '--layer-p'],
    [['compress', m, '--input-shape', 'input=1,x'], '--input-shape'],
    [['compress', m, '--include', '/[/'], "'/[/'"],
    [['compress', m, '--tile-axis', 'sideways'], 'tile-axis'],
    [['compress', m, '-o', m], '-o'],
    [['verify', m, m, '--min-agreement', '5'], '--min-agreement'],
    [['verify', m, m, '--batch-size', '0'], '--batch-size'],
    [['inspect', m, '--min-params', '-1'], '--min-params'],
    [['inspect'], 'non-option arguments'],
    [['frobnicate', m], 'frobnicate'],
  ];
  return Array.from({ length: count(56) }, (_, i) => {
    const [argv, names] = bad[i % bad.length]!;
    return { category: 'bad flags', argv, names, inputs: [m] };
  });
}

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

function problems(c: Case, r: CaseResult, before: Map<string, string>): string[] {
  const p: string[] = [];
  if (r.timedOut) return [`timed out after ${TIME_LIMIT_MS} ms`];
  if (r.crashed) return [`worker crashed: ${r.crashed}`];
  const lines = r.stderr.trim().split('\n').filter(Boolean);
  if (r.code === 0) {
    if (c.output && fs.existsSync(c.output)) {
      try {
        loadModel(c.output);
      } catch (e) {
        p.push(`exit 0 with a broken output: ${(e as Error).message}`);
      }
    }
    if (c.argv.includes('--json')) {
      try {
        JSON.parse(r.stdout);
      } catch {
        p.push('exit 0 with invalid JSON');
      }
    }
  } else {
    if (r.code !== 1 && r.code !== 2) p.push(`exit code ${r.code}`);
    if (lines.length !== 1) p.push(`${lines.length} stderr lines`);
    if (!r.stderr.includes(c.names)) p.push(`stderr does not name ${c.names}`);
    if (/internal error|\n\s+at |RangeError|TypeError/.test(r.stderr)) p.push('internal error or stack trace');
    if (c.outDir && fs.readdirSync(c.outDir).length) p.push(`left ${fs.readdirSync(c.outDir).join(', ')} in the output folder`);
  }
  for (const f of c.inputs) if (sha(f) !== before.get(f)) p.push(`input ${f} changed`);
  return p.map((x) => `${x} — stderr: ${r.stderr.trim().slice(0, 300)}`);
}

const results: { category: string; code: number; problems: string[]; argv: string[] }[] = [];

describe('fuzz', () => {
  const cases = [...byteCases(), ...structuralCases(), ...externalCases(), ...dataCases(), ...flagCases()];
  const pool = new CliPool(Math.max(1, Math.min(2, os.availableParallelism())));
  afterAll(async () => {
    await pool.close();
    const table = new Map<string, { cases: number; exit0: number; exit1: number; exit2: number; bad: number }>();
    for (const r of results) {
      const row = table.get(r.category) ?? { cases: 0, exit0: 0, exit1: 0, exit2: 0, bad: 0 };
      row.cases++;
      if (r.problems.length) row.bad++;
      else if (r.code === 0) row.exit0++;
      else if (r.code === 1) row.exit1++;
      else row.exit2++;
      table.set(r.category, row);
    }
    const lines = ['| category | cases | exit 1 | exit 2 | exit 0 (valid result) | problems |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
    for (const [k, v] of table) lines.push(`| ${k} | ${v.cases} | ${v.exit1} | ${v.exit2} | ${v.exit0} | ${v.bad} |`);
    lines.push(`| **all** | ${results.length} | ${results.filter((r) => !r.problems.length && r.code === 1).length} | ${results.filter((r) => !r.problems.length && r.code === 2).length} | ${results.filter((r) => !r.problems.length && r.code === 0).length} | ${results.filter((r) => r.problems.length).length} |`);
    console.log(`fuzz seed ${SEED}:\n${lines.join('\n')}`);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it(`runs ${cases.length} cases cleanly`, { timeout: 30 * 60_000 }, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(1000 * Math.min(1, SCALE));
    const failures: string[] = [];
    let next = 0;
    const lane = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const before = new Map(c.inputs.map((f) => [f, sha(f)]));
        const r = await pool.run(c.argv, TIME_LIMIT_MS);
        const p = problems(c, r, before);
        results.push({ category: c.category, code: r.code, problems: p, argv: c.argv });
        if (p.length) failures.push(`[${c.category}] tbn ${c.argv.join(' ')}: ${p.join('; ')}`);
      }
    };
    await Promise.all([lane(), lane()]);
    expect(failures.slice(0, 15)).toEqual([]);
  });
});

