// `tbn inspect` on every fixture, its JSON, and one-line errors with the right exit codes.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import { encodeModel } from '../../src/onnx/proto.js';
import { writeModel } from '../../src/onnx/write.js';
import { FIXTURES, TORCH_MODELS, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { tbn } from './run.js';

describe('tbn inspect', () => {
  it.each(['vit-mnist.onnx', 'text-transformer.onnx'])('%s: says what --rest-dtype float16 would save of the untiled part, as compress then saves', async (name) => {
    const report = JSON.parse((await tbn('inspect', modelPath(name), '--json')).stdout);
    const saving = report.totals.restFloat16Saving as number;
    expect(saving).toBeGreaterThan(0);
    expect(saving).toBeLessThanOrEqual(report.totals.restBytes / 2);
    const out = path.join(tmpDir(), 'out.onnx');
    const r = await tbn('compress', modelPath(name), '-o', out, '--no-finetune', '--rest-dtype', 'float16', '--json');
    expect(r.code).toBe(0);
    const saved = JSON.parse(r.stdout).float16.bytesSaved as number;
    expect(Math.abs(saving - saved) / saved).toBeLessThan(0.1);
  });

  it.each(['vit-mnist.onnx', 'text-transformer.onnx', 'mnist-cnn.onnx', 'mnist-lstm.onnx', 'mnist-gru.onnx', 'convnet.onnx', 'transformer-encoder.onnx', 'tcn-1d.onnx'])(
    '%s: the estimated file size at p = 4 is within 8 %% of what tbn compress writes',
    async (name) => {
      const report = JSON.parse((await tbn('inspect', modelPath(name), '--json')).stdout);
      const estimate = report.totals.perP.find((e: { p: number }) => e.p === 4).estimatedFileBytes as number;
      const out = path.join(tmpDir(), 'out.onnx');
      expect((await tbn('compress', modelPath(name), '-o', out, '--no-finetune')).code).toBe(0);
      const written = fs.statSync(out).size;
      expect(Math.abs(estimate - written) / written).toBeLessThan(0.08);
    },
  );

  it.each(TORCH_MODELS)('lists the layers of %s as a table', async (name) => {
    const r = await tbn('inspect', modelPath(name));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/node\s+op\s+weight/);
    expect(r.stdout).not.toMatch(/\x1b\[/); // no colour codes off a TTY
  });

  it('gives one JSON document with the MLP layers, sizes and divisors', async () => {
    const r = await tbn('inspect', modelPath('mnist-mlp.onnx'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.layers.map((l: { weight: string }) => l.weight)).toEqual(['fc1.weight', 'fc2.weight', 'fc3.weight']);
    const fc1 = report.layers[0];
    expect(fc1).toMatchObject({ op: 'Gemm', shape: [256, 784], params: 200704, outDim: 256, fp32Bytes: 802816, underThreshold: false });
    const p4 = fc1.candidates.find((c: { p: number }) => c.p === 4);
    expect(p4).toEqual({ p: 4, divides: true, dividesOut: true, bytes: 200704 / 4 / 8 + 16 });
    expect(report.layers[2].candidates.find((c: { p: number }) => c.p === 4).dividesOut).toBe(false); // 10 outputs
    expect(report.layers[2].underThreshold).toBe(true);
    const perP4 = report.totals.perP.find((e: { p: number }) => e.p === 4);
    expect(perP4.tiledLayers).toBe(2);
    expect(perP4.bitsPerTiledWeight).toBeCloseTo((8 * (200704 / 32 + 16 + 65536 / 32 + 16)) / (200704 + 65536), 6);
  });

  it('follows weights through Transpose, Identity and Cast, and reads external data', async () => {
    const tf = JSON.parse((await tbn('inspect', modelPath('tf-style-opset11.onnx'), '--json', '--min-params', '0')).stdout);
    expect(tf.layers.map((l: { weightSource: string; shape: number[] }) => [l.weightSource, l.shape])).toEqual([
      ['constant → Transpose', [32, 96]],
      ['constant → Identity', [96, 5]],
    ]);
    const fp16 = JSON.parse((await tbn('inspect', modelPath('fp16-weight.onnx'), '--json')).stdout);
    expect(fp16.layers[0].weightSource).toBe('initializer → Cast');
    const ext = JSON.parse((await tbn('inspect', path.join(FIXTURES, 'models/external/mlp-external.onnx'), '--json')).stdout);
    expect(ext.externalBytes).toBe(75776);
    expect(ext.layers[0].params).toBe(16384);
  });
});

describe('bad input', () => {
  const cases: [string, (dir: string) => string, RegExp][] = [
    ['a missing file', (d) => path.join(d, 'nope.onnx'), /no such model file/],
    ['a directory', (d) => d, /is a directory/],
    ['an empty file', (d) => write(d, new Uint8Array(0)), /empty/],
    ['a truncated model', (d) => write(d, fs.readFileSync(modelPath('mnist-mlp.onnx')).subarray(0, 5000)), /not a valid ModelProto|runs past|ends in the middle/],
    ['random bytes', (d) => write(d, Uint8Array.from({ length: 300 }, (_, i) => (i * 7919) % 256)), /ModelProto|wire type|field/],
    ['a protobuf that is not a model', (d) => write(d, Uint8Array.from([0x08, 0x07])), /no graph/],
    ['a field the schema does not know', (d) => write(d, Uint8Array.from([...fs.readFileSync(modelPath('opset18-conv.onnx')), 0xf8, 0x06, 0x01])), /ModelProto field 111 is not in tbn's ONNX schema/],
    ['an initializer whose bytes do not match its shape', (d) => save(d, badSizeModel()), /raw_data has 12 bytes, shape \[2,2\] float32 needs 16/],
    ['an edge to a missing value', (d) => save(d, danglingModel()), /reads 'ghost', which no node, input or initializer provides/],
  ];
  it.each(cases)('refuses %s with one line and exit 1', async (_what, make, message) => {
    const file = make(tmpDir());
    const r = await tbn('inspect', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(path.basename(file));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on bad flags and unknown commands', async () => {
    expect((await tbn('inspect', modelPath('mnist-mlp.onnx'), '--bogus')).code).toBe(2);
    expect((await tbn('inspekt', 'x')).code).toBe(2);
    expect((await tbn('inspect', modelPath('mnist-mlp.onnx'), '--min-params', '-5')).code).toBe(2);
  });
});

function write(dir: string, bytes: Uint8Array): string {
  const f = path.join(dir, 'model.onnx');
  fs.writeFileSync(f, bytes);
  return f;
}

function save(dir: string, m: ReturnType<typeof model>): string {
  const f = path.join(dir, 'model.onnx');
  fs.writeFileSync(f, encodeModel(writeModel(m)));
  return f;
}

function badSizeModel() {
  const w = floatTensor('w', [2, 2], [1, 2, 3, 4]);
  w.data = new Float32Array([1, 2, 3]);
  return model(graph({ nodes: [node('MatMul', ['x', 'w'], ['y'])], initializers: [w], inputs: [valueInfo('x', 'float32', [1, 2])], outputs: [valueInfo('y', 'float32', [1, 2])] }));
}

function danglingModel() {
  return model(graph({ nodes: [node('Relu', ['ghost'], ['y'], [], { name: 'relu' })], inputs: [valueInfo('x', 'float32', [1])], outputs: [valueInfo('y', 'float32', [1])] }));
}


describe('tbn inspect --sensitivity', () => {
  it('measures every tileable layer at every p: fp32 costs nothing, larger p costs more', async () => {
    const r = await tbn('inspect', modelPath('mnist-mlp.onnx'), '--data', path.join(FIXTURES, 'data/mnist-calib.npz'), '--sensitivity', '--min-params', '60000', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.sensitivity.map((l: { weight: string }) => l.weight)).toEqual(['fc1.weight', 'fc2.weight']);
    for (const l of report.sensitivity) {
      const byP = new Map(l.entries.map((e: { p: number; loss: number }) => [e.p, e.loss]));
      expect([...byP.keys()]).toEqual([0, 1, 2, 4, 8, 16, 32]);
      expect(byP.get(0)).toBe(0);
      expect(byP.get(32)).toBeGreaterThan(byP.get(2) as number);
    }
  });

  it('needs --data', async () => {
    const r = await tbn('inspect', modelPath('mnist-mlp.onnx'), '--sensitivity');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sensitivity needs --data/);
  });
});
