// Every ai.tbn kernel equals the function form (stock onnxruntime-node running the model-local
// ONNX functions) on every fixture model, compressed at p = 2, 4, 8 with the tile regions along
// the outputs and along the inputs, on every kernel path this CPU supports.
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { compressInMemory } from '../helpers/compress.js';
import { TORCH_MODELS, modelPath } from '../helpers/fixtures.js';
import { KERNEL_PATHS, expectClose, nativeReason, runFunctionForm, runKernels, skipNative } from './helpers.js';

const cases = TORCH_MODELS.flatMap((m) => [2, 4, 8].flatMap((p) => (['output', 'input'] as const).map((axis) => [m, p, axis] as const)));

describe.skipIf(skipNative)(`ai.tbn kernels on the fixtures${nativeReason}`, () => {
  it.each(cases)('%s p=%i regions along %s', async (model, p, axis) => {
    const c = compressInMemory(modelPath(model), 'custom', { p, tileAxis: axis });
    expect(c.tiled.length).toBeGreaterThan(0);
    const feeds = syntheticInputs(c.original, { batch: 3, seed: p });
    const want = await runFunctionForm(c.bytes, feeds);
    for (const path of KERNEL_PATHS) expectClose(await runKernels(c.bytes, feeds, path), want);
  });
});
