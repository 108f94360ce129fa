// Quantized and narrow-float pieces against onnxruntime: DequantizeLinear weights of every
// stored type tbn reads (int8/uint8/int4/uint4, per tensor and per axis), the interpreter's
// quantization ops (exact codes; straight-through gradients), layers tbn does not tile named
// with the reason, and the ai.tbn ops of every form (TbnConv, TbnGemm, TbnMatMul, TbnDecode)
// in float16 and bfloat16.
import { describe, expect, it } from 'vitest';
import * as E from '../../src/engine/index.js';
import { compile } from '../../src/interp/index.js';
import { attr, floatTensor, graph, model, node, tensor, valueInfo } from '../../src/ir/build.js';
import { floatsAs, type ElementType } from '../../src/ir/dtype.js';
import type { Model, OnnxTensor } from '../../src/ir/types.js';
import { loadModel } from '../../src/onnx/file.js';
import { inspectModel } from '../../src/pipeline/inspect.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import { consumedWeight, findWeightLayers } from '../../src/tbn/layers.js';
import { selectLayers } from '../../src/tbn/select.js';
import { toFloat64, widenToFloat32, type HostTensor } from '../../src/util/host-tensor.js';
import { DATA_ROOT, dataSets } from '../onnx-backend/cases.js';
import { Rng } from '../../src/util/random.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { modelPath } from '../helpers/fixtures.js';
import { coverageModel } from '../helpers/models.js';
import { exactFloat32, narrowModel } from '../helpers/narrow.js';
import { tmpDir } from '../helpers/tmp.js';
import { nativeReason, runKernels, skipNative } from '../native-ops/helpers.js';
import fs from 'node:fs';
import path from 'node:path';

