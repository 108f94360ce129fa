// The compressed fixtures through onnxruntime's CUDAExecutionProvider with the ai.tbn library:
// every fused op must run on the CUDA EP (onnxruntime's profile says where each node ran), and
// the outputs must equal the function form on the CPU (stock onnxruntime-node), with fp32 and
// tf32x2 math; so must the epilogue fold's TbnConvMaxPool nodes, in float32 and float16.
// onnxruntime-node has no CUDA EP, so this drives a CUDA build of Python onnxruntime
// (test/gpu/ort_cuda_ep.py). Skips, with the reason, without a GPU, without such an onnxruntime,
// or when the library was built without the CUDA kernels.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { findTool } from '../../src/mcu/toolchain.js';
import type { HostTensor } from '../../src/util/host-tensor.js';
import { halfToFloat } from '../../src/ir/dtype.js';
import { fuseEpilogues } from '../../src/tbn/fuse-epilogue.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { EPILOGUE_CASES } from '../helpers/epilogue-models.js';
import { ROOT, TORCH_MODELS, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { narrowModel } from '../helpers/narrow.js';
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

interface ModelEntry {
  name: string;
  model: string;
  inputs: { name: string; dtype: string; dims: number[]; file: string }[];
}

/** Writes a model and its feeds (raw little-endian files) for ort_cuda_ep.py. */
function manifestEntry(dir: string, name: string, bytes: Uint8Array, feeds: Record<string, HostTensor>): ModelEntry {
  const modelFile = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(modelFile, bytes);
  const inputs = Object.entries(feeds).map(([input, t]) => {
    const f = path.join(dir, `${name}-in-${input}.bin`);
    const data = t.data as ArrayBufferView;
    fs.writeFileSync(f, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return { name: input, dtype: t.dtype, dims: t.dims, file: f };
  });
  return { name, model: modelFile, inputs };
}

/** Runs the models on the CUDA EP; checks every ai.tbn node ran there; the outputs (as float32) by model. */
function runOnCuda(dir: string, models: ModelEntry[], math: string): Map<string, Record<string, HostTensor>> {
  const manifest = path.join(dir, 'manifest.json');
  fs.writeFileSync(manifest, JSON.stringify({ models }));
  const r = exec(findTool('python3')!, [SCRIPT, LIBRARY, manifest, dir], { timeout: 900_000, env: { ...process.env, TBN_CUDA_MATH: math } });
  expect(r.status, r.err.slice(-3000)).toBe(0);
  const report = JSON.parse(r.out) as { skip?: string; results: { name: string; placement: Record<string, string[]>; outputs: { name: string; dims: number[]; file: string }[] }[] };
  expect(report.skip).toBeUndefined();
  expect(report.results).toHaveLength(models.length);
  const outputs = new Map<string, Record<string, HostTensor>>();
  for (const res of report.results) {
    expect(Object.keys(res.placement).length, `${res.name}: ai.tbn nodes in the profile`).toBeGreaterThan(0);
    for (const [op, providers] of Object.entries(res.placement)) expect(providers, `${res.name}: ${op}`).toEqual(['CUDAExecutionProvider']);
    outputs.set(res.name, Object.fromEntries(res.outputs.map((o) => {
      const bytes = fs.readFileSync(o.file);
      return [o.name, { dtype: 'float32', dims: o.dims, data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) } as HostTensor];
    })));
  }
  return outputs;
}

describe.skipIf(reason !== '')(`compressed fixtures on onnxruntime's CUDA EP${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it.each(['fp32', 'tf32x2'])('every ai.tbn node runs on CUDA and matches the CPU function form (%s)', async (math) => {
    ensureHarness(); // the library in build/Release has the CUDA kernels exactly when the harness was built
    const dir = tmpDir('tbn-ort-cuda-');
    const models: ModelEntry[] = [];
    const expected = new Map<string, Record<string, HostTensor>>();
    for (const file of TORCH_MODELS)
      for (const [p, axis] of [[4, 'output'], [8, 'input'], [3, 'output']] as const) {
        const c = compressInMemory(modelPath(file), 'custom', { p, tileAxis: axis });
        if (!c.tiled.length) continue;
        const name = `${file.replace(/\.onnx$/, '')}-p${p}-${axis}`;
        const feeds = syntheticInputs(c.original, { batch: 5, seed: p });
        models.push(manifestEntry(dir, name, c.bytes, feeds));
        expected.set(name, await runFunctionForm(c.bytes, feeds));
      }
    const got = runOnCuda(dir, models, math);
    for (const m of models) expectClose(got.get(m.name)!, expected.get(m.name)!);
  }, 900_000);

  // The fold's TbnConvMaxPool (2-D and 1-D; 2×2, 3×3 stride 2 with pads and ceil_mode, after a
  // residual and BatchNormalization) in float32 and float16: the conv into device scratch, then
  // the pool kernel, through the float16 boundary. float16 is compared within its rounding
  // (the function form rounds after every node, the kernels once).
  it.each(['float32', 'float16'] as const)('TbnConvMaxPool runs on CUDA and matches the CPU function form (%s)', async (dtype) => {
    ensureHarness();
    const dir = tmpDir('tbn-ort-cuda-pool-');
    const models: ModelEntry[] = [];
    const expected = new Map<string, Record<string, HostTensor>>();
    for (const [i, c] of EPILOGUE_CASES.entries()) {
      if (!c.fused.some((f) => f.includes('MaxPool'))) continue;
      const m = dtype === 'float16' ? narrowModel(c.model(), 'float16') : c.model();
      const { model } = await fuseEpilogues(compressInMemory(m, 'custom', { p: 2, minParams: 0 }).model);
      expect(model.graph.nodes.some((n) => n.opType === 'TbnConvMaxPool'), c.name).toBe(true);
      const bytes = toBytes(model);
      const feeds = syntheticInputs(m, { batch: 3, seed: i });
      models.push(manifestEntry(dir, `pool-${i}-${dtype}`, bytes, feeds));
      expected.set(`pool-${i}-${dtype}`, await runFunctionForm(bytes, feeds));
    }
    expect(models.length).toBeGreaterThan(0);
    const got = runOnCuda(dir, models, 'tf32x2');
    for (const m of models) {
      const want = expected.get(m.name)!;
      if (dtype === 'float32') {
        expectClose(got.get(m.name)!, want);
        continue;
      }
      for (const [k, w] of Object.entries(want)) {
        const ref = Float32Array.from(w.data as Uint16Array, halfToFloat);
        const scale = Math.max(...Array.from(ref, Math.abs));
        expect(got.get(m.name)![k]!.dims, `${m.name} ${k}`).toEqual(w.dims);
        expect(got.get(m.name)![k]!.data as Float32Array).toBeAllclose(ref, { atol: 4e-3 * scale, rtol: 4e-3 });
      }
    }
  }, 900_000);
});
