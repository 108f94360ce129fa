// Builds and runs an export's test harness: on the host (the default check of tbn export) and
// on an emulated Cortex-M4 (QEMU mps2-an386 with semihosting), where it also measures the
// instructions per inference, the stack used, the test image, and a deployment-style image
// linked against a part's flash/RAM budget (the linker refuses an image that does not fit).
// Builds go to a temporary folder; the export folder is only read.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatBytes } from '../tbn/sizes.js';
import { linkerScript, type LinkerOptions } from './m4.js';
import { ARM_FLAGS, findTool, HOST_FLAGS, hostCompiler, imageSize, parseTestOutput, QEMU_ARGS, run, type ImageSize, type TestOutput } from './toolchain.js';

export interface CheckResult {
  status: 'pass' | 'fail' | 'skipped';
  /** Why it was skipped or failed (first compiler error, emulator timeout, …). */
  reason?: string;
  samples?: number;
  outputs?: TestOutput['outputs'];
  top1Agree?: number;
  labelCorrect?: number;
  hasLabels?: boolean;
}

export interface M4Result extends CheckResult {
  instructionsPerInference?: number;
  stackUsed?: number;
  testImage?: ImageSize;
  app?: ImageSize;
  /** The deployment image linked against `budget`. */
  fit?: { flashBytes: number; ramBytes: number; ok: boolean; reason?: string };
}

const modelSources = (dir: string, name: string) => [`${name}.c`, `${name}_weights.c`, 'tbn_kernels.c'].map((f) => path.join(dir, f));
const testSources = (dir: string, name: string) => [`${name}_test.c`, `${name}_test_data.c`].map((f) => path.join(dir, f));

function firstError(text: string): string {
  const line = text.split('\n').find((l) => /error|undefined reference|overflow|overlaps/i.test(l)) ?? text.split('\n')[0] ?? '';
  return line.trim().slice(0, 300);
}

function fromTest(out: TestOutput, code: number | null): CheckResult {
  const f = out.fields;
  const ok = out.verdict === 'PASS' && code === 0;
  return {
    status: ok ? 'pass' : 'fail',
    reason: ok ? undefined : out.verdict === 'none' ? `the test program exited with ${code} and printed no verdict` : 'outputs differ from onnxruntime beyond the tolerance',
    samples: Number(f.samples),
    outputs: out.outputs,
    top1Agree: Number(f.top1_agree),
    labelCorrect: Number(f.label_correct),
    hasLabels: f.labels === '1',
  };
}

function withTmp<T>(fn: (tmp: string) => T): T {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-mcu-'));
  try {
    return fn(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Compiles the export with the host C compiler (-std=c99 -Wall -Wextra -Werror) and runs its harness. */
export function hostCheck(dir: string, name: string, timeoutMs = 300_000): CheckResult & { compiler?: string } {
  const cc = hostCompiler();
  if (!cc) return { status: 'skipped', reason: 'no host C compiler (cc, gcc or $CC)' };
  return withTmp((tmp) => {
    const exe = path.join(tmp, `${name}_test`);
    const b = run(cc, [...HOST_FLAGS, '-o', exe, ...modelSources(dir, name), ...testSources(dir, name), '-lm'], { timeoutMs });
    if (b.code !== 0) return { status: 'fail', reason: `the generated C does not compile: ${firstError(b.stderr)}`, compiler: cc };
    const r = run(exe, [], { timeoutMs });
    if (r.timedOut) return { status: 'fail', reason: 'the test program timed out', compiler: cc };
    return { ...fromTest(parseTestOutput(r.stdout), r.code), compiler: cc };
  });
}

export interface M4Options {
  /** Samples to run on the emulator (it is slower than the host). */
  limit: number;
  budget: LinkerOptions;
  timeoutMs?: number;
}

/** Cross-compiles for Cortex-M4, runs the harness on QEMU, sizes the test and deployment images. */
export function m4Check(dir: string, name: string, opts: M4Options): M4Result {
  const gcc = findTool('arm-none-eabi-gcc');
  const qemu = findTool('qemu-system-arm');
  if (!gcc || !findTool('arm-none-eabi-size')) return { status: 'skipped', reason: 'arm-none-eabi-gcc not found (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi)' };
  if (!qemu) return { status: 'skipped', reason: 'qemu-system-arm not found' };
  const timeoutMs = opts.timeoutMs ?? 300_000;
  return withTmp((tmp) => {
    const startup = path.join(dir, 'm4', 'tbn_m4.c');
    const ld = path.join(dir, 'm4', 'mps2_an386.ld');
    const test = path.join(tmp, `${name}_m4_test.elf`);
    const flags = [...ARM_FLAGS, '-Wl,--gc-sections'];
    let b = run(gcc, [...flags, '-DTBN_M4', '-DTBN_M4_LIBC', `-DTBN_TEST_LIMIT=${opts.limit}`, '--specs=rdimon.specs', '-nostartfiles', '-T', ld, '-o', test, ...modelSources(dir, name), ...testSources(dir, name), startup, '-lm'], { timeoutMs });
    if (b.code !== 0) return { status: 'fail', reason: `cross-compilation failed: ${firstError(b.stderr)}` };
    const r = run(qemu, [...QEMU_ARGS, '-kernel', test], { timeoutMs });
    if (r.timedOut) return { status: 'fail', reason: `QEMU did not finish within ${timeoutMs / 1000} s` };
    const out = parseTestOutput(r.stdout);
    const result: M4Result = { ...fromTest(out, r.code), testImage: imageSize(test) };
    result.instructionsPerInference = Number(out.fields.instructions_per_inference);
    result.stackUsed = Number(out.fields.stack_used);

    const appFiles = [...modelSources(dir, name), path.join(dir, 'm4', 'app_main.c'), startup];
    const appFlags = [...flags, '--specs=nano.specs', '--specs=nosys.specs', '-nostartfiles'];
    const app = path.join(tmp, `${name}_m4_app.elf`);
    b = run(gcc, [...appFlags, '-T', ld, '-o', app, ...appFiles, '-lm'], { timeoutMs });
    if (b.code !== 0) return { ...result, status: 'fail', reason: `deployment image: ${firstError(b.stderr)}` };
    result.app = imageSize(app);
    const appRun = run(qemu, [...QEMU_ARGS, '-kernel', app], { timeoutMs });
    if (appRun.code !== 0) return { ...result, status: 'fail', reason: `the deployment image exited with ${appRun.code}` };
    const budgetLd = path.join(tmp, 'budget.ld');
    fs.writeFileSync(budgetLd, linkerScript(opts.budget));
    const fit = run(gcc, [...appFlags, '-T', budgetLd, '-o', path.join(tmp, 'fit.elf'), ...appFiles, '-lm'], { timeoutMs });
    const need = `the image needs ${formatBytes(result.app.flash)} of flash and ${formatBytes(result.app.ram)} of RAM with a ${formatBytes(opts.budget.stackBytes)} stack`;
    result.fit = { flashBytes: opts.budget.flashBytes, ramBytes: opts.budget.ramBytes, ok: fit.code === 0, reason: fit.code === 0 ? undefined : need };
    return result;
  });
}

