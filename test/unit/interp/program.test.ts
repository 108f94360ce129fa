// The interpreter's behaviour beyond matching onnxruntime: one-line reports of every
// unsupported node, opset-dependent semantics, folding and the shape-only cache, trainable
// weights, the setProducer hook (incl. a TBN-style straight-through weight), captures,
// batch-statistics BatchNorm, feed checks, and freeing everything a run made.

import { describe, expect, it } from 'vitest';
import * as E from '../../../src/engine/index.js';
import { UserError } from '../../../src/errors.js';
import { compile } from '../../../src/interp/index.js';
import { attr, floatTensor, graph, int64Tensor, model, node, valueInfo } from '../../../src/ir/build.js';
import { arr, fixture, randn } from './helpers.js';

const live = () => E.getBackend().stats().buffers;

describe('support check', () => {
  it('reports every unsupported node in one line before any work', () => {
    const g = graph({
      nodes: [
        node('Foo', ['x'], ['a'], [], { name: 'foo' }),
        node('Bar', ['a'], ['b'], [], { name: 'b1', domain: 'com.microsoft' }),
        node('Bar', ['b'], ['c'], [], { name: 'b2', domain: 'com.microsoft' }),
        node('Conv', ['c', 'w'], ['d'], [attr.string('auto_pad', 'WEIRD')], { name: 'conv' }),
        node('LayerNormalization', ['d', 's'], ['y'], [], { name: 'ln' }),
      ],
      initializers: [floatTensor('w', [1, 1, 1, 1], [1]), floatTensor('s', [1], [1])],
      inputs: [valueInfo('x', 'float32', [1, 1, 2, 2])],
      outputs: [valueInfo('y', 'float32')],
    });
    const m = model(g, { opset: 13, extraOpsets: [{ domain: 'com.microsoft', version: 1 }] });
    let err: unknown;
    try {
      compile(m);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    expect(msg).toContain("Foo (ai.onnx opset 13) at node 'foo'");
    expect(msg).toContain("Bar (com.microsoft opset 1) at nodes 'b1', 'b2'");
    expect(msg).toContain("Conv (ai.onnx opset 13: auto_pad='WEIRD') at node 'conv'");
    expect(msg).toContain("LayerNormalization (ai.onnx opset 13: not in opset 13) at node 'ln'");
  });
});

/** A one-node model over input x [2, 3, 4]. */
function one(op: string, opset: number, extra: { inputs?: string[]; attrs?: ReturnType<typeof attr.int>[]; inits?: ReturnType<typeof floatTensor>[]; outputs?: string[] } = {}) {
  const outs = extra.outputs ?? ['y'];
  const g = graph({
    nodes: [node(op, ['x', ...(extra.inputs ?? [])], outs, extra.attrs ?? [], { name: 'n' })],
    initializers: extra.inits ?? [],
    inputs: [valueInfo('x', 'float32', [2, 3, 4])],
    outputs: outs.map((o) => valueInfo(o, 'float32')),
  });
  const p = compile(model(g, { opset }));
  const x = E.tensor(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 2), [2, 3, 4]);
  const { outputs } = E.noGrad(() => p.run({ x }));
  const res = outs.map((o) => ({ shape: [...outputs[o]!.shape], data: arr(outputs[o]!) }));
  p.dispose();
  return res;
}

