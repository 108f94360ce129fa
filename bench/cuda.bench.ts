// npm run bench -- cuda: the ai.tbn CUDA kernels against cuBLAS fp32 / fp16 on the same GEMM and
// against the bandwidth limit, from build/Release/tbn_cuda_harness bench (custom-ops/test/
// cuda/harness_bench.cu: Gemm 768×768, 4096×4096, 4096×11008, 11008×4096 as out×in and Conv
// 3×3 256→256 at 14×14, batch 1 and 32, p = 1, 4, 8, 16). tbn µs = the faster of fp32 and tf32x2
// math, L2 flushed before every run (median); limit = bytes the run must move / memory
// bandwidth. Goals (issue 10): batch 1 within 2× of the limit; ≥ 10× cuBLAS fp32 at p ≥ 8 on the
// large shapes. Without a GPU (or without the CUDA build) one "no GPU" row says why.
// TBN_BENCH_QUICK=1 runs fewer repetitions and skips 11008×4096.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchSection } from './run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const harness = path.join(root, 'build', 'Release', 'tbn_cuda_harness');

interface Row {
  op: string;
  shape: string;
  axis: string;
  batch: number;
  p: number;
  tbn_fp32_us: number | null;
  tbn_tf32x2_us: number | null;
  tbn_warm_us: number | null;
  cublas_fp32_us: number | null;
  cublas_fp16_us: number | null;
  bytes: number;
  limit_us: number;
}

function noGpu(reason: string): BenchSection[] {
  return [{ title: 'CUDA kernels', columns: ['layer', 'batch', 'p', 'tbn µs'], rows: [['all', '-', '-', 'no GPU']], notes: [reason], data: { gpu: false, reason } }];
}

function gpuReason(): string {
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
  if (smi.error || smi.status !== 0 || !/^GPU \d+:/m.test(smi.stdout ?? '')) return 'no GPU: nvidia-smi is missing or lists no device';
  if (!fs.existsSync(harness)) {
    const b = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (b.status !== 0 || !fs.existsSync(harness)) return `no CUDA build: ${(b.stdout + b.stderr).trim().split('\n').at(-1) ?? 'build failed'}`;
  }
  return '';
}

const us = (v: number | null) => (v === null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? '-' : `${(a / b).toFixed(1)}×`);

export default async function cudaBench(): Promise<BenchSection[]> {
  const reason = gpuReason();
  if (reason) return noGpu(reason);
  const r = spawnSync(harness, ['bench', ...(process.env.TBN_BENCH_QUICK === '1' ? ['--quick'] : [])], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status === 77) return noGpu((r.stdout ?? '').trim());
  if (r.status !== 0) throw new Error(`tbn_cuda_harness bench failed (${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('{'));
  const device = JSON.parse(lines[0]!) as { device: string; bandwidth_gbs: number; cublas: true | string };
  const rows = lines.slice(1).map((l) => JSON.parse(l) as Row);
  const sections: BenchSection[] = [];
  for (const batch of [1, 32]) {
    const mine = rows.filter((x) => x.batch === batch);
    const table = mine.map((x) => {
      const best = Math.min(x.tbn_fp32_us ?? Infinity, x.tbn_tf32x2_us ?? Infinity);
      const t = Number.isFinite(best) ? best : null;
      const large = x.shape !== '768x768';
      const goal = batch === 1 ? (t !== null && t <= 2 * x.limit_us ? 'yes' : 'no') : x.p >= 8 && large && x.op === 'Gemm' ? (t !== null && x.cublas_fp32_us !== null && x.cublas_fp32_us >= 10 * t ? 'yes' : 'no') : '';
      return [`${x.op} ${x.shape}${x.axis === 'in' ? ' (in-axis)' : ''}`, x.p, us(t), us(x.tbn_warm_us), us(x.cublas_fp32_us), us(x.cublas_fp16_us), ratio(x.cublas_fp32_us, t), us(x.limit_us), ratio(t, x.limit_us), goal];
    });
    sections.push({
      title: `CUDA kernels, batch ${batch} (${device.device})`,
      columns: ['layer', 'p', 'tbn µs', 'warm µs', 'cuBLAS fp32', 'cuBLAS fp16', 'vs fp32', 'limit µs', '× limit', batch === 1 ? '≤ 2× limit' : '≥ 10× fp32'],
      rows: table,
      notes: [
        `memory bandwidth ${device.bandwidth_gbs.toFixed(0)} GB/s (queried); cuBLAS: ${device.cublas === true ? 'loaded' : device.cublas}`,
        'Conv baseline: the cuBLAS GEMM of the im2col shape (im2col itself not timed).',
      ],
      data: mine,
    });
  }
  return sections;
}
