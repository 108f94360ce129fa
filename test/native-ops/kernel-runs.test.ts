// The registered kernels run, not the ONNX function fallback: with every function body altered
// to triple its result, stock onnxruntime gives the altered answer while the custom-op session
// still gives the true one; TBN_KERNEL reaches the kernels; and bits/scales fed as graph inputs
// (not constants, so the plan is built per run) give the same answer.
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { attr, node, tensor, valueInfo } from '../../src/ir/build.js';
import type { FunctionDef, Model } from '../../src/ir/types.js';
import { createCustomOpSession } from '../../src/runtime/custom-ops.js';
import { TBN_DOMAIN } from '../../src/tbn/format.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { modelPath } from '../helpers/fixtures.js';
import { KERNEL_PATHS, expectClose, nativeReason, runFunctionForm, runKernels, skipNative } from './helpers.js';

/** The function with its result multiplied by 3 (the body's last output is renamed). */
function tripled(f: FunctionDef): FunctionDef {
  const out = f.outputs[0]!;
  const nodes = f.nodes.map((n) => ({ ...n, outputs: n.outputs.map((o) => (o === out ? `${out}_body` : o)) }));
  const three = node('Constant', [], ['tbn_three'], [attr.tensor('value', tensor(undefined, 'float32', [], Float32Array.of(3)))]);
  return { ...f, nodes: [...nodes, three, node('Mul', [`${out}_body`, 'tbn_three'], [out])] };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe.skipIf(skipNative)(`the registered ai.tbn kernels run${nativeReason}`, () => {
  const models = ['mnist-cnn.onnx', 'transformer-encoder.onnx'];

  it.each(models)('%s: altered function bodies change stock onnxruntime, not the kernels', async (name) => {
    const c = compressInMemory(modelPath(name), 'custom', { p: 4 });
    const altered: Model = { ...c.model, functions: c.model.functions.map((f) => (f.domain === TBN_DOMAIN ? tripled(f) : f)) };
    const bytes = toBytes(altered);
    const feeds = syntheticInputs(c.original, { batch: 2, seed: 3 });
    const truth = await runFunctionForm(c.bytes, feeds);
    const fallback = await runFunctionForm(bytes, feeds);
    const out = Object.keys(truth)[0]!;
    expect(maxAbsDiff(fallback[out]!.data as Float32Array, truth[out]!.data as Float32Array)).toBeGreaterThan(1e-2);
    for (const path of KERNEL_PATHS) expectClose(await runKernels(bytes, feeds, path), truth);
  });

  it('TBN_KERNEL is read by the kernels', async () => {
    const c = compressInMemory(modelPath('mnist-mlp.onnx'), 'custom', { p: 4 });
    process.env.TBN_KERNEL = 'sse9';
    try {
      await expect(createCustomOpSession(c.bytes)).rejects.toThrow(/TBN_KERNEL=sse9 is not portable, avx2 or avx512/);
    } finally {
      delete process.env.TBN_KERNEL;
    }
  });

  it('bits and scales fed at run time give the same answer', async () => {
    const c = compressInMemory(modelPath('mnist-mlp.onnx'), 'custom', { p: 4, tileAxis: 'input' });
    const g = c.model.graph;
    const moved = g.initializers.filter((t) => t.name?.includes('_tbn_'));
    expect(moved.length).toBeGreaterThan(0);
    const fed: Model = {
      ...c.model,
      graph: {
        ...g,
        initializers: g.initializers.filter((t) => !moved.includes(t)),
        inputs: [...g.inputs, ...moved.map((t) => valueInfo(t.name!, t.dtype, t.dims))],
      },
    };
    const feeds = syntheticInputs(c.original, { batch: 3, seed: 9 });
    const all = { ...feeds, ...Object.fromEntries(moved.map((t) => [t.name!, { dtype: t.dtype, dims: t.dims, data: t.data as Float32Array }])) };
    const want = await runFunctionForm(c.bytes, feeds);
    for (const path of KERNEL_PATHS) expectClose(await runKernels(toBytes(fed), all, path), want);
  });
});