describe('opset-dependent semantics', () => {
  it('Softmax: 2-D coercion before opset 13, one axis from 13', () => {
    const [old] = one('Softmax', 11, { attrs: [attr.int('axis', 1)] });
    const [now] = one('Softmax', 13, { attrs: [attr.int('axis', 1)] });
    const sumOver = (d: number[], idx: (b: number, j: number) => number, n: number) => [0, 1].map((b) => Array.from({ length: n }, (_, j) => d[idx(b, j)]!).reduce((p, q) => p + q, 0));
    expect(sumOver(old!.data, (b, j) => b * 12 + j, 12)).toBeAllclose([1, 1]);
    const perColumn = [0, 1].flatMap((b) => [0, 1, 2, 3].map((k) => now!.data[b * 12 + k]! + now!.data[b * 12 + 4 + k]! + now!.data[b * 12 + 8 + k]!));
    expect(perColumn).toBeAllclose(new Array(8).fill(1));
  });
  it('ReduceSum: axes attribute (opset 11) and axes input (opset 13) agree; empty axes + noop', () => {
    const [a] = one('ReduceSum', 11, { attrs: [attr.ints('axes', [1]), attr.int('keepdims', 0)] });
    const [b] = one('ReduceSum', 13, { inputs: ['axes'], inits: [int64Tensor('axes', [1], [1])], attrs: [attr.int('keepdims', 0)] });
    expect(a!.shape).toEqual([2, 4]);
    expect(b!.data).toBeAllclose(a!.data);
    const [c] = one('ReduceSum', 13, { inputs: ['axes'], inits: [int64Tensor('axes', [0], [])], attrs: [attr.int('noop_with_empty_axes', 1)] });
    expect(c!.shape).toEqual([2, 3, 4]);
  });
  it('Split: attribute (11), input (13), num_outputs (18)', () => {
    const a = one('Split', 11, { attrs: [attr.int('axis', 2), attr.ints('split', [1, 3])], outputs: ['p', 'q'] });
    const b = one('Split', 13, { inputs: ['s'], inits: [int64Tensor('s', [2], [1, 3])], attrs: [attr.int('axis', 2)], outputs: ['p', 'q'] });
    const c = one('Split', 18, { attrs: [attr.int('axis', 1), attr.int('num_outputs', 2)], outputs: ['p', 'q'] });
    expect(a.map((r) => r.shape)).toEqual([[2, 3, 1], [2, 3, 3]]);
    expect(b[1]!.data).toBeAllclose(a[1]!.data);
    expect(c.map((r) => r.shape)).toEqual([[2, 2, 4], [2, 1, 4]]);
  });
  it('Slice: attributes (opset 9) and inputs (10+), negative steps and huge ends', () => {
    const [a] = one('Slice', 9, { attrs: [attr.ints('starts', [1]), attr.ints('ends', [1000]), attr.ints('axes', [2])] });
    const [b] = one('Slice', 13, { inputs: ['st', 'en', 'ax', 'sp'], inits: [int64Tensor('st', [1], [-1]), int64Tensor('en', [1], [-9223372036854775807n]), int64Tensor('ax', [1], [2]), int64Tensor('sp', [1], [-2])] });
    expect(a!.shape).toEqual([2, 3, 3]);
    expect(b!.shape).toEqual([2, 3, 2]);
    const x = Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i) * 2));
    expect(b!.data).toBeAllclose([0, 1, 2, 3, 4, 5].flatMap((r) => [x[r * 4 + 3]!, x[r * 4 + 1]!]));
  });
  it('Unsqueeze: axes attribute (11) and input (13)', () => {
    expect(one('Unsqueeze', 11, { attrs: [attr.ints('axes', [0, 3])] })[0]!.shape).toEqual([1, 2, 3, 1, 4]);
    expect(one('Unsqueeze', 13, { inputs: ['a'], inits: [int64Tensor('a', [2], [0, -1])] })[0]!.shape).toEqual([1, 2, 3, 4, 1]);
  });
});

describe('planning', () => {
  it('folds Constant chains and caches the Shape → Gather → Concat → Reshape chain per input shape', () => {
    const { program } = fixture('mnist-mlp.onnx');
    const info = program.planInfo();
    expect(info.folded).toBe(3); // the three Constant nodes
    expect(info.shapeOnly.sort()).toEqual(['/Concat', '/Gather', '/Shape', '/Unsqueeze']);
    const x = (n: number) => randn([n, 1, 28, 28]);
    const run = (n: number) => E.noGrad(() => E.tidy(() => program.run({ input: x(n) }).stepsRun));
    expect(run(2)).toBe(10); // 13 nodes − 3 folded
    expect(run(2)).toBe(6); // Shape, Gather, Unsqueeze, Concat came from the cache
    expect(run(7)).toBe(10);
    expect(program.planInfo().cachedShapes).toBe(2);
    program.dispose();
  });
  it('folds a Transpose of a Constant weight unless the weight is trainable', () => {
    const { program } = fixture('tf-style-opset11.onnx');
    expect(program.planInfo().dynamic).not.toContain('dense/Transpose');
    program.setTrainable(['dense/kernel']);
    expect(program.planInfo().dynamic).toContain('dense/Transpose');
    program.dispose();
  });
});

