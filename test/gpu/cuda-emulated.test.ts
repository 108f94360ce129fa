// The CUDA kernels' own source (custom-ops/src/cuda/*.cu), compiled as C++ against the CPU
// emulation of the CUDA execution model in test/gpu/emu/cuda_emu.h and run by the harness's
// correctness suite (tbn_cuda_harness test): every strategy (OUT_REUSE, IN_COMBINE, GENERAL) ×
// path (GEMV, tiled, split-K) × math (fp32, tf32x2 with emulated WMMA) against double-precision
// references, and TbnConvMaxPool's pool bit for bit against a naive reference and the CPU
// kernel, on emulated GPUs of 1, 4 and 132 SMs (grid shapes and split choices follow the SM
// count). This is what runs the kernels on machines without a GPU; it checks indexing,
// synchronisation and numerics, not the hardware (fragment layouts, memory model, speed) —
// cuda-kernels.test.ts does that where a GPU exists. Needs only C and C++ compilers.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { cc, cxx, exec } from './helpers.js';

const CUDA = path.join(ROOT, 'custom-ops', 'src', 'cuda');
const TESTS = path.join(ROOT, 'custom-ops', 'test');
const HARNESS = path.join(TESTS, 'cuda');
const EMU = path.join(ROOT, 'test', 'gpu', 'emu');
const KERNELS = path.join(ROOT, 'native', 'kernels');
const C_SOURCES = ['tbn_tile.c', 'tbn_dispatch.c', 'tbn_dense.c', 'tbn_conv.c', 'tbn_pool.c', 'tbn_epilogue.c', 'tbn_micro_portable.c'];
const CU_SOURCES = [
  ...['dense_kernel.cu', 'conv_kernel.cu', 'decode_kernel.cu', 'pool_kernel.cu'].map((f) => path.join(CUDA, f)),
  ...['tbn_cuda_harness.cu', 'harness_test.cu', 'harness_pool.cu'].map((f) => path.join(HARNESS, f)),
];
const CXX_FLAGS = ['-std=c++17', '-O1', '-fno-strict-aliasing', '-Wall', '-Wextra', '-Werror', '-Wno-unknown-pragmas'];
const EMU_FLAGS = ['-include', path.join(EMU, 'cuda_emu.h'), `-I${path.join(EMU, 'include')}`, `-I${CUDA}`, `-I${HARNESS}`, `-I${TESTS}`, `-I${KERNELS}`];

function build(dir: string, extra: string[] = []): string {
  const c = cc()!;
  const objects = C_SOURCES.map((f) => {
    const o = path.join(dir, f.replace(/\.c$/, '.o'));
    const r = exec(c, ['-std=c99', '-O2', '-c', path.join(KERNELS, f), '-o', o]);
    if (r.status !== 0) throw new Error(`${f}: ${r.err}`);
    return o;
  });
  const exe = path.join(dir, 'harness_emu');
  const r = exec(cxx()!, [...CXX_FLAGS, ...EMU_FLAGS, '-x', 'c++', ...CU_SOURCES, path.join(EMU, 'emu_stubs.cc'), ...extra, '-x', 'none', ...objects, '-o', exe], { timeout: 600_000 });
  if (r.status !== 0) throw new Error(`building the emulated harness failed:\n${r.err.slice(-4000)}`);
  return exe;
}

const have = !!cc() && !!cxx();

describe.skipIf(!have)(`CUDA kernels on the CPU emulation${have ? '' : ' (skipped: no C/C++ compiler)'}`, () => {
  it('run the harness suite warning-free on emulated GPUs of 1, 4 and 132 SMs', () => {
    const exe = build(tmpDir('tbn-cuda-emu-'));
    for (const [sms, cases, seed] of [['4', 60, 20250610], ['1', 30, 7], ['132', 30, 11]] as const) {
      const r = exec(exe, ['test', String(cases), String(seed)], { timeout: 600_000, env: { ...process.env, TBN_EMU_SMS: sms } });
      const summary = r.out.split('\n').filter((l) => l.startsWith('FAIL')).slice(0, 5).join('\n');
      expect(r.out, `${sms} SMs:\n${summary}\n${r.err.slice(-2000)}`).toContain(`cuda kernel tests: ${cases} cases, 0 failures`);
      expect(r.status).toBe(0);
      for (const route of ['gemv', 'tiled', 'split']) expect(r.out).toMatch(new RegExp(`covered dense out-reuse ${route}\\s+[1-9]`));
      expect(r.out).toMatch(/covered conv general split\s+[1-9]/);
      for (const what of ['1-d', 'pads', 'stride-unlike-kernel', 'ceil-window-dropped', 'grid-stride']) expect(r.out).toMatch(new RegExp(`covered pool ${what}\\s+[1-9]`));
    }
  }, 600_000);

  it('the emulation reports a barrier that not every thread reaches (it can fail)', () => {
    const dir = tmpDir('tbn-cuda-emu-');
    const src = path.join(dir, 'divergent.cc');
    fs.writeFileSync(src, [
      '#include "cuda_emu.h"',
      '__global__ void k(int *out) { if (threadIdx.x < 32) __syncthreads(); out[threadIdx.x] = 1; }',
      'int main() { static int out[64]; TBN_LAUNCH(k, 1, 64, nullptr, out); return 0; }',
      '',
    ].join('\n'));
    const exe = path.join(dir, 'divergent');
    const b = exec(cxx()!, ['-std=c++17', `-I${EMU}`, src, '-o', exe]);
    expect(b.status, b.err).toBe(0);
    const r = exec(exe, []);
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(/deadlock: a barrier some threads of the block never reach/);
  });
});
