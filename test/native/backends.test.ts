// Backend selection and the user-visible promise that the backend changes nothing but speed:
//   * the engine and interpreter suites (gradient checks, fixture models against onnxruntime,
//     programs, training) pass on the TypeScript backend too — the default run of `vitest`
//     uses the native one when it is built, so they are run again here with TBN_BACKEND=js;
//   * TBN_BACKEND picks the backend; the loader honours TBN_NATIVE_PATH, and when the addon
//     cannot load the engine falls back to TypeScript with one warning.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChild } from '../helpers/spawn.js';
import { ROOT } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { nativeReason, skipNative } from './helpers.js';

const SUITES = ['test/unit/engine', 'test/unit/interp/grad.test.ts', 'test/unit/interp/fixtures.test.ts', 'test/unit/interp/program.test.ts', 'test/unit/interp/train.test.ts', 'test/unit/interp/functions.test.ts'];
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');

/** Runs a TS snippet in a fresh Node process; returns stdout, stderr and status. */
function node(script: string, env: Record<string, string | undefined>, cwd = ROOT) {
  const file = path.join(cwd, `.tbn-select-${process.pid}.ts`);
  fs.writeFileSync(file, script);
  try {
    const r = spawnSync(process.execPath, ['--import', TSX, file], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
    return { out: r.stdout, err: r.stderr, status: r.status };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

describe.skipIf(skipNative)(`both backends${nativeReason}`, () => {
  it('the engine and interpreter suites pass on the TypeScript backend', async () => {
    const r = await runChild(process.execPath, [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...SUITES], { cwd: ROOT, env: { ...process.env, TBN_BACKEND: 'js', NO_COLOR: '1', FORCE_COLOR: '0' } });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out.slice(-3000)).toBe(0);
    expect(out).toMatch(/Tests\s+\d+ passed/);
  }, 170_000);

  it('TBN_BACKEND selects the backend; native is the default when built', () => {
    const probe = `import * as E from '${path.join(ROOT, 'src', 'engine', 'index.ts')}';\nconsole.log(E.getBackend().name);`;
    expect(node(probe, { TBN_BACKEND: undefined }).out.trim()).toBe('native');
    expect(node(probe, { TBN_BACKEND: 'js' }).out.trim()).toBe('js');
    expect(node(probe, { TBN_BACKEND: 'native' }).out.trim()).toBe('native');
  });

  it('the loader tries TBN_NATIVE_PATH, and without a loadable addon warns once and runs on TypeScript', () => {
    // A copy of the engine outside the package: the only candidate is TBN_NATIVE_PATH.
    const dir = tmpDir('tbn-engine-');
    fs.cpSync(path.join(ROOT, 'src', 'engine'), path.join(dir, 'engine'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    const script = `import * as E from './engine/index.js';\nconst t = E.tensor([1, 2, 3]);\nconsole.log(E.getBackend().name, E.sum(t).item());\nE.getBackend(); E.tensor([4]);`;
    const addon = path.join(ROOT, 'build', 'Release', 'tbn_engine.node');
    const ok = node(script, { TBN_BACKEND: undefined, TBN_NATIVE_PATH: addon }, dir);
    expect(ok.out.trim()).toBe('native 6');
    const bad = path.join(dir, 'not-an-addon.node');
    fs.writeFileSync(bad, 'garbage');
    const fallback = node(script, { TBN_BACKEND: undefined, TBN_NATIVE_PATH: bad }, dir);
    expect(fallback.out.trim()).toBe('js 6');
    expect(fallback.err.match(/TBN_NATIVE_BACKEND/g)?.length, fallback.err).toBe(1);
    expect(fallback.err).toContain('not-an-addon.node');
  });
});