describe('training hooks', () => {
  const lossOf = (y: E.Tensor, w: E.Tensor) => E.sum(E.mul(y, w));

  it('trainable weights get gradients: dL/dbias = Σ_batch dL/dlogits, dL/dW = gᵀ·h', () => {
    const { program } = fixture('mnist-mlp.onnx');
    program.setTrainable(['fc3.weight', 'fc3.bias']);
    const [W, b] = ['fc3.weight', 'fc3.bias'].map((k) => program.parameters().get(k)!);
    const g = randn([4, 10], 5);
    const h = E.tidy(() => {
      const r = program.run({ input: randn([4, 1, 28, 28], 2) }, { capture: ['/Relu_1_output_0'] });
      E.backward(lossOf(r.outputs.logits!, g));
      return E.keep(r.values['/Relu_1_output_0']!);
    });
    const gs = arr(g);
    expect(arr(b!.grad!)).toBeAllclose([...Array(10)].map((_, j) => gs[j]! + gs[10 + j]! + gs[20 + j]! + gs[30 + j]!), { atol: 1e-5 });
    expect(arr(W!.grad!)).toBeAllclose(arr(E.mm(g, h, true, false)), { atol: 1e-4 });
    expect(W!.grad!.shape).toEqual([10, 256]);
    program.dispose();
  });

  it('setProducer: a producer returning a parameter trains it exactly like setTrainable', () => {
    const feeds = { input: randn([3, 1, 28, 28], 3) };
    const g = randn([3, 10], 4);
    const a = fixture('mnist-mlp.onnx').program;
    a.setTrainable(['fc2.weight']);
    E.tidy(() => E.backward(lossOf(a.run(feeds).outputs.logits!, g)));
    const b = fixture('mnist-mlp.onnx').program;
    const P = E.keep(E.parameter(b.constantValue('fc2.weight').toArray(), [256, 256]));
    b.setProducer('fc2.weight', () => P);
    E.tidy(() => E.backward(lossOf(b.run(feeds).outputs.logits!, g)));
    expect(arr(P.grad!)).toBeAllclose(arr(a.parameters().get('fc2.weight')!.grad!), { atol: 1e-5 });
    a.dispose();
    b.dispose();
  });

  it('setProducer: a TBN-style weight α·sign(W) with a straight-through gradient to W', () => {
    const { program } = fixture('mnist-mlp.onnx');
    const W = E.keep(E.parameter(program.constantValue('fc1.weight').toArray(), [256, 784]));
    const alpha = E.noGrad(() => E.mean(E.abs(W))).item();
    // Forward: α·sign(W); backward: identity onto W (W + stopgrad(α·sign(W) − W)).
    program.setProducer('fc1.weight', () => E.add(W, E.noGrad(() => E.sub(E.affine(E.sign(W), alpha, 0), W))));
    const g = randn([2, 10], 6);
    const seen = E.tidy(() => {
      const r = program.run({ input: randn([2, 1, 28, 28], 7) }, { capture: ['fc1.weight'] });
      E.backward(lossOf(r.outputs.logits!, g));
      return E.keep(r.values['fc1.weight']!);
    });
    // W + (α·sign(W) − W) is α·sign(W) up to float32 rounding.
    expect(arr(seen).map((v) => Math.abs(v))).toBeAllclose(new Array(seen.size).fill(alpha), { rtol: 1e-6, atol: 0 });
    // The same gradient reaches W as reaches the weight itself when it is trained directly.
    const direct = fixture('mnist-mlp.onnx').program;
    const Wb = E.keep(E.parameter(seen.toArray(), seen.shape));
    direct.setProducer('fc1.weight', () => Wb);
    E.tidy(() => E.backward(lossOf(direct.run({ input: randn([2, 1, 28, 28], 7) }).outputs.logits!, g)));
    expect(arr(W.grad!)).toBeAllclose(arr(Wb.grad!), { atol: 1e-6 });
    program.dispose();
    direct.dispose();
  });

  it('setProducer on a Constant weight or on its Transpose gives the same model', () => {
    const x = { x: randn([3, 32], 8) };
    const a = fixture('tf-style-opset11.onnx').program;
    a.setProducer('dense/kernel', (w) => E.affine(w, 2, 0));
    const b = fixture('tf-style-opset11.onnx').program;
    b.setProducer('dense/kernel/T', (w) => E.affine(w, 2, 0));
    const c = fixture('tf-style-opset11.onnx').program;
    const ya = a.runHost(x).logits!.data as Float32Array;
    expect(ya).toBeAllclose(b.runHost(x).logits!.data as Float32Array, { atol: 1e-6 });
    expect(ya).not.toBeAllclose(c.runHost(x).logits!.data as Float32Array, { atol: 1e-3 });
    [a, b, c].forEach((p) => p.dispose());
  });

  it('a producer for one reading node leaves the other readers alone', () => {
    const g = graph({
      nodes: [node('MatMul', ['x', 'w'], ['y1'], [], { name: 'mm1' }), node('MatMul', ['x', 'w'], ['y2'], [], { name: 'mm2' })],
      initializers: [floatTensor('w', [2, 2], [1, 2, 3, 4])],
      inputs: [valueInfo('x', 'float32', ['N', 2])],
      outputs: [valueInfo('y1', 'float32'), valueInfo('y2', 'float32')],
    });
    const p = compile(model(g));
    p.setProducer('w', (w) => E.neg(w), { node: 'mm2' });
    const out = p.runHost({ x: { dtype: 'float32', dims: [1, 2], data: Float32Array.from([1, 1]) } });
    expect(Array.from(out.y1!.data as Float32Array)).toEqual([4, 6]);
    expect(Array.from(out.y2!.data as Float32Array)).toEqual([-4, -6]);
    expect(() => p.setProducer('y1', (w) => w)).toThrow(UserError);
    expect(() => p.setProducer('w', (w) => w, { node: 'nobody' })).toThrow(/no node 'nobody' reads 'w'/);
    p.setProducer('w', () => E.zeros([3]));
    expect(() => p.runHost({ x: { dtype: 'float32', dims: [1, 2], data: Float32Array.from([1, 1]) } })).toThrow(/producer of 'w' gave float32\[3\]/);
    p.dispose();
  });
});

