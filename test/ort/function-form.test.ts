// The compressed model's ONNX functions (stock onnxruntime, no custom-op library) give the
// same outputs as the expanded form, whose weights are exactly the TypeScript decode of the
// tiles; onnx.checker (full_check) accepts the custom form.
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import { decodeTile } from '../../src/tbn/tile.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { TORCH_MODELS, modelPath } from '../helpers/fixtures.js';
import { coverageModel, hasPythonOnnx, onnxChecker } from '../helpers/models.js';

async function outputs(bytes: Uint8Array, feeds: ReturnType<typeof syntheticInputs>) {
  const s = await createOrtSession(bytes, { threads: 1 });
  const r = await s.run(feeds);
  await s.release();
  return r;
}

const cases: [string, () => Parameters<typeof compressInMemory>[0], Parameters<typeof compressInMemory>[2]][] = [
  ...TORCH_MODELS.map((m) => [m, () => modelPath(m), { p: 4 }] as [string, () => string, { p: number }]),
  ['mnist-mlp.onnx p=8 per input axis', () => modelPath('mnist-mlp.onnx'), { p: 8, tileAxis: 'input' }],
  ['coverage p=2', coverageModel, { p: 2 }],
  ['coverage p=4 tile_axis 1', coverageModel, { p: 4, tileAxis: 'input' }],
  ['opset18-conv.onnx', () => modelPath('opset18-conv.onnx'), { p: 4 }],
];

describe.each(cases)('function form of %s', (_name, source, opts) => {
  it('equals the expanded form, whose weights are the TypeScript decode of the tiles', async () => {
    const custom = compressInMemory(source(), 'custom', opts);
    const expanded = compressInMemory(source(), 'expanded', opts);
    expect(custom.tiled.length).toBeGreaterThan(0);
    for (const t of expanded.tiled) {
      const w = expanded.model.graph.initializers.find((i) => i.name === `${t.layer.source.name}_tbn`)!;
      expect(Array.from(w.data as Float32Array)).toEqual(Array.from(decodeTile(t.tile, t.layout)));
    }
    const feeds = syntheticInputs(custom.original, { batch: 3, seed: 5 });
    const [a, b] = [await outputs(custom.bytes, feeds), await outputs(expanded.bytes, feeds)];
    for (const k of Object.keys(b)) {
      const ref = b[k]!.data as Float32Array;
      const scale = Math.max(...Array.from(ref, Math.abs));
      expect(a[k]!.data as Float32Array).toBeAllclose(ref, { atol: 1e-5 * scale, rtol: 1e-5 });
    }
  });
});

describe.skipIf(!hasPythonOnnx && process.env.CI !== 'true')('onnx.checker', () => {
  // Debian's onnx 1.12 knows IR ≤ 8 and opset ≤ 17: newer models are beyond its checker.
  const checkable = cases.filter(([name]) => !name.startsWith('opset18'));
  it.each(checkable)('accepts the custom form of %s (full_check)', (_name, source, opts) => {
    expect(onnxChecker(toBytes(compressInMemory(source(), 'custom', opts).model))).toBe('ok');
  });
});
