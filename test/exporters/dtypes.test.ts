// Models as they ship in other element types (scripts/fixtures/dtypes.py): float16, bfloat16
// weights, QDQ int8, onnxruntime's dynamic quantization (ConvInteger/MatMulInteger). Their
// layers are found and tiled; the compressed form runs through its ONNX functions and through
// the ai.tbn kernels with the same outputs as its expanded (decoded-weight) form — within
// float16 rounding for float16 models — keeps the model's input and output types, passes
// onnx.checker, and `tbn compress` (with a short fine-tune) → `tbn verify` works end to end; a
// float16 model with its Relus folded into the tiled layers runs on the kernels through
// `tbn verify --runtime custom-ops` with its expanded form's outputs within float16 rounding.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadData, readRange } from '../../src/data/dataset.js';
import { floatsAs, halfToFloat } from '../../src/ir/dtype.js';
import { valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { loadModel } from '../../src/onnx/file.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import { consumedWeight, findWeightLayers } from '../../src/tbn/layers.js';
import { permuteChannels } from '../../src/tbn/permute.js';
import { selectLayers } from '../../src/tbn/select.js';
import { layerSensitivity } from '../../src/tbn/sensitivity.js';
import { concreteShapes } from '../../src/tbn/shapes.js';
import { widenToFloat32, type HostTensor } from '../../src/util/host-tensor.js';
import { tbn } from '../cli/run.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { hasPythonOnnx, onnxChecker } from '../helpers/models.js';
import { tmpDir } from '../helpers/tmp.js';
import { nativeReason, runKernels, skipNative } from '../native-ops/helpers.js';

const FIXTURES = ['dtypes-fp16.onnx', 'dtypes-bf16-weights.onnx', 'dtypes-qdq.onnx', 'dtypes-dynamic.onnx'] as const;
const SELECT = { p: 4, minParams: 4000 };

/** 16 MNIST test images in the model's input type. */
async function images(model: Model): Promise<Record<string, HostTensor>> {
  const data = await loadData(dataPath('mnist-test.npz'), model);
  return (await readRange(data, 0, 16)).feeds;
}

async function run(bytes: Uint8Array | string, feeds: Record<string, HostTensor>): Promise<Float32Array> {
  const s = await createOrtSession(bytes, { threads: 1 });
  try {
    return widenToFloat32((await s.run(feeds)).logits!).data as Float32Array;
  } finally {
    await s.release();
  }
}

/** |a − b| ≤ tol · max|b| elementwise, reporting the largest miss. */
function expectNear(a: Float32Array, b: Float32Array, tol: number): void {
  const scale = Math.max(...Array.from(b, Math.abs));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst, `max |Δ| ${worst} vs ${tol} · ${scale}`).toBeLessThanOrEqual(tol * scale);
}

describe('layers of float16, bfloat16 and quantized models', () => {
  it('float16: the layers compute in float16 and are chosen', () => {
    const { model } = loadModel(modelPath('dtypes-fp16.onnx'));
    const layers = findWeightLayers(model);
    expect(layers.map((l) => l.dtype)).toEqual(['float16', 'float16', 'float16', 'float16', 'float16']);
    const sel = selectLayers(model, SELECT);
    expect(sel.chosen.map((c) => c.layer.node.name)).toEqual(['/conv2/Conv', '/conv3/Conv', '/fc1/Gemm']);
  });

  it('bfloat16 weights behind Cast(float): layers compute in float32, weights read exactly', () => {
    const { model } = loadModel(modelPath('dtypes-bf16-weights.onnx'));
    const l = findWeightLayers(model).find((x) => x.node.name === '/fc1/Gemm')!;
    expect(l.dtype).toBe('float32');
    expect(l.source.tensor.dtype).toBe('bfloat16');
    expect(l.source.chain.map((c) => c.op)).toEqual(['Cast']);
  });

  it('QDQ: int8 weights per output channel, dequantized exactly as onnxruntime does', async () => {
    const { model } = loadModel(modelPath('dtypes-qdq.onnx'));
    const layers = findWeightLayers(model);
    expect(layers).toHaveLength(5);
    for (const l of layers) {
      expect(l.source.tensor.dtype).toBe('int8');
      expect(l.source.dequantize!.axis).toBe(0);
      expect(l.source.dequantize!.scale.length).toBe(l.shape[0]);
    }
    // onnxruntime's DequantizeLinear outputs, fetched as extra graph outputs.
    const dq = layers.map((l) => l.node.inputs[1]!);
    const probe = { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, ...dq.map((n) => valueInfo(n, 'float32'))] } };
    const s = await createOrtSession(toBytes(probe), { threads: 1 });
    const out = await s.run(await images(model));
    await s.release();
    layers.forEach((l, i) => expect(Array.from(consumedWeight(l))).toEqual(Array.from(out[dq[i]!]!.data as Float32Array)));
  });

  it('dynamic quantization: ConvInteger/MatMulInteger chains are the float layers they stand for', () => {
    const { model } = loadModel(modelPath('dtypes-dynamic.onnx'));
    const layers = findWeightLayers(model);
    expect(layers.map((l) => [l.node.opType, l.op, l.source.tensor.dtype])).toEqual([
      ['ConvInteger', 'Conv', 'uint8'],
      ['ConvInteger', 'Conv', 'uint8'],
      ['ConvInteger', 'Conv', 'uint8'],
      ['MatMulInteger', 'MatMul', 'int8'],
      ['MatMulInteger', 'MatMul', 'int8'],
    ]);
    for (const l of layers) {
      const inits = new Map(model.graph.initializers.map((t) => [t.name, t]));
      const [scaleName, zpName] = l.source.dequantize!.params;
      const scale = (inits.get(scaleName!)!.data as Float32Array)[0]!;
      const zp = zpName ? Number(inits.get(zpName)!.data[0]) : 0;
      const q = l.source.tensor.data as Uint8Array | Int8Array;
      expect(Array.from(consumedWeight(l))).toEqual(Array.from(q, (v) => Math.fround((v - zp) * scale)));
      // The tiled layer reads DynamicQuantizeLinear's float input and writes the rescaling Mul's output.
      expect(model.graph.nodes.find((n) => n.outputs.includes(l.integer!.output))!.opType).toBe('Mul');
    }
  });
});

