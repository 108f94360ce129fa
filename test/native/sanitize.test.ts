// The native tier under AddressSanitizer + UndefinedBehaviorSanitizer: builds the engine addon
// with `scripts/build-native.mjs --sanitize --engine` (build-asan/Release/tbn_engine.node),
// then runs the parity, validation, tile and memory tests against it in a child vitest with
// libasan preloaded into Node (detect_leaks=0: Node itself is not instrumented), the block cache
// off (so every freed buffer really is freed) and new buffers poisoned with NaN (so a kernel
// reading memory it never wrote shows up as a mismatch). Any sanitizer report fails the test.
// Runs under CI=true, with TBN_SANITIZE=1, or when build-asan/Release/tbn_engine.node exists.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';
import { runChild as run } from '../helpers/spawn.js';

const ADDON = path.join(ROOT, 'build-asan', 'Release', 'tbn_engine.node');
const enabled = process.env.CI === 'true' || process.env.TBN_SANITIZE === '1' || fs.existsSync(ADDON);
const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer/;
const SUITES = ['elementwise', 'linalg', 'rows', 'validation', 'tile', 'memory'].map((f) => `test/native/${f}.test.ts`);

function libasan(): string {
  for (const cc of [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean) as string[]) {
    const r = spawnSync(cc, ['-print-file-name=libasan.so'], { encoding: 'utf8' });
    const file = r.stdout?.trim();
    if (r.status === 0 && file && path.isAbsolute(file) && fs.existsSync(file)) return file;
  }
  throw new Error('libasan.so not found (c++ -print-file-name=libasan.so)');
}

describe.skipIf(!enabled)('the native engine under ASan + UBSan', () => {
  it('builds the sanitizer configuration of the addon', async () => {
    const r = await run(process.execPath, [path.join(ROOT, 'scripts', 'build-native.mjs'), '--sanitize', '--engine', '--quiet'], { env: { ...process.env, CI: 'true' } });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(fs.existsSync(ADDON)).toBe(true);
  }, 300_000);

  it('parity, validation, tile and memory tests pass with no sanitizer report', async () => {
    const env = {
      ...process.env,
      LD_PRELOAD: libasan(),
      ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
      TBN_NATIVE_PATH: ADDON,
      TBN_NATIVE_CACHE_MB: '0',
      TBN_NATIVE_POISON: '1',
      TBN_TEST_MEMORY_STEPS: '300',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
    };
    const probe = spawnSync(process.execPath, ['--import', path.join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs'), '-e', `import('${path.join(ROOT, 'src', 'engine', 'native-binding.ts')}').then((m) => console.log(m.loadNativeBinding().path ?? m.loadNativeBinding().error))`], { cwd: ROOT, encoding: 'utf8', env });
    expect(probe.stdout.trim(), probe.stderr).toBe(ADDON);
    const r = await run(process.execPath, [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...SUITES], { cwd: ROOT, env });
    const out = `${r.stdout}${r.stderr}`;
    expect(out).not.toMatch(SANITIZER_REPORT);
    expect(r.status, out.slice(-3000)).toBe(0);
    expect(out).toMatch(/Tests\s+\d+ passed/);
  }, 300_000);
});
