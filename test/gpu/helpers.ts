// Shared by the gpu tier: which compilers and which GPU this machine has, and building the
// standalone CUDA harness. The CPU-side tests here (tile math, the emulated kernels) need only a
// C++ compiler — missing under CI=true it is an error, not a skip; the GPU tests skip, with the
// reason in their title, when there is no NVIDIA GPU.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findTool } from '../../src/mcu/toolchain.js';
import { ROOT } from '../helpers/fixtures.js';

export const RELEASE = path.join(ROOT, 'build', 'Release');
export const HARNESS = path.join(RELEASE, 'tbn_cuda_harness');

function need(what: string, found: string | undefined): string | undefined {
  if (!found && process.env.CI === 'true') throw new Error(`CI=true but ${what} is not installed`);
  return found;
}

/** A C++17 compiler ($CXX, c++, g++, clang++). */
export const cxx = () => need('a C++ compiler', [process.env.CXX?.split(' ')[0], 'c++', 'g++', 'clang++'].filter((c): c is string => !!c).map((c) => findTool(c)).find(Boolean));
/** A C compiler ($CC, cc, gcc). */
export const cc = () => need('a C compiler', [process.env.CC?.split(' ')[0], 'cc', 'gcc'].filter((c): c is string => !!c).map((c) => findTool(c)).find(Boolean));
/** nvcc, where the CUDA toolkit is installed (optional everywhere). */
export const nvcc = () => [process.env.CUDACXX, 'nvcc', '/usr/local/cuda/bin/nvcc'].filter((c): c is string => !!c).map((c) => findTool(c)).find(Boolean);

export interface Run {
  status: number | null;
  out: string;
  err: string;
}

export function exec(cmd: string, args: string[], opts: { input?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', input: opts.input, timeout: opts.timeout ?? 300_000, maxBuffer: 256 << 20, env: opts.env ?? process.env });
  return { status: r.status, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Whether an NVIDIA GPU is usable here, and why not. */
export function gpuStatus(): { available: boolean; reason: string } {
  const smi = findTool('nvidia-smi');
  if (!smi) return { available: false, reason: 'no GPU: nvidia-smi not found' };
  const r = exec(smi, ['-L'], { timeout: 30_000 });
  if (r.status !== 0 || !/^GPU \d+:/m.test(r.out)) return { available: false, reason: `no GPU: nvidia-smi -L reports none (${(r.out + r.err).trim().split('\n')[0] ?? ''})` };
  return { available: true, reason: '' };
}

/** Builds build/Release/tbn_cuda_harness (npm install normally has) — needs nvcc; throws with the build log. */
export function ensureHarness(): string {
  if (fs.existsSync(HARNESS)) return HARNESS;
  if (!nvcc()) throw new Error('a GPU is present but nvcc is not: the CUDA kernels cannot be built (install the CUDA toolkit or set CUDACXX)');
  const r = exec(process.execPath, [path.join(ROOT, 'scripts', 'build-native.mjs')], { timeout: 900_000, env: { ...process.env, CI: 'true' } });
  if (r.status !== 0 || !fs.existsSync(HARNESS)) throw new Error(`building the CUDA harness failed:\n${(r.out + r.err).slice(-3000)}`);
  return HARNESS;
}