async function ortRun(m: Model | Uint8Array, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const s = await createOrtSession(m instanceof Uint8Array ? m : toBytes(m), { threads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

const RANGE: Record<string, [number, number]> = { int8: [-128, 127], uint8: [0, 255], int4: [-8, 7], uint4: [0, 15] };

/** Codes of `dtype` as an IR tensor (4-bit types packed two per byte, low nibble first). */
function codes(name: string, dtype: 'int8' | 'uint8' | 'int4' | 'uint4', dims: number[], values: number[]): OnnxTensor {
  if (dtype === 'int8') return tensor(name, dtype, dims, Int8Array.from(values));
  if (dtype === 'uint8') return tensor(name, dtype, dims, Uint8Array.from(values));
  const bytes = new Uint8Array(Math.ceil(values.length / 2));
  values.forEach((v, i) => (bytes[i >> 1]! |= (v & 15) << ((i & 1) * 4)));
  return tensor(name, dtype, dims, bytes);
}

/** x → Conv(x, DequantizeLinear(W codes, scale, zero point)) at opset 21, W's DQ output exposed. */
function qdqConv(dtype: 'int8' | 'uint8' | 'int4' | 'uint4', perChannel: boolean): Model {
  const rng = new Rng(3);
  const dims = [8, 4, 3, 3];
  const [lo, hi] = RANGE[dtype]!;
  const values = Array.from({ length: 288 }, () => lo + rng.int(hi - lo + 1));
  const n = perChannel ? 8 : 1;
  const scale = floatTensor('w_scale', perChannel ? [8] : [], Float32Array.from({ length: n }, () => 0.01 + rng.next() * 0.05));
  const zp = codes('w_zp', dtype, perChannel ? [8] : [], Array.from({ length: n }, () => lo + rng.int(hi - lo + 1)));
  const g = graph({
    name: 'qdq-conv',
    nodes: [
      node('DequantizeLinear', ['w_q', 'w_scale', 'w_zp'], ['w'], perChannel ? [attr.int('axis', 0)] : [], { name: 'w_dq' }),
      node('Conv', ['x', 'w'], ['y'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'conv' }),
    ],
    initializers: [codes('w_q', dtype, dims, values), scale, zp],
    inputs: [valueInfo('x', 'float32', ['N', 4, 6, 6])],
    outputs: [valueInfo('y', 'float32', ['N', 8, 6, 6]), valueInfo('w', 'float32', dims)],
  });
  return model(g, { opset: 21, irVersion: 10 });
}

describe('DequantizeLinear weights', () => {
  const cases = [['int8', true], ['uint8', false], ['int4', true], ['uint4', false], ['int4', false]] as const;
  it.each(cases)('%s (per channel: %s) dequantize as onnxruntime does, and tile', async (dtype, perChannel) => {
    const m = qdqConv(dtype, perChannel);
    const [layer] = findWeightLayers(m);
    expect(layer!.source.dequantize!.scale.length).toBe(perChannel ? 8 : 1);
    const rng = new Rng(8);
    const x = { dtype: 'float32' as ElementType, dims: [1, 4, 6, 6], data: Float32Array.from({ length: 144 }, () => rng.normal()) };
    const ort = await ortRun(m, { x });
    expect(Array.from(consumedWeight(layer!))).toEqual(Array.from(ort.w!.data as Float32Array));
    const layerOnly = { ...m, graph: { ...m.graph, outputs: m.graph.outputs.slice(0, 1) } };
    expect(selectLayers(layerOnly, { p: 4, minParams: 0 }).chosen).toHaveLength(1);
    // The interpreter (the fine-tuning student) reads the stored codes the same way.
    const program = compile(layerOnly);
    const y = program.runHost({ x }).y!.data as Float32Array;
    program.dispose();
    expect(y).toBeAllclose(ort.y!.data as Float32Array, { atol: 1e-5, rtol: 1e-5 });
  });
});

describe('layers tbn does not tile', () => {
  it('QLinearConv is listed with the reason, by compress and by inspect', () => {
    const rng = new Rng(5);
    const g = graph({
      name: 'qlinear',
      nodes: [node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], ['y'], [], { name: 'qconv' })],
      initializers: [
        floatTensor('xs', [], [0.02]),
        tensor('xz', 'uint8', [], Uint8Array.of(128)),
        tensor('w', 'int8', [16, 8, 3, 3], Int8Array.from({ length: 1152 }, () => rng.int(255) - 127)),
        floatTensor('ws', [], [0.01]),
        tensor('wz', 'int8', [], Int8Array.of(0)),
        floatTensor('ys', [], [0.05]),
        tensor('yz', 'uint8', [], Uint8Array.of(128)),
      ],
      inputs: [valueInfo('x', 'uint8', ['N', 8, 5, 5])],
      outputs: [valueInfo('y', 'uint8', ['N', 16, 3, 3])],
    });
    const m = model(g, { opset: 13 });
    const sel = selectLayers(m, { minParams: 0 });
    expect(sel.chosen).toHaveLength(0);
    expect(sel.skipped[0]!.reason).toMatch(/^QLinearConv computes on quantized activations/);
    const file = path.join(tmpDir(), 'qlinear.onnx');
    fs.writeFileSync(file, toBytes(m));
    const report = inspectModel(file, { minParams: 0 });
    expect(report.layers[0]!.notTileable).toMatch(/QLinearConv/);
    expect(report.totals.tileableParams).toBe(0);
  });

  it('integer ops outside the dynamic-quantization chain are listed with the reason', () => {
    const rng = new Rng(6);
    const g = graph({
      name: 'static-int',
      nodes: [node('ConvInteger', ['x', 'w'], ['y'], [], { name: 'ci' })],
      initializers: [tensor('w', 'uint8', [16, 8, 3, 3], Uint8Array.from({ length: 1152 }, () => rng.int(256)))],
      inputs: [valueInfo('x', 'uint8', ['N', 8, 5, 5])],
      outputs: [valueInfo('y', 'int32', ['N', 16, 3, 3])],
    });
    expect(selectLayers(model(g, { opset: 13 }), { minParams: 0 }).skipped[0]!.reason).toMatch(/input is not quantized by DynamicQuantizeLinear/);
    // A chain whose intermediate value is a graph output is not replaced either.
    const { model: m } = loadModel(modelPath('dtypes-dynamic.onnx'));
    const ci = m.graph.nodes.find((n) => n.opType === 'ConvInteger')!;
    const exposed: Model = { ...m, graph: { ...m.graph, outputs: [...m.graph.outputs, valueInfo(ci.outputs[0]!, 'int32')] } };
    expect(selectLayers(exposed, { minParams: 0 }).skipped.find((s) => s.layer.node === ci)!.reason).toMatch(/graph output/);
  });
});

describe('interpreter quantization ops', () => {
  const feeds = () => {
    const rng = new Rng(9);
    return { input: { dtype: 'float32' as ElementType, dims: [4, 1, 28, 28], data: Float32Array.from({ length: 4 * 784 }, () => rng.next()) } };
  };
  it.each(['dtypes-qdq.onnx', 'dtypes-dynamic.onnx'])('run %s as onnxruntime does', async (name) => {
    const { model: m } = loadModel(modelPath(name));
    const want = (await ortRun(m, feeds())).logits!.data as Float32Array;
    const program = compile(m);
    const got = program.runHost(feeds()).logits!.data as Float32Array;
    program.dispose();
    const scale = Math.max(...Array.from(want, Math.abs));
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(2e-2 * scale);
  });

  it('QuantizeLinear rounds half to even and saturates; DynamicQuantizeLinear matches onnxruntime exactly', async () => {
    const g = graph({
      name: 'q',
      nodes: [
        node('QuantizeLinear', ['x', 's', 'z'], ['q']),
        node('DynamicQuantizeLinear', ['x'], ['dq', 'ds', 'dz']),
      ],
      initializers: [floatTensor('s', [], [0.5]), tensor('z', 'int8', [], Int8Array.of(1))],
      inputs: [valueInfo('x', 'float32', [9])],
      outputs: [valueInfo('q', 'int8', [9]), valueInfo('dq', 'uint8', [9]), valueInfo('ds', 'float32', []), valueInfo('dz', 'uint8', [])],
    });
    const m = model(g, { opset: 13 });
    const x = { x: { dtype: 'float32' as ElementType, dims: [9], data: Float32Array.of(0.25, 0.75, 1.25, -0.25, -0.75, 100, -100, 0.3, 3.1) } };
    const want = await ortRun(m, x);
    const program = compile(m);
    const got = program.runHost(x);
    program.dispose();
    for (const k of ['q', 'dq', 'ds', 'dz']) expect(Array.from(got[k]!.data as ArrayLike<number>), k).toEqual(Array.from(want[k]!.data as ArrayLike<number>));
  });

  it('QuantizeLinear → DequantizeLinear passes gradients straight through, none where it saturates', () => {
    const g = graph({
      name: 'qdq',
      nodes: [node('QuantizeLinear', ['x', 's', 'z'], ['q']), node('DequantizeLinear', ['q', 's', 'z'], ['y'])],
      initializers: [floatTensor('s', [], [0.1]), tensor('z', 'uint8', [], Uint8Array.of(10))],
      inputs: [valueInfo('x', 'float32', [4])],
      outputs: [valueInfo('y', 'float32', [4])],
    });
    const program = compile(model(g, { opset: 13 }));
    const x = E.keep(E.parameter(Float32Array.of(0.123, -0.5, 30, -2), [4]));
    E.tidy(() => {
      const { outputs } = program.run({ x });
      expect(Array.from(outputs.y!.toArray())).toEqual([0.1, -0.5, 24.5, -1].map(Math.fround));
      E.backward(E.sum(outputs.y!));
    });
    // 30 saturates at code 255 (24.5), −2 at code 0 (−1): no gradient there.
    expect(Array.from(x.grad!.toArray())).toEqual([1, 1, 0, 0]);
    x.dispose();
    program.dispose();
  });
});

/**
 * A compressed coverage model without its last MatMul (onnxruntime's CPU provider has none in
 * bfloat16): outputs are the first MatMul's and TbnDecode's decoded weight.
 */
function withoutLastMatMul(m: Model): Model {
  const decode = m.graph.nodes.find((n) => n.opType === 'TbnDecode')!;
  const nodes = m.graph.nodes.filter((n) => n.outputs[0] !== 'y' && n.outputs[0] !== 'm1t');
  const type = m.graph.outputs[0]!.type;
  return { ...m, graph: { ...m.graph, nodes, outputs: [{ name: 'm1', type }, { name: decode.outputs[0]!, type }] } };
}

// The ONNX project's own cases for these ops (libonnx-testdata). The backend tier skips them:
// their inputs and outputs are (u)int8, which it does not compare; here codes compare exactly.
const QUANT_CASES = ['basic_convinteger', 'convinteger_with_padding', 'convinteger_without_padding', 'dequantizelinear', 'dequantizelinear_axis', 'dynamicquantizelinear', 'dynamicquantizelinear_expanded', 'dynamicquantizelinear_max_adjusted', 'dynamicquantizelinear_min_adjusted', 'matmulinteger', 'quantizelinear', 'quantizelinear_axis'];
const backendData = fs.existsSync(path.join(DATA_ROOT, 'node'));

describe.skipIf(!backendData && process.env.CI !== 'true')('ONNX backend cases of the quantization ops', () => {
  it.each(QUANT_CASES)('%s', (name) => {
    const c = { suite: 'node', name: `test_${name}`, dir: path.join(DATA_ROOT, 'node', `test_${name}`) };
    const program = compile(loadModel(path.join(c.dir, 'model.onnx')).model);
    try {
      for (const set of dataSets(c)) {
        const got = program.runHost(Object.fromEntries(program.inputs.map((inp, i) => [inp.name, set.inputs[i]!])));
        program.outputNames.forEach((out, i) => {
          expect(got[out]!.dtype, out).toBe(set.outputs[i]!.dtype);
          expect(toFloat64(got[out]!), out).toBeAllclose(toFloat64(set.outputs[i]!), { atol: 1e-6, rtol: 1e-6 });
        });
      }
    } finally {
      program.dispose();
    }
  });
});

describe('ai.tbn ops in float16 and bfloat16 (every op: TbnConv, TbnGemm, TbnMatMul, TbnDecode)', () => {
  const x = (dtype: 'float16' | 'bfloat16' | 'float32', n = 3) => {
    const rng = new Rng(2);
    const v = Float32Array.from({ length: n * 3 * 8 * 8 }, () => rng.normal());
    return { x: { dtype: dtype as ElementType, dims: [n, 3, 8, 8], data: dtype === 'float32' ? v : floatsAs(v, dtype) } };
  };
  const toF32 = (t: HostTensor) => widenToFloat32(t).data as Float32Array;
  const expectWithin = (got: Float32Array, want: Float32Array, rel: number) => {
    const scale = Math.max(...Array.from(want, Math.abs));
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst / scale).toBeLessThan(rel);
  };

  it('float16: the function form equals the expanded form within float16 rounding', async () => {
    const m = narrowModel(coverageModel(), 'float16');
    const c = compressInMemory(m, 'custom', { p: 2 });
    const e = compressInMemory(m, 'expanded', { p: 2 });
    expect(new Set(c.model.graph.nodes.filter((n) => n.domain === 'ai.tbn').map((n) => n.opType))).toEqual(new Set(['TbnConv', 'TbnGemm', 'TbnMatMul', 'TbnDecode']));
    expectWithin(toF32((await ortRun(c.bytes, x('float16'))).y!), toF32((await ortRun(e.bytes, x('float16'))).y!), 4e-3);
  });

  it.skipIf(skipNative)(`float16 and bfloat16 kernels follow the float32 kernels on the same values${nativeReason}`, async () => {
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const f32 = coverageModel();
      // The float32 model holding exactly the narrow values (weights, and later the input).
      const exact = narrowModel(f32, dtype);
      const widened = exactFloat32(f32, dtype);
      const cut = (x: Model) => (dtype === 'bfloat16' ? withoutLastMatMul(x) : x);
      const c = toBytes(cut(compressInMemory(exact, 'custom', { p: 2 }).model));
      const ref = toBytes(cut(compressInMemory(widened, 'custom', { p: 2 }).model));
      const feeds = x(dtype);
      const wide = { x: { ...feeds.x, dtype: 'float32' as ElementType, data: toF32(feeds.x) } };
      const [got, want] = [await runKernels(c, feeds, 'portable'), await runKernels(ref, wide, 'portable')];
      // Each layer's output is rounded to the narrow type before the next: a few of its ulps.
      for (const k of Object.keys(want)) expectWithin(toF32(got[k]!), toF32(want[k]!), dtype === 'float16' ? 4e-3 : 3e-2);
    }
  });
});
