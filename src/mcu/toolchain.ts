// Compilers and the emulator: finding them, the flags every build uses (the generated
// Makefile spells the same lists), building and running the host and Cortex-M4 test images,
// and reading their "tbn-test:" lines and arm-none-eabi-size's section sizes.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const HOST_FLAGS = ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-Wdouble-promotion'];
export const M4_CPU = ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'];
export const ARM_FLAGS = [...M4_CPU, '-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-Wdouble-promotion', '-ffunction-sections', '-fdata-sections'];
/** -icount: the virtual clock advances per instruction, so SysTick counts instructions. */
export const QEMU_ARGS = ['-M', 'mps2-an386', '-nographic', '-monitor', 'none', '-semihosting-config', 'enable=on,target=native', '-icount', 'shift=3'];

/** An executable on PATH (or the path itself when it contains a slash). */
export function findTool(name: string): string | undefined {
  if (name.includes('/')) return fs.existsSync(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const full = path.join(dir, name);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      if (fs.statSync(full).isFile()) return full;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The host C compiler: $CC, else cc, else gcc. */
export function hostCompiler(): string | undefined {
  const env = process.env.CC?.split(' ')[0];
  return (env && findTool(env)) || findTool('cc') || findTool('gcc');
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 << 20 });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  if (r.error && !timedOut) throw new Error(`${cmd}: ${r.error.message}`);
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut };
}

/** key=value pairs from the harness's "tbn-test:" lines; PASS/FAIL as `verdict`; one entry per output. */
export interface TestOutput {
  verdict: 'PASS' | 'FAIL' | 'none';
  fields: Record<string, string>;
  outputs: { name: string; maxAbsErr: number; scale: number }[];
}

export function parseTestOutput(stdout: string): TestOutput {
  const fields: Record<string, string> = {};
  const outputs: TestOutput['outputs'] = [];
  let verdict: TestOutput['verdict'] = 'none';
  for (const line of stdout.split('\n')) {
    const m = /^tbn-test: (.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'PASS' || m[1] === 'FAIL') {
      verdict = m[1];
      continue;
    }
    const kv = Object.fromEntries(m[1]!.split(/\s+/).map((p) => p.split('=') as [string, string]));
    if (kv.output !== undefined) outputs.push({ name: kv.name ?? '', maxAbsErr: Number(kv.max_abs_err), scale: Number(kv.scale) });
    else Object.assign(fields, kv);
  }
  return { verdict, fields, outputs };
}

/** Section sizes of an ELF from `arm-none-eabi-size -A`. */
export function sectionSizes(elf: string): Map<string, number> {
  const size = findTool('arm-none-eabi-size');
  if (!size) throw new Error('arm-none-eabi-size not found');
  const r = run(size, ['-A', elf]);
  if (r.code !== 0) throw new Error(`arm-none-eabi-size: ${r.stderr.trim()}`);
  const m = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length >= 3 && parts[0]!.startsWith('.') && /^\d+$/.test(parts[1]!)) m.set(parts[0]!, Number(parts[1]));
  }
  return m;
}

export interface ImageSize {
  text: number;
  rodata: number;
  data: number;
  bss: number;
  stack: number;
  /** .text + .rodata + .ARM.exidx + .data (its initial values live in flash). */
  flash: number;
  /** .data + .bss + .stack. */
  ram: number;
}

export function imageSize(elf: string): ImageSize {
  const s = sectionSizes(elf);
  const get = (k: string) => s.get(k) ?? 0;
  const text = get('.text');
  const rodata = get('.rodata');
  const data = get('.data');
  const bss = get('.bss');
  const stack = get('.stack');
  return { text, rodata, data, bss, stack, flash: text + rodata + get('.ARM.exidx') + data, ram: data + bss + stack };
}
