// The epilogue fold (src/tbn/fuse-epilogue.ts) absorbs what exporters put after a tiled layer —
// BatchNormalization, per-channel Mul/Add/Sub/Div, residual Add, every supported activation in
// its exporters' spellings, the Transpose pair of channels-last graphs — and nothing it must not
// (a value read twice or a graph output, an affine step after the activation); the folded
// model's ONNX functions (stock onnxruntime) give the unfolded model's outputs; onnx.checker
// (full_check) accepts it; a model with nothing to fold is returned unchanged. In float16 models
// the same nodes fold (the activations' rounded constants recognised), the epilogue is written
// in float16, and the functions give the unfolded model's outputs within float16 rounding.
// Stock onnxruntime optimizes the function bodies as it does the exporter's graph: one
// activation per node (the If on the activation code folded), the same fused node kinds.
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/onnx/file.js';
import { tmpDir } from '../helpers/tmp.js';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { halfToFloat } from '../../src/ir/dtype.js';
import type { Model } from '../../src/ir/types.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import { fuseEpilogues } from '../../src/tbn/fuse-epilogue.js';
import { TBN_DOMAIN, TBN_OPSET_VERSION } from '../../src/tbn/format.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { EPILOGUE_CASES, build, conv } from '../helpers/epilogue-models.js';
import { attr, graph, node, tensor, valueInfo } from '../../src/ir/build.js';
import { Rng } from '../../src/util/random.js';
import { TORCH_MODELS, modelPath } from '../helpers/fixtures.js';
import { hasPythonOnnx, onnxChecker, randomWeight } from '../helpers/models.js';
import { narrowModel } from '../helpers/narrow.js';

