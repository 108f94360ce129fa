// The conv paths a batch takes: tasks that run several images each (every weight block
// expanded once per task, each image's residual and uncopied input read through first, copies
// channel by channel) and the unmasked conv store, on every kernel path and with 1 and 2
// threads, channels-last convs both as Transpose → TbnConv → Transpose and as TbnConvNhwc,
// against the unfolded model's ONNX functions. The other native-ops tests use batches of 1–3,
// where the tasks split single images instead.
import { describe, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import type { Model } from '../../src/ir/types.js';
import { fuseEpilogues } from '../../src/tbn/fuse-epilogue.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { EPILOGUE_CASES } from '../helpers/epilogue-models.js';
import { modelPath } from '../helpers/fixtures.js';
import { KERNEL_PATHS, expectClose, nativeReason, runFunctionForm, runKernels, skipNative } from './helpers.js';

const cases: [string, () => Model | string, number][] = [
  ...EPILOGUE_CASES.map((c): [string, () => Model, number] => [c.name, c.model, 2]),
  ...['mnist-cnn.onnx', 'convnet.onnx', 'convnet-nhwc.onnx'].map((f): [string, () => string, number] => [f, () => modelPath(f), 4]),
];

describe.skipIf(skipNative)(`ai.tbn conv kernels on a batch of images${nativeReason}`, () => {
  it.each(cases)('%s: batch 9, every path, 1 and 2 threads, equals the unfolded functions', async (_name, source, p) => {
    const base = compressInMemory(source(), 'custom', { p, minParams: 0 });
    const feeds = syntheticInputs(base.original, { batch: 9, seed: 9 });
    const want = await runFunctionForm(base.bytes, feeds);
    for (const channelsLastOp of [false, true]) {
      const bytes = toBytes((await fuseEpilogues(base.model, { channelsLastOp })).model);
      for (const path of KERNEL_PATHS) expectClose(await runKernels(bytes, feeds, path), want);
      expectClose(await runKernels(bytes, feeds, KERNEL_PATHS.at(-1)!, 2), want);
    }
  });
});
