// Channel permutation through transformer exports (issue 18): the permuted fp32 model equals
// the original in onnxruntime within 1e-5 on every torch.onnx variant (constant folding on and
// off, opset 14 with LayerNorm decomposed and 17 with LayerNormalization, dynamic batch and
// sequence run at a shape other than the probe's), and the report names the spaces: the MLP
// hidden units, head dimensions (q/k tied, v alone), heads as blocks, the residual stream.
// Also tf2onnx's LeakyRelu, Max(x, 0.2·x), which keeps channels where they are (issue 16).
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { attr, floatTensor, graph, model, node, tensor, valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { loadModel } from '../../src/onnx/file.js';
import { permuteChannels } from '../../src/tbn/permute.js';
import { selectLayers } from '../../src/tbn/select.js';
import { growableShapes } from '../../src/tbn/shapes.js';
import { Rng } from '../../src/util/random.js';
import { compressInMemory } from '../helpers/compress.js';
import { modelPath } from '../helpers/fixtures.js';
import { expectSameOutputs, runOnce } from '../helpers/ort.js';

const VARIANTS = [
  'vit-fold-opset17.onnx',
  'vit-nofold-opset17.onnx',
  'vit-static-opset14.onnx',
  'text-fold-opset14-dynamic.onnx',
  'text-nofold-opset17-dynamic.onnx',
  'text-qkv-nofold-opset14-dynamic.onnx',
] as const;

/** A text model whose sequence length is dynamic (probed at 8, checked at 11). */
const isText = (m: Model) => {
  const t = m.graph.inputs[0]!.type;
  return m.graph.inputs[0]!.name === 'ids' && t?.kind === 'tensor' && t.shape?.[1]?.value === undefined;
};

async function permuted(m: Model) {
  const sel = selectLayers(m, { p: 4, minParams: 0, tileAxis: 'output' });
  const probe = isText(m) ? new Map([['ids', [1, 8]]]) : undefined;
  const { base, grown } = await growableShapes(m, probe);
  return permuteChannels(m, sel.chosen, base, grown);
}

async function expectSameFunction(a: Model, b: Model) {
  // Batch 3 and (text) sequence 11: not the batch-1, length-8 shapes the permutation was probed at.
  const feeds = syntheticInputs(a, { batch: 3, seed: 7, shapes: isText(a) ? new Map([['ids', [3, 11]]]) : undefined });
  await expectSameOutputs(a, b, feeds, { atol: 1e-5, rtol: 1e-5 });
}

describe.each(VARIANTS)('permutation of transformer-variants/%s', (file) => {
  it('keeps the fp32 function and permutes the MLP, attention and residual spaces', async () => {
    const { model: m } = loadModel(modelPath(`transformer-variants/${file}`));
    const { model: pm, report } = await permuted(m);
    await expectSameFunction(m, pm);
    const find = (re: RegExp) => report.find((r) => r.layers.some((l) => re.test(l)));
    expect(find(/fc1/)).toMatchObject({ permuted: true, structure: '32 channels, one pool' });
    expect(find(/fc2/)).toMatchObject({ permuted: true, structure: '16 channels, one pool' });
    const attention = find(/attn\/(qkv|q)\//)!;
    expect(attention.permuted).toBe(true);
    // Head dimensions move in pools (q with k), and whole heads move as blocks.
    expect(attention.structure).toMatch(/pools of \d+ channels, \d+ pools of \d+-channel blocks/);
    for (const r of report.filter((x) => x.permuted)) expect(r.similarityAfter!).toBeGreaterThan(r.similarityBefore!);
  });
});

describe.each(['vit-mnist.onnx', 'text-transformer.onnx'])('permutation of the trained fixture %s', (file) => {
  it('permutes every space at the defaults (λ = 4096) and keeps the fp32 function', async () => {
    const { model: m } = loadModel(modelPath(file));
    const sel = selectLayers(m, { p: 4, minParams: 4096 });
    const { base, grown } = await growableShapes(m);
    const { model: pm, report } = permuteChannels(m, sel.chosen, base, grown);
    expect(report.length).toBeGreaterThanOrEqual(5);
    expect(report.filter((r) => !r.permuted)).toEqual([]);
    await expectSameFunction(m, pm);
  });
});

describe('permutation through elementwise partners', () => {
  it("follows tf2onnx's LeakyRelu, Max(x, 0.2·x), between two layers", async () => {
    const rng = new Rng(3);
    const w = (n: string, d: number[]) => floatTensor(n, d, Float32Array.from({ length: d[0]! * d[1]! }, () => rng.normal()));
    const m = model(
      graph({
        nodes: [
          node('Gemm', ['x', 'w1'], ['h'], [attr.int('transB', 1)], { name: 'fc1' }),
          node('Mul', ['h', 'slope'], ['hs'], [], { name: 'scaled' }),
          node('Max', ['h', 'hs'], ['a'], [], { name: 'leaky' }),
          node('Gemm', ['a', 'w2'], ['y'], [attr.int('transB', 1)], { name: 'fc2' }),
        ],
        initializers: [w('w1', [64, 8]), w('w2', [4, 64]), tensor('slope', 'float32', [], Float32Array.of(0.2))],
        inputs: [valueInfo('x', 'float32', ['N', 8])],
        outputs: [valueInfo('y', 'float32', ['N', 4])],
      }),
    );
    const { model: pm, report } = await permuted(m);
    expect(report.find((r) => r.layers.includes('fc1'))).toMatchObject({ permuted: true, structure: '64 channels, one pool' });
    await expectSameFunction(m, pm);
  });

  it('refuses a reshape that folds channels into the batch axis', async () => {
    const rng = new Rng(5);
    const w = (n: string, d: number[]) => floatTensor(n, d, Float32Array.from({ length: d[0]! * d[1]! }, () => rng.normal()));
    const m = model(
      graph({
        nodes: [
          node('Gemm', ['x', 'w1'], ['h'], [attr.int('transB', 1)], { name: 'fc1' }),
          node('Reshape', ['h', 'halves'], ['r'], [], { name: 'fold' }),
          node('Gemm', ['r', 'w2'], ['y'], [attr.int('transB', 1)], { name: 'fc2' }),
        ],
        initializers: [w('w1', [64, 8]), w('w2', [4, 32]), tensor('halves', 'int64', [2], BigInt64Array.of(-1n, 32n))],
        inputs: [valueInfo('x', 'float32', ['N', 8])],
        outputs: [valueInfo('y', 'float32', ['M', 4])],
      }),
    );
    const { model: pm, report } = await permuted(m);
    const fc1 = report.find((r) => r.layers.includes('fc1'))!;
    expect(fc1.reason).toMatch(/dynamic \(batch or sequence\) axis/);
    // Whatever was permuted (fc1's halves may still move as blocks), the function is the same at batch 3.
    await expectSameFunction(m, pm);
  });

  it('tiles an embedding table; the function form equals the expanded one', async () => {
    const file = modelPath('transformer-variants/text-nofold-opset17-dynamic.onnx');
    const opts = { p: 4, minParams: 1000 };
    const custom = compressInMemory(file, 'custom', opts);
    const expanded = compressInMemory(file, 'expanded', opts);
    expect(custom.tiled.map((t) => t.layer.op)).toContain('Gather');
    const feeds = syntheticInputs(custom.original, { batch: 2, seed: 4, shapes: new Map([['ids', [2, 9]]]) });
    const [a, b] = [await runOnce(custom.model, feeds), await runOnce(expanded.model, feeds)];
    expect(a.logits!.data as Float32Array).toBeAllclose(b.logits!.data as Float32Array, { atol: 1e-5, rtol: 1e-5 });
  });
});