async function outputs(bytes: Uint8Array, feeds: ReturnType<typeof syntheticInputs>) {
  const s = await createOrtSession(bytes, { threads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** Outputs as float32 (float16 ones widened). */
const values = (t: { dtype: string; data: unknown }) => (t.dtype === 'float16' ? Float32Array.from(t.data as Uint16Array, halfToFloat) : (t.data as Float32Array));

async function expectSameFunction(a: Uint8Array, b: Uint8Array, original: Model, tol = 1e-5) {
  const feeds = syntheticInputs(original, { batch: 3, seed: 7 });
  const [x, y] = [await outputs(a, feeds), await outputs(b, feeds)];
  for (const k of Object.keys(y)) {
    const ref = values(y[k]!);
    const scale = Math.max(...Array.from(ref, Math.abs));
    expect(x[k]!.dims).toEqual(y[k]!.dims);
    expect(x[k]!.dtype).toBe(y[k]!.dtype);
    expect(values(x[k]!)).toBeAllclose(ref, { atol: tol * scale, rtol: tol });
  }
}

const checker = (m: Model) => onnxChecker(toBytes(m));
const withChecker = hasPythonOnnx || process.env.CI === 'true';

describe.each(EPILOGUE_CASES)('fold: $name', (c) => {
  it('absorbs exactly the listed nodes; the functions compute what the unfolded model did', async () => {
    const m = c.model();
    const base = compressInMemory(m, 'custom', { p: 2, minParams: 0 });
    const layers = m.graph.nodes.filter((n) => ['Conv', 'Gemm', 'MatMul'].includes(n.opType));
    expect(base.tiled).toHaveLength(layers.length);
    // TbnConvNhwc kept, and (the default) written back as Transpose → TbnConv → Transpose
    for (const channelsLastOp of [true, false]) {
      const { model, report } = await fuseEpilogues(base.model, { channelsLastOp });
      const byName = new Map(report.map((r) => [r.node, r.fused.join(',')]));
      expect(layers.map((n) => byName.get(n.name!) ?? '')).toEqual(channelsLastOp ? c.fused : c.fused.map(withoutTranspose));
      // version 3 only where a pool was folded (TbnConvMaxPool): other files still run on a version-2 library
      expect(model.opsetImports).toContainEqual({ domain: TBN_DOMAIN, version: c.fused.some((f) => f.includes('MaxPool')) ? TBN_OPSET_VERSION : 2 });
      await expectSameFunction(toBytes(model), base.bytes, m);
      if (withChecker && (model.opsetImports[0]?.version ?? 0) <= 17) expect(checker(model)).toBe('ok');
    }
  });
});

const withoutTranspose = (fused: string) => fused.split(',').filter((f) => f && f !== 'Transpose').join(',');

describe.each(EPILOGUE_CASES)('fold in float16: $name', (c) => {
  it('absorbs the same nodes, writes the epilogue in float16; the functions give the unfolded outputs within float16 rounding', async () => {
    const m = narrowModel(c.model(), 'float16');
    const base = compressInMemory(m, 'custom', { p: 2, minParams: 0 });
    const { model, report } = await fuseEpilogues(base.model, { channelsLastOp: true });
    const layers = m.graph.nodes.filter((n) => ['Conv', 'Gemm', 'MatMul'].includes(n.opType));
    const byName = new Map(report.map((r) => [r.node, r.fused.join(',')]));
    expect(layers.map((n) => byName.get(n.name!) ?? '')).toEqual(c.fused);
    const epilogueInputs = new Set(model.graph.nodes.filter((n) => n.domain === TBN_DOMAIN).flatMap((n) => n.inputs.slice(n.opType === 'TbnMatMul' ? 3 : 4)));
    for (const t of model.graph.initializers.filter((i) => epilogueInputs.has(i.name!))) expect(t.dtype, t.name).toBe('float16');
    await expectSameFunction(toBytes(model), base.bytes, m, 4e-3);
    if (withChecker && (model.opsetImports[0]?.version ?? 0) <= 17) expect(checker(model)).toBe('ok');
  });
});

const FIXTURES = [...TORCH_MODELS, 'convnet.onnx', 'convnet-nhwc.onnx'];

describe.each(FIXTURES)('fold on the fixture %s', (name) => {
  it('folds, keeps the function, and onnx.checker accepts the result', async () => {
    const base = compressInMemory(modelPath(name), 'custom', { p: 4, minParams: 0 });
    const { model, report } = await fuseEpilogues(base.model);
    expect(report.length).toBeGreaterThan(0);
    await expectSameFunction(toBytes(model), base.bytes, base.original);
    if (withChecker) expect(checker(model)).toBe('ok');
  });
});

describe('fold', () => {
  it('folds nothing into a conv whose output an If branch also reads (from the outer scope)', async () => {
    const r = new Rng(9);
    const branch = (name: string, op: string) => graph({ name, nodes: [node(op, ['c1'], [`${name}_out`])], inputs: [], outputs: [valueInfo(`${name}_out`, 'float32', ['N', 8, 6, 6])] });
    const m = build(
      [
        conv('x', 'w1', 'c1'), node('Relu', ['c1'], ['r1']), node('MaxPool', ['r1'], ['y'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])]),
        node('If', ['flag'], ['z'], [attr.graph('then_branch', branch('then', 'Abs')), attr.graph('else_branch', branch('else', 'Neg'))]),
      ],
      [randomWeight(r, 'w1', [8, 4, 3, 3]), randomWeight(r, 'w1_b', [8]), tensor('flag', 'bool', [], Uint8Array.of(1))],
      [['x', ['N', 4, 6, 6]]],
      [['y', ['N', 8, 3, 3]], ['z', ['N', 8, 6, 6]]],
    );
    const base = compressInMemory(m, 'custom', { p: 2, minParams: 0 });
    const { model, report } = await fuseEpilogues(base.model);
    expect(report).toEqual([]);
    expect(model.graph.nodes.filter((n) => n.domain === TBN_DOMAIN).map((n) => n.opType)).toEqual(['TbnConv']);
    await expectSameFunction(toBytes(model), base.bytes, m);
  });

  it('leaves a model with nothing to fold as it was', async () => {
    const base = compressInMemory(modelPath('opset18-conv.onnx'), 'custom', { p: 4, minParams: 0, exclude: ['*'] });
    const r = await fuseEpilogues(base.model);
    expect(r.report).toEqual([]);
    expect(r.model).toBe(base.model);
  });

  it('folds the channels-last fixture into TbnConvNhwc nodes, every Transpose pair gone (channelsLastOp)', async () => {
    const base = compressInMemory(modelPath('convnet-nhwc.onnx'), 'custom', { p: 4, minParams: 0 });
    const { model } = await fuseEpilogues(base.model, { channelsLastOp: true });
    const ops = model.graph.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'TbnConvNhwc')).toHaveLength(8);
    expect(ops.filter((o) => o === 'Transpose')).toHaveLength(0);
    expect(ops).not.toContain('TbnConv');
  });

  it('by default writes each channels-last conv as Transpose → TbnConv → Transpose, its residual transposed too', async () => {
    const base = compressInMemory(modelPath('convnet-nhwc.onnx'), 'custom', { p: 4, minParams: 0 });
    const { model, report } = await fuseEpilogues(base.model);
    const nodes = model.graph.nodes;
    const convs = nodes.filter((n) => n.opType === 'TbnConv');
    expect(convs).toHaveLength(8);
    expect(nodes.map((n) => n.opType)).not.toContain('TbnConvNhwc');
    expect(report.flatMap((r) => r.fused)).not.toContain('Transpose');
    const producer = new Map(nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    const perm = (n: { attributes: { name?: string; ints?: (number | bigint)[] }[] } | undefined) => n?.attributes.find((a) => a.name === 'perm')?.ints?.map(Number).join(',');
    for (const c of convs) {
      expect(perm(producer.get(c.inputs[0]!))).toBe('0,3,1,2');
      const readers = nodes.filter((n) => n.inputs.includes(c.outputs[0]!));
      expect(readers.map((r) => `${r.opType} ${perm(r)}`)).toEqual(['Transpose 0,2,3,1']);
      if (c.inputs[6] && !model.graph.initializers.some((t) => t.name === c.inputs[6])) expect(perm(producer.get(c.inputs[6]))).toBe('0,3,1,2');
    }
    expect(convs.some((c) => c.inputs[6] && !model.graph.initializers.some((t) => t.name === c.inputs[6]))).toBe(true);
    await expectSameFunction(toBytes(model), base.bytes, base.original);
  });

  it('stock onnxruntime computes only the activation each fused node names (the If on the activation code is folded at load), GELU fused', async () => {
    const c = EPILOGUE_CASES.find((e) => e.name.startsWith('MatMul → Add bias → GELU'))!;
    const { model } = await fuseEpilogues(compressInMemory(c.model(), 'custom', { p: 2, minParams: 0 }).model);
    const fn = model.functions.find((f) => f.name === 'TbnMatMul')!;
    expect(fn.nodes.map((n) => n.opType)).toContain('If');
    const ops = await optimizedOps(toBytes(model));
    expect(ops).not.toContain('If');
    expect(ops).not.toContain('Where');
    // Each activation once, in whatever form onnxruntime fused it into (the Erf GELU, written
    // in PyTorch's order, becomes BiasGelu with the shift before it).
    const count = (...forms: string[]) => ops.filter((o) => forms.includes(o)).length;
    expect(count('BiasGelu')).toBe(1);
    expect(count('Erf', 'Gelu')).toBe(0);
    expect(count('Tanh', 'FastGelu')).toBe(1);
    expect(count('HardSwish', 'HardSigmoid')).toBe(1);
  });

  it.each([
    ['transformer-encoder.onnx', 4096],
    ['convnet.onnx', 1024],
    ['mnist-resnet.onnx', 4096],
    ['mnist-cnn.onnx', 4096],
  ] as const)("stock onnxruntime runs the compressed %s as the same kinds of nodes as the original (its function bodies fuse as the exporter's graph does)", async (file, minParams) => {
    const original = modelPath(file);
    const { model } = await fuseEpilogues(compressInMemory(original, 'custom', { p: 4, minParams }).model);
    const histogram = (ops: string[]) => Object.fromEntries([...new Set(ops)].sort().map((o) => [o, ops.filter((x) => x === o).length]));
    expect(histogram(await optimizedOps(toBytes(model)))).toEqual(histogram(await optimizedOps(original)));
  });
});

/** The op types of the graph onnxruntime runs after its optimizations (extended level). */
async function optimizedOps(model: Uint8Array | string): Promise<string[]> {
  const optimized = path.join(tmpDir(), 'optimized.onnx');
  const session = typeof model === 'string'
    ? await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'extended', optimizedModelFilePath: optimized })
    : await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: 'extended', optimizedModelFilePath: optimized });
  await session.release();
  return loadModel(optimized).model.graph.nodes.map((n) => n.opType);
}
