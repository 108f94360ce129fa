// The fused epilogue in the kernels: folded models (every pattern of the fold tests, and the
// fixtures, channels-last ones included) give, on every kernel path and with 1 and 2 threads,
// what the unfolded model's ONNX functions give; a version-1 file (no epilogue, ai.tbn 1) still
// loads and runs; malformed epilogue inputs and attributes are clean onnxruntime errors; float16
// and bfloat16 models (epilogue inputs in that type, converted by the kernels) follow the
// float32 kernels on the same values within a few of their ulps.
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { attr, floatTensor } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { createCustomOpSession } from '../../src/runtime/custom-ops.js';
import { fuseEpilogues } from '../../src/tbn/fuse-epilogue.js';
import { TBN_DOMAIN } from '../../src/tbn/format.js';
import { tbnFunction } from '../../src/tbn/functions.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { EPILOGUE_CASES } from '../helpers/epilogue-models.js';
import { TORCH_MODELS, modelPath } from '../helpers/fixtures.js';
import { exactFloat32, narrowFeeds, narrowModel } from '../helpers/narrow.js';
import { widenToFloat32 } from '../../src/util/host-tensor.js';
import { KERNEL_PATHS, expectClose, nativeReason, runFunctionForm, runKernels, skipNative } from './helpers.js';

const FIXTURES = [...TORCH_MODELS, 'convnet.onnx', 'convnet-nhwc.onnx'];
const cases: [string, () => Model | string, number][] = [
  ...EPILOGUE_CASES.map((c): [string, () => Model, number] => [c.name, c.model, 2]),
  ...FIXTURES.map((f): [string, () => string, number] => [f, () => modelPath(f), 4]),
];

describe.skipIf(skipNative)(`ai.tbn kernels with the fused epilogue${nativeReason}`, () => {
  it.each(cases)('%s: every path, 1 and 2 threads, equals the unfolded functions', async (_name, source, p) => {
    const base = compressInMemory(source(), 'custom', { p, minParams: 0 });
    const { model, report } = await fuseEpilogues(base.model);
    expect(report.length).toBeGreaterThan(0);
    // channels-last convs: also as TbnConvNhwc nodes (the fold's channelsLastOp), whose kernels transpose inside
    const nhwc = (await fuseEpilogues(base.model, { channelsLastOp: true })).model;
    const forms = [model, ...(nhwc.graph.nodes.some((n) => n.opType === 'TbnConvNhwc') ? [nhwc] : [])].map(toBytes);
    for (const batch of [1, 3]) {
      const feeds = syntheticInputs(base.original, { batch, seed: batch });
      const want = await runFunctionForm(base.bytes, feeds);
      for (const bytes of forms) {
        for (const path of KERNEL_PATHS) expectClose(await runKernels(bytes, feeds, path), want);
        expectClose(await runKernels(bytes, feeds, KERNEL_PATHS.at(-1)!, 2), want);
      }
    }
  });

  it.each(['float16', 'bfloat16'] as const)('%s: every folded pattern on every path follows the unfolded float32 kernels on the same values', async (dtype) => {
    let checked = 0;
    for (const c of EPILOGUE_CASES) {
      const wide = compressInMemory(exactFloat32(c.model(), dtype), 'custom', { p: 2, minParams: 0 });
      // float16: the fold of the float16 model. bfloat16: stock onnxruntime runs no bfloat16
      // Conv/Gemm/MatMul, so shapes cannot be probed and leftover nodes cannot run: the float32
      // fold, narrowed, where it folded everything.
      const folded =
        dtype === 'float16'
          ? (await fuseEpilogues(compressInMemory(narrowModel(c.model(), dtype), 'custom', { p: 2, minParams: 0 }).model, { channelsLastOp: true })).model
          : narrowModel((await fuseEpilogues(wide.model, { channelsLastOp: true })).model, dtype);
      if (!folded.graph.nodes.every((n) => n.domain === TBN_DOMAIN || dtype === 'float16')) continue;
      checked++;
      const feeds = narrowFeeds(syntheticInputs(c.model(), { batch: 2, seed: 3 }), dtype);
      const want = await runKernels(wide.bytes, feeds.exact, 'portable');
      for (const path of KERNEL_PATHS) {
        const got = await runKernels(toBytes(folded), feeds.narrow, path);
        for (const k of Object.keys(want)) {
          expect(got[k]!.dtype).toBe(dtype);
          const [g, w] = [widenToFloat32(got[k]!).data as Float32Array, want[k]!.data as Float32Array];
          const scale = Math.max(...Array.from(w, Math.abs));
          // Each layer's output (and folded constant) is rounded to the narrow type: a few of its ulps.
          expect(g, `${c.name} ${k} ${path}`).toBeAllclose(w, { atol: (dtype === 'float16' ? 4e-3 : 3e-2) * scale, rtol: 0 });
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(dtype === 'float16' ? EPILOGUE_CASES.length : 3); // bfloat16: residual convs (NCHW, NHWC), Clip, x·Sigmoid
  });

  it('a version-1 file (ai.tbn 1, no epilogue) runs as before', async () => {
    const base = compressInMemory(modelPath('mnist-cnn.onnx'), 'custom', { p: 4 });
    const opset = Number(base.model.opsetImports.find((o) => !o.domain)!.version);
    const v1: Model = {
      ...base.model,
      opsetImports: base.model.opsetImports.map((o) => (o.domain === TBN_DOMAIN ? { ...o, version: 1 } : o)),
      functions: base.model.functions.map((f) => (f.domain === TBN_DOMAIN ? tbnFunction(f.name as 'TbnConv', opset) : f)),
    };
    const feeds = syntheticInputs(base.original, { batch: 2, seed: 1 });
    const want = await runFunctionForm(base.bytes, feeds);
    for (const path of KERNEL_PATHS) expectClose(await runKernels(toBytes(v1), feeds, path), want);
  });

  it('refuses malformed epilogues with a message naming the problem', async () => {
    const base = compressInMemory(EPILOGUE_CASES[0]!.model(), 'custom', { p: 2, minParams: 0 });
    const { model } = await fuseEpilogues(base.model);
    const first = model.graph.nodes.find((n) => n.opType === 'TbnConv')!;
    const edit = (f: (m: Model) => Model) => toBytes(f(model));
    const withAttrs = (extra: ReturnType<typeof attr.int>[]) =>
      edit((m) => ({ ...m, graph: { ...m.graph, nodes: m.graph.nodes.map((n) => (n === first ? { ...n, attributes: [...n.attributes.filter((a) => !extra.some((e) => e.name === a.name)), ...extra] } : n)) } }));
    const scaleName = first.inputs[4]!;
    const badScale = edit((m) => ({ ...m, graph: { ...m.graph, initializers: m.graph.initializers.map((t) => (t.name === scaleName ? floatTensor(scaleName, [3], new Float32Array(3)) : t)) } }));
    const feeds = syntheticInputs(base.original, { batch: 1, seed: 0 });
    const run = async (bytes: Uint8Array) => {
      const s = await createCustomOpSession(bytes);
      try {
        await s.run(feeds);
      } finally {
        await s.release();
      }
    };
    await expect(run(withAttrs([attr.int('activation', 42)]))).rejects.toThrow(/activation = 42 is not one of/);
    await expect(run(withAttrs([attr.int('activation', 3), attr.float('activation_alpha', 6), attr.float('activation_beta', 0)]))).rejects.toThrow(/Clip needs activation_alpha \(min\) ≤ activation_beta/);
    await expect(run(badScale)).rejects.toThrow(/scale \[3\] must be \[8\] or one value/);
  });
});
