// float16 storage of float32 parameters (src/ir/float16-storage.ts): onnxruntime computes what
// the original model computes with each stored tensor rounded to float16, and nothing else moves.
import { describe, expect, it } from 'vitest';
import { attr, graph, model, node, tensor, valueInfo } from '../../../src/ir/build.js';
import { floatToHalf, halfToFloat } from '../../../src/ir/dtype.js';
import { storeFloat16 } from '../../../src/ir/float16-storage.js';
import { validateModel } from '../../../src/ir/graph.js';
import type { Model, OnnxTensor } from '../../../src/ir/types.js';
import { loadModel } from '../../../src/onnx/file.js';
import { syntheticInputs } from '../../../src/data/synthetic.js';
import { modelPath } from '../../helpers/fixtures.js';
import { expectSameOutputs, runOnce } from '../../helpers/ort.js';

const values = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
const wave = (n: number, scale: number) => values(n, (i) => scale * Math.sin(1.3 * i + 0.4));

/**
 * x [2, 32] · W + bias + a Constant, then an If whose branch reads W2 from the outer scope;
 * beside it tensors float16 cannot hold (large, tiny next to their largest), a scalar, an
 * initializer a caller may feed, and one the caller asks to keep exact.
 */
function sample(): Model {
  const branch = (tag: string, reads: string) =>
    graph({ name: tag, nodes: [node('Mul', ['h', reads], [`${tag}_out`])], inputs: [], outputs: [valueInfo(`${tag}_out`, 'float32', [2, 16])] });
  return model(
    graph({
      name: 'sample',
      nodes: [
        node('MatMul', ['x', 'W'], ['xw'], [], { name: 'matmul' }),
        node('Add', ['xw', 'bias'], ['b'], [], { name: 'add_bias' }),
        node('Constant', [], ['c'], [attr.tensor('value', tensor('', 'float32', [16], wave(16, 0.5)))], { name: 'const' }),
        node('Add', ['b', 'c'], ['bc'], [], { name: 'add_const' }),
        node('Mul', ['bc', 'large'], ['l'], [], { name: 'mul_large' }),
        node('Mul', ['l', 'inverse'], ['li'], [], { name: 'mul_inverse' }),
        node('Add', ['li', 'tiny'], ['t'], [], { name: 'add_tiny' }),
        node('Add', ['t', 'fed'], ['f'], [], { name: 'add_fed' }),
        node('Add', ['f', 'exact'], ['h'], [], { name: 'add_exact' }),
        node('ReduceSum', ['x'], ['s'], [attr.int('keepdims', 0)], { name: 'sum' }),
        node('Greater', ['s', 'zero'], ['g'], [], { name: 'greater' }),
        node('If', ['g'], ['y'], [attr.graph('then_branch', branch('then', 'W2')), attr.graph('else_branch', branch('else', 'bias'))], { name: 'if' }),
      ],
      initializers: [
        tensor('W', 'float32', [32, 16], wave(512, 0.3)),
        tensor('bias', 'float32', [16], wave(16, 2)),
        tensor('W2', 'float32', [16], wave(16, 1.5)),
        tensor('large', 'float32', [16], values(16, (i) => 1e5 + i)),
        tensor('inverse', 'float32', [], Float32Array.of(1e-5)),
        tensor('tiny', 'float32', [16], values(16, (i) => 1e-6 * (i + 1))),
        tensor('fed', 'float32', [16], wave(16, 0.1)),
        tensor('exact', 'float32', [16], wave(16, 0.7)),
        tensor('zero', 'float32', [], Float32Array.of(0)),
      ],
      inputs: [valueInfo('x', 'float32', [2, 32]), valueInfo('fed', 'float32', [16])],
      outputs: [valueInfo('y', 'float32', [2, 16])],
    }),
    { opset: 17 },
  );
}

/** Every field of a model, typed arrays included, as text: what "not modified" compares. */
const snapshot = (m: Model) => JSON.stringify(m, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : typeof v === 'bigint' ? String(v) : v));