describe.each(FIXTURES)('%s compressed at p = 4', (name) => {
  const custom = () => compressInMemory(modelPath(name), 'custom', SELECT);
  const expanded = () => compressInMemory(modelPath(name), 'expanded', SELECT);
  const tol = name.includes('fp16') ? 2e-3 : 1e-5; // float16: a few ulps of the largest logit

  it('keeps the model inputs and outputs, and its function form equals the expanded form', async () => {
    const c = custom();
    expect(c.tiled).toHaveLength(3);
    const io = (m: Model) => JSON.stringify([m.graph.inputs, m.graph.outputs]);
    expect(io(c.model)).toBe(io(c.original));
    const feeds = await images(c.original);
    expectNear(await run(c.bytes, feeds), await run(expanded().bytes, feeds), tol);
  });

  it.skipIf(skipNative)(`runs on the ai.tbn kernels with the expanded form's outputs${nativeReason}`, async () => {
    const c = custom();
    const feeds = await images(c.original);
    const kernels = widenToFloat32((await runKernels(c.bytes, feeds, 'portable')).logits!).data as Float32Array;
    expectNear(kernels, await run(expanded().bytes, feeds), tol);
  });

  it.skipIf(!hasPythonOnnx && process.env.CI !== 'true')('passes onnx.checker (full_check)', () => {
    expect(onnxChecker(custom().bytes)).toBe('ok');
  });
});

describe.each(['dtypes-qdq.onnx', 'dtypes-dynamic.onnx', 'dtypes-fp16.onnx'])('channel permutation of %s', (name) => {
  it('permutes every space and leaves the outputs unchanged (QDQ: scales and quantized biases move too)', async () => {
    const { model: m } = loadModel(modelPath(name));
    const { model: pm, report } = permuteChannels(m, selectLayers(m, SELECT).chosen, await concreteShapes(m));
    expect(report.map((r) => r.permuted)).toEqual([true, true, true]);
    const feeds = await images(m);
    expectNear(await run(toBytes(pm), feeds), await run(toBytes(m), feeds), name.includes('fp16') ? 2e-3 : 1e-5);
  });
});

describe('float16 tiles', () => {
  it('store α in float16 and decode to exactly the expanded weights', () => {
    const c = compressInMemory(modelPath('dtypes-fp16.onnx'), 'custom', SELECT);
    const e = compressInMemory(modelPath('dtypes-fp16.onnx'), 'expanded', SELECT);
    for (const t of c.tiled) {
      const scales = c.model.graph.initializers.find((i) => i.name === `${t.layer.source.name}_tbn_scales`)!;
      expect(scales.dtype).toBe('float16');
      const w = e.model.graph.initializers.find((i) => i.name === `${t.layer.source.name}_tbn`)!;
      expect(w.dtype).toBe('float16');
      const alpha = new Set(Array.from(scales.data as Uint16Array, (h) => Math.abs(halfToFloat(h))));
      for (const v of w.data as Uint16Array) expect(alpha.has(Math.abs(halfToFloat(v)))).toBe(true);
    }
  });
});

describe('tbn compress with a short fine-tune, then tbn verify', () => {
  it.each(FIXTURES)('%s', async (name) => {
    const dir = tmpDir();
    const out = path.join(dir, 'out.onnx');
    const c = await tbn('compress', modelPath(name), '-p', '4', '--min-params', '4000', '--data', dataPath('mnist-calib.npz'), '--steps', '6', '--batch-size', '32', '-o', out, '--json');
    expect(c.code, c.stderr).toBe(0);
    const report = JSON.parse(c.stdout);
    expect(report.layers).toHaveLength(3);
    // The float32 student learned from the original model as teacher.
    expect(report.finetune.lossAfter).toBeLessThan(report.finetune.lossBefore);
    if (name.includes('dynamic')) expect(report.warnings.join('\n')).toMatch(/DynamicQuantizeLinear that only fed it is dropped/);
    for (const runtime of skipNative ? ['ort'] : ['ort', 'custom-ops']) {
      const v = await tbn('verify', modelPath(name), out, '--data', dataPath('mnist-test.npz'), '--samples', '64', '--latency-runs', '1', '--runtime', runtime, '--json');
      expect(v.code, v.stderr).toBe(0);
      expect(JSON.parse(v.stdout).outputs[0].top1Agreement).toBeGreaterThan(0.15); // chance: 0.1
    }
  });
});

