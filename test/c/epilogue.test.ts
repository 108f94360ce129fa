// The C export of models whose tiled layers carry a folded epilogue (ai.tbn version 2: scale,
// shift, residual, every activation; TbnConvNhwc): compiled on the host and compared with
// onnxruntime running the same file; the epilogue stays in the tiled kernels (nothing unfolded
// into separate nodes) but for the channels-last convs, which get their Transposes back.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Model } from '../../src/ir/types.js';
import { fuseEpilogues } from '../../src/tbn/fuse-epilogue.js';
import { compressInMemory, toBytes } from '../helpers/compress.js';
import { EPILOGUE_CASES } from '../helpers/epilogue-models.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { exportTo } from './helpers.js';
import { hasCC } from './tools.js';

async function foldedFile(source: string | Model, p: number, minParams: number, channelsLastOp = false): Promise<string> {
  const base = compressInMemory(source, 'custom', { p, minParams });
  const { model, report } = await fuseEpilogues(base.model, { channelsLastOp });
  expect(report.length).toBeGreaterThan(0);
  const file = path.join(tmpDir('tbn-c-epilogue-'), 'model.tbn.onnx');
  fs.writeFileSync(file, toBytes(model));
  return file;
}

const cases: [string, () => string | Model, number, number, string?, boolean?][] = [
  ...EPILOGUE_CASES.map((c): [string, () => Model, number, number] => [c.name, c.model, 2, 0]),
  ['mnist-cnn.onnx (BatchNorm + Relu folded, MaxPool fused by the exporter)', () => modelPath('mnist-cnn.onnx'), 4, 10_000, 'mnist-test.npz'],
  ['mnist-resnet.onnx (residual Add + Relu)', () => modelPath('mnist-resnet.onnx'), 4, 0, 'mnist-test.npz'],
  ['transformer-encoder.onnx (bias, GELU, residual)', () => modelPath('transformer-encoder.onnx'), 4, 0, 'transformer-calib.npz'],
  ['convnet-nhwc.onnx (TbnConvNhwc, the fold\'s channelsLastOp)', () => modelPath('convnet-nhwc.onnx'), 4, 0, undefined, true],
  ['convnet-nhwc.onnx (Transpose → TbnConv → Transpose, the fold\'s default)', () => modelPath('convnet-nhwc.onnx'), 4, 0],
];

describe.skipIf(!hasCC())('folded epilogues exported to C match onnxruntime', () => {
  it.each(cases)('%s', async (_name, source, p, minParams, data, channelsLastOp) => {
    const r = await exportTo(await foldedFile(source(), p, minParams, channelsLastOp), { data: data && dataPath(data), samples: 3 });
    expect(r.host.status, r.host.reason).toBe('pass');
    for (const o of r.host.outputs!) expect(o.maxAbsErr).toBeLessThanOrEqual(1e-4 * o.scale);
    for (const l of r.layers.filter((x) => x.op.startsWith('Tbn'))) expect(l.kernel).toMatch(/^tbn_tiled_/);
  }, 120_000);
});