/** The model with the named tensors' values rounded to float16 and kept in float32. */
function roundedInPlace(m: Model, names: string[]): Model {
  const round = (t: OnnxTensor): OnnxTensor => ({ ...t, data: Float32Array.from(t.data as Float32Array, (v) => halfToFloat(floatToHalf(v))) });
  const g = m.graph;
  return {
    ...m,
    graph: {
      ...g,
      initializers: g.initializers.map((t) => (names.includes(t.name!) ? round(t) : t)),
      nodes: g.nodes.map((n) => (n.opType === 'Constant' && names.includes(n.outputs[0]!) ? { ...n, attributes: n.attributes.map((a) => (a.t ? { ...a, t: round(a.t) } : a)) } : n)),
    },
  };
}

describe('storeFloat16', () => {
  it('stores parameters as float16 behind a Cast; onnxruntime computes the rounded model exactly', async () => {
    const original = sample();
    const before = snapshot(original);
    const { model: half, stored, kept, bytesSaved } = storeFloat16(original, new Set(['exact']));
    expect(stored.sort()).toEqual(['W', 'W2', 'bias', 'c']);
    expect(bytesSaved).toBe(2 * (512 + 16 + 16 + 16));
    expect(kept.map((k) => k.name)).toEqual(['large', 'tiny']);
    expect(kept[0]!.reason).toMatch(/beyond float16's 65504/);
    expect(kept[1]!.reason).toMatch(/small values/);
    validateModel(half);
    const dtypes = new Map(half.graph.initializers.map((t) => [t.name, t.dtype]));
    expect(dtypes.get('W_fp16')).toBe('float16');
    for (const name of ['large', 'tiny', 'inverse', 'fed', 'exact', 'zero']) expect(dtypes.get(name)).toBe('float32');
    // Readers keep their inputs: the Cast gives back the old name.
    expect(half.graph.nodes.filter((n) => n.opType === 'Cast').map((n) => n.outputs[0]).sort()).toEqual(['W', 'W2', 'bias', 'c']);
    expect(half.graph.nodes.find((n) => n.name === 'matmul')!.inputs).toEqual(['x', 'W']);
    expect(snapshot(original)).toBe(before);

    for (const sign of [1, -1]) {
      const feeds = syntheticInputs(original, { batch: 2, seed: 3 });
      const x = feeds.x!.data as Float32Array;
      x.set(x.map((v) => sign * Math.abs(v)));
      await expectSameOutputs(roundedInPlace(original, stored), half, feeds, { atol: 1e-6, rtol: 1e-6 });
      const [a, b] = [await runOnce(original, feeds), await runOnce(half, feeds)];
      expect(b.y!.data as Float32Array).not.toEqual(a.y!.data as Float32Array);
    }
  });

  it('keeps a model with nothing to store as it was', () => {
    const m = sample();
    const { model: same, stored } = storeFloat16(m, new Set(['W', 'bias', 'W2', 'c', 'exact']));
    expect(stored).toEqual([]);
    expect(same.graph.nodes).toEqual(m.graph.nodes);
    expect(same.graph.initializers).toEqual(m.graph.initializers);
  });

  it.each(['vit-mnist.onnx', 'text-transformer.onnx', 'mnist-lstm.onnx', 'tf-style-opset11.onnx'])('%s: the same outputs within float16 rounding', async (file) => {
    const m = loadModel(modelPath(file)).model;
    const { model: half, stored } = storeFloat16(m, new Set());
    expect(stored.length).toBeGreaterThan(0);
    validateModel(half);
    const feeds = syntheticInputs(m, { batch: 2, seed: 1 });
    await expectSameOutputs(roundedInPlace(m, stored), half, feeds, { atol: 1e-5, rtol: 1e-5 });
    await expectSameOutputs(m, half, feeds, { atol: 2e-2, rtol: 2e-2 });
  });
});