describe.skipIf(skipNative)(`float16 with folded epilogues${nativeReason}`, () => {
  it('tbn verify --runtime custom-ops: the folded custom form matches its expanded form within float16 rounding', async () => {
    const dir = tmpDir();
    const [custom, expanded] = [path.join(dir, 'custom.onnx'), path.join(dir, 'expanded.onnx')];
    const args = [modelPath('dtypes-fp16.onnx'), '-p', '4', '--min-params', '4000', '--no-finetune', '--json'];
    const c = await tbn('compress', ...args, '-o', custom);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout).fused.map((f: { fused: string[] }) => f.fused.join(','))).toEqual(['Relu,MaxPool', 'Relu,MaxPool', 'Relu']); // the two tiled convs' pools too (TbnConvMaxPool, in float16)
    const e = await tbn('compress', ...args, '--format', 'expanded', '-o', expanded);
    expect(e.code, e.stderr).toBe(0);
    const folded = loadModel(custom).model;
    expect(folded.graph.nodes.filter((n) => n.domain === 'ai.tbn').map((n) => Number(n.attributes.find((a) => a.name === 'activation')?.i ?? 0))).toEqual([1, 1, 1]);
    expect(folded.graph.nodes.some((n) => n.opType === 'Relu' && !n.domain)).toBe(true); // the first conv's (untiled) and nothing else
    expect(folded.graph.nodes.filter((n) => n.opType === 'Relu')).toHaveLength(1);
    const v = await tbn('verify', expanded, custom, '--data', dataPath('mnist-test.npz'), '--samples', '64', '--latency-runs', '1', '--runtime', 'custom-ops', '--json');
    expect(v.code, v.stderr).toBe(0);
    const out = JSON.parse(v.stdout).outputs[0];
    const logits = await run(expanded, await images(loadModel(expanded).model));
    const scale = Math.max(...Array.from(logits, Math.abs));
    expect(out.maxAbsError).toBeLessThanOrEqual(4e-3 * scale);
    expect(out.top1Agreement).toBeGreaterThanOrEqual(63 / 64);
  });
});

describe('per-layer sensitivity (the --max-drop / --target-bits search)', () => {
  it.each(['dtypes-fp16.onnx', 'dtypes-qdq.onnx', 'dtypes-dynamic.onnx'])('measures the layers of %s on float32 values', async (name) => {
    const file = modelPath(name);
    const { model } = loadModel(file);
    const data = await loadData(dataPath('mnist-calib.npz'), model);
    const table = await layerSensitivity(file, model, data, { minParams: 4000 }, new Map(), { maxP: 4, powersOfTwo: true, localSteps: 2, samples: 64, alpha: 'per-tile', permute: false, seed: 0 });
    expect(table).toHaveLength(3);
    for (const layer of table) {
      const [fp32, ...tiled] = layer.entries;
      expect(fp32).toMatchObject({ p: 0, loss: 0, accuracyDrop: 0 });
      // Tiling costs something; binary (p = 1) costs a KL of a few hundredths here, not the
      // KL of float16 bit patterns read as numbers (> 5).
      for (const e of tiled) expect(e.loss).toBeGreaterThan(0);
      expect(tiled[0]!.loss).toBeLessThan(0.5);
      expect(tiled.at(-1)!.loss).toBeGreaterThan(tiled[0]!.loss);
    }
  });
});

describe('export --target mcu', () => {
  it('refuses a float16 model in one line', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'out.onnx');
    expect((await tbn('compress', modelPath('dtypes-fp16.onnx'), '-p', '4', '--min-params', '4000', '--no-finetune', '-o', out, '--quiet')).code).toBe(0);
    const r = await tbn('export', out, '--target', 'mcu', '--out', path.join(dir, 'c'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/computes in float16; the C export computes in float32/);
  });
});

describe('float16 data', () => {
  it('float32 calibration data is rounded to a float16 input, with a note', async () => {
    const { model } = loadModel(modelPath('dtypes-fp16.onnx'));
    const d = await loadData(dataPath('mnist-calib.npz'), model);
    const half = (await readRange(d, 0, 1)).feeds.input!;
    expect(half.dtype).toBe('float16');
    expect(d.notes.join()).toMatch(/float32 rounded to float16/);
    const f32 = await loadData(dataPath('mnist-calib.npz'), loadModel(modelPath('dtypes-bf16-weights.onnx')).model);
    const raw = (await readRange(f32, 0, 1)).feeds.input!.data as Float32Array;
    expect(Array.from(half.data as Uint16Array)).toEqual(Array.from(floatsAs(raw, 'float16') as Uint16Array));
  });
});
