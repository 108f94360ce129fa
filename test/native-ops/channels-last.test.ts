// The fold writes a channels-last (tf2onnx) conv as Transpose → TbnConv → Transpose because
// onnxruntime, with the kernels registered, cancels the Transpose pairs between consecutive
// convs and moves the rest through the elementwise ops: the graph it runs keeps a few of the
// model's Transposes, and the tiled convs run channels first without transposing inside.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/onnx/file.js';
import { createCustomOpSession } from '../../src/runtime/custom-ops.js';
import { fuseEpilogues } from '../../src/tbn/fuse-epilogue.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { nativeReason, skipNative } from './helpers.js';

describe.skipIf(skipNative)(`channels-last convs in onnxruntime${nativeReason}`, () => {
  it('convnet-nhwc: the Transpose pairs around the tiled convs cancel in the optimized graph', async () => {
    const base = compressInMemory(modelPath('convnet-nhwc.onnx'), 'custom', { p: 4, minParams: 0 });
    const { model } = await fuseEpilogues(base.model);
    const written = model.graph.nodes.filter((n) => n.opType === 'Transpose').length;
    const file = path.join(tmpDir('tbn-nhwc-'), 'optimized.onnx');
    const s = await createCustomOpSession(toBytes(model), { threads: 1, optimizedModel: file });
    await s.release();
    const ran = loadModel(file).model.graph.nodes;
    expect(ran.filter((n) => n.opType === 'TbnConv')).toHaveLength(8);
    // only the one that turns the channels-last graph input stays
    expect(written).toBeGreaterThanOrEqual(16);
    expect(ran.filter((n) => n.opType === 'Transpose').length, ran.map((n) => n.opType).join(' ')).toBeLessThanOrEqual(1);
  });
});