describe('BatchNormalization on batch statistics', () => {
  it('normalises with, and reports, each channel’s batch mean and biased variance', () => {
    const { program } = fixture('mnist-cnn.onnx');
    const bn = '/features/features.1/features.1.1/BatchNormalization';
    const convOut = '/features/features.1/features.1.0/Conv_output_0';
    const x = randn([4, 1, 28, 28], 9);
    const r = E.noGrad(() => program.run({ input: x }, { batchStats: true, capture: [convOut] }));
    const stats = r.batchStats.get(bn)!;
    expect(r.batchStats.size).toBe(3);
    const c = r.values[convOut]!;
    expect(stats.count).toBe(4 * 14 * 14);
    expect(stats.mean).toBeAllclose(arr(E.mean(c, [0, 2, 3])), { atol: 1e-5 });
    const centred = E.sub(c, E.reshape(E.mean(c, [0, 2, 3]), [1, 64, 1, 1]));
    expect(stats.var).toBeAllclose(arr(E.mean(E.mul(centred, centred), [0, 2, 3])), { rtol: 1e-4, atol: 1e-6 });
    const running = E.noGrad(() => program.run({ input: x }).outputs.logits!);
    expect(arr(running)).not.toBeAllclose(arr(r.outputs.logits!), { atol: 1e-3 });
    program.dispose();
  });
});

describe('feeds', () => {
  it('names missing, unknown and mis-shaped inputs', () => {
    const { program } = fixture('mnist-cnn.onnx');
    expect(() => program.run({})).toThrow(/missing input 'input'/);
    expect(() => program.run({ input: randn([1, 1, 28, 28]), extra: randn([1]) })).toThrow(/unknown input 'extra'/);
    expect(() => program.run({ input: randn([1, 1, 27, 28]) })).toThrow(/input 'input' has shape \[1,1,27,28\], the model expects \[\?,1,28,28\]/);
    expect(() => program.run({ input: { dtype: 'int64', dims: [1, 1, 28, 28], data: new BigInt64Array(784) } })).toThrow(/input 'input' is int64, the model expects float32/);
    program.dispose();
  });
});

describe('lifetimes', () => {
  it('a run frees everything it made: after backward, and when its graph is dropped unused', () => {
    const { program } = fixture('mnist-cnn.onnx');
    program.setTrainable(['head.3.weight', 'features.0.0.weight']);
    const x = randn([2, 1, 28, 28], 10);
    const base = live();
    E.tidy(() => E.backward(E.sum(program.run({ input: x }).outputs.logits!)));
    for (const p of program.parameters().values()) p.grad?.dispose();
    expect(live()).toBe(base);
    E.tidy(() => program.run({ input: x }).outputs.logits!.shape);
    expect(live()).toBe(base);
    program.dispose();
  });
});
