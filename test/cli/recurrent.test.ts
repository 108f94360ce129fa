// End to end on the LSTM fixture (scripts/fixtures/recurrent.py): `tbn compress` tiles the LSTM's
// W and R along its hidden units, moves the hidden units, and fine-tunes them through the interpreter's LSTM (a short schedule, to
// stay quick), and `tbn verify` runs the result in stock onnxruntime (ONNX functions) and with
// the ai.tbn custom-op library: finite outputs, top-1 well above chance, the same answers.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { skipNative } from '../native-ops/helpers.js';
import { tbn } from './run.js';

const MODEL = modelPath('mnist-lstm.onnx');

describe('mnist-lstm.onnx: compress and verify', () => {
  it('tiles the LSTM weights, trains them, and runs in both runtimes', { timeout: 240_000 }, async () => {
    const out = path.join(tmpDir(), 'lstm.onnx');
    const c = await tbn('compress', MODEL, '-o', out, '-p', '4', '--data', dataPath('mnist-calib.npz'), '--steps', '240', '--json');
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const report = JSON.parse(c.stdout);
    const lstm = report.layers.filter((l: { op: string }) => l.op === 'LSTM');
    expect(lstm.map((l: { weight: string }) => l.weight)).toHaveLength(2);
    expect(report.finetune.steps).toBe(240);
    // W and R along the hidden units (the default), with the LSTM's hidden units moved.
    expect(report.layers.filter((l: { op: string }) => l.op === 'LSTM').map((l: { shape: number[]; tileAxis: number; alongHiddenUnits: boolean }) => [l.shape, l.tileAxis, l.alongHiddenUnits])).toEqual([
      [[4, 96 * 28], 1, true],
      [[4, 96 * 96], 1, true],
    ]);
    expect(report.permutation).toMatchObject([{ layers: ['/lstm/LSTM'], channels: 96, permuted: true }]);

    const verify = async (...extra: string[]) => {
      const r = await tbn('verify', MODEL, out, '--data', dataPath('mnist-test.npz'), '--samples', '256', '--json', '--latency-runs', '1', ...extra);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).outputs[0];
    };
    const viaOrt = await verify();
    expect(Number.isFinite(viaOrt.mse) && Number.isFinite(viaOrt.maxAbsError)).toBe(true);
    expect(viaOrt.accuracy.original).toBeGreaterThan(0.9);
    expect(viaOrt.accuracy.compressed).toBeGreaterThan(0.4); // chance is 0.1; 66 % on the calibration set after these 240 steps
    if (skipNative) return;
    const viaOps = await verify('--runtime', 'custom-ops');
    expect(viaOps.top1Agreement).toBeCloseTo(viaOrt.top1Agreement, 2);
    expect(viaOps.accuracy.compressed).toBeCloseTo(viaOrt.accuracy.compressed, 2);
  });
});
