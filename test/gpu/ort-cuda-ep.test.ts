// The compressed fixtures through onnxruntime's CUDAExecutionProvider with the ai.tbn library:
// every fused op must run on the CUDA EP (onnxruntime's profile says where each node ran), and
// the outputs must equal the function form on the CPU (stock onnxruntime-node), with fp32 and
// tf32x2 math. onnxruntime-node has no CUDA EP, so this drives a CUDA build of Python
// onnxruntime (test/gpu/ort_cuda_ep.py). Skips, with the reason, without a GPU, without such an
// onnxruntime, or when the library was built without the CUDA kernels.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { findTool } from '../../src/mcu/toolchain.js';
import type { HostTensor } from '../../src/util/host-tensor.js';
import { compressInMemory } from '../helpers/compress.js';
import { ROOT, TORCH_MODELS, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { expectClose, runFunctionForm } from '../native-ops/helpers.js';
import { RELEASE, ensureHarness, exec, gpuStatus } from './helpers.js';

const SCRIPT = path.join(ROOT, 'test', 'gpu', 'ort_cuda_ep.py');
const LIBRARY = path.join(RELEASE, process.platform === 'darwin' ? 'libtbn_ort_ops.dylib' : 'libtbn_ort_ops.so');

function why(): string {
  const gpu = gpuStatus();
  if (!gpu.available) return gpu.reason;
  const py = findTool('python3');
  if (!py) return 'python3 not found';
  const r = exec(py, ['-c', "import onnxruntime as o, sys; sys.exit(0 if 'CUDAExecutionProvider' in o.get_available_providers() else 3)"]);
  if (r.status !== 0) return 'no Python onnxruntime with the CUDAExecutionProvider (pip install onnxruntime-gpu)';
  return '';
}

const reason = why();

describe.skipIf(reason !== '')(`compressed fixtures on onnxruntime's CUDA EP${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it.each(['fp32', 'tf32x2'])('every ai.tbn node runs on CUDA and matches the CPU function form (%s)', async (math) => {
    ensureHarness(); // the library in build/Release has the CUDA kernels exactly when the harness was built
    const dir = tmpDir('tbn-ort-cuda-');
    const models: { name: string; model: string; inputs: { name: string; dtype: string; dims: number[]; file: string }[] }[] = [];
    const expected = new Map<string, Record<string, HostTensor>>();
    for (const file of TORCH_MODELS)
      for (const [p, axis] of [[4, 'output'], [8, 'input'], [3, 'output']] as const) {
        const c = compressInMemory(modelPath(file), 'custom', { p, tileAxis: axis });
        if (!c.tiled.length) continue;
        const name = `${file.replace(/\.onnx$/, '')}-p${p}-${axis}`;
        const modelFile = path.join(dir, `${name}.onnx`);
        fs.writeFileSync(modelFile, c.bytes);
        const feeds = syntheticInputs(c.original, { batch: 5, seed: p });
        const inputs = Object.entries(feeds).map(([input, t]) => {
          const f = path.join(dir, `${name}-in-${input}.bin`);
          const data = t.data as ArrayBufferView;
          fs.writeFileSync(f, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          return { name: input, dtype: t.dtype, dims: t.dims, file: f };
        });
        models.push({ name, model: modelFile, inputs });
        expected.set(name, await runFunctionForm(c.bytes, feeds));
      }
    const manifest = path.join(dir, 'manifest.json');
    fs.writeFileSync(manifest, JSON.stringify({ models }));
    const r = exec(findTool('python3')!, [SCRIPT, LIBRARY, manifest, dir], { timeout: 900_000, env: { ...process.env, TBN_CUDA_MATH: math } });
    expect(r.status, r.err.slice(-3000)).toBe(0);
    const report = JSON.parse(r.out) as { skip?: string; results: { name: string; placement: Record<string, string[]>; outputs: { name: string; dims: number[]; file: string }[] }[] };
    expect(report.skip).toBeUndefined();
    expect(report.results).toHaveLength(models.length);
    for (const res of report.results) {
      expect(Object.keys(res.placement).length, `${res.name}: ai.tbn nodes in the profile`).toBeGreaterThan(0);
      for (const [op, providers] of Object.entries(res.placement)) expect(providers, `${res.name}: ${op}`).toEqual(['CUDAExecutionProvider']);
      const got = Object.fromEntries(res.outputs.map((o) => {
        const bytes = fs.readFileSync(o.file);
        return [o.name, { dtype: 'float32', dims: o.dims, data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) } as HostTensor];
      }));
      expectClose(got, expected.get(res.name)!);
    }
  }, 900_000);
});
