// The CUDA kernels on a real GPU: the standalone harness (custom-ops/test/cuda, built by
// npm install when nvcc is present; built here if missing) runs its correctness suite — every
// strategy × path × math against double-precision CPU references, malformed sizes, coverage —
// then a quick benchmark pass that must produce a timing for every shape. Skips, with the
// reason in the title, where there is no NVIDIA GPU (nvidia-smi absent or listing none).
import { describe, expect, it } from 'vitest';
import { ensureHarness, exec, gpuStatus } from './helpers.js';

const gpu = gpuStatus();

describe.skipIf(!gpu.available)(`CUDA kernels on the GPU${gpu.available ? '' : ` (skipped: ${gpu.reason})`}`, () => {
  it('tbn_cuda_harness test: every strategy, path and math against the CPU references', () => {
    const harness = ensureHarness();
    const r = exec(harness, ['test', '300'], { timeout: 900_000 });
    const fails = r.out.split('\n').filter((l) => l.startsWith('FAIL')).slice(0, 10).join('\n');
    expect(r.status, `${fails}\n${r.err.slice(-2000)}`).toBe(0);
    expect(r.out).toContain('cuda kernel tests: 300 cases, 0 failures');
  }, 900_000);

  it('tbn_cuda_harness bench --quick: a timing for every layer and p', () => {
    const r = exec(ensureHarness(), ['bench', '--quick'], { timeout: 900_000 });
    expect(r.status, r.err.slice(-2000)).toBe(0);
    const rows = r.out.split('\n').filter((l) => l.startsWith('{"op"')).map((l) => JSON.parse(l) as { tbn_fp32_us: number | null; limit_us: number });
    expect(rows.length).toBeGreaterThanOrEqual(2 * (3 * 4 + 4 + 4)); // batches × (Gemm shapes × p + input-axis + Conv)
    for (const row of rows) {
      expect(row.tbn_fp32_us).toBeGreaterThan(0);
      expect(row.limit_us).toBeGreaterThan(0);
    }
  }, 900_000);
});
