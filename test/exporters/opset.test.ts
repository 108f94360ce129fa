// Old-opset exports as users have them (scripts/fixtures/exporters.py): PyTorch at opset 9 and
// 11 with Upsample/Resize, Pad, Slice, Clip, Split, Squeeze/Unsqueeze, and a tf2onnx-style NHWC
// graph at opset 10. `tbn compress -p 4` in the custom format converts each to opset 12 (checked
// in onnxruntime first), and the output runs through its ONNX functions and with the ai.tbn
// kernels, passes onnx.checker, and — fine-tuned, even briefly — stays close to the original.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArrays } from '../../src/data/dataset.js';
import { compile } from '../../src/interp/index.js';
import { upgradeOpset } from '../../src/ir/upgrade/index.js';
import { encodeModelInline, loadModel } from '../../src/onnx/file.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import { sliceBatch, toFloat64 } from '../../src/util/host-tensor.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { hasPythonOnnx } from '../helpers/models.js';
import { tmpDir } from '../helpers/tmp.js';
import { tbn } from '../cli/run.js';

interface ExporterCase {
  file: string;
  data: string;
  opset: number;
  /** Rewrites the conversion to opset 12 must report (op@version). */
  converted: string[];
}

const CASES: ExporterCase[] = [
  { file: 'exporters/torch-opset9.onnx', data: 'mnist-calib.npz', opset: 9, converted: ['Clip@11', 'Pad@11', 'Resize@11', 'Slice@10', 'Upsample@10'] },
  { file: 'exporters/torch-opset11.onnx', data: 'mnist-calib.npz', opset: 11, converted: [] },
  { file: 'exporters/tf-nhwc-opset10.onnx', data: 'mnist-nhwc-calib.npz', opset: 10, converted: ['Pad@11'] },
];

const checker = (file: string) =>
  execFileSync('/usr/bin/python3', ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(m.opset_import[0].version)', file], {
    encoding: 'utf8',
  }).trim();

async function verify(original: string, compressed: string, data: string, runtime: 'ort' | 'custom-ops') {
  const r = await tbn('verify', original, compressed, '--data', data, '--samples', '500', '--latency-runs', '1', '--runtime', runtime, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { outputs: { top1Agreement: number; accuracy: { original: number; compressed: number } }[] };
}

describe.each(CASES)('tbn compress -p 4 of $file', ({ file, data, opset, converted }) => {
  const original = modelPath(file);
  const calib = dataPath(data);

  it('converts the model to opset 12 (checked in onnxruntime), tiles it and the custom form runs everywhere', async () => {
    const out = path.join(tmpDir(), 'out.onnx');
    const r = await tbn('compress', original, '-p', '4', '-o', out, '--data', calib, '--no-finetune', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.opsetUpgrade).toMatchObject({ from: opset, to: 12, check: { synthetic: false } });
    expect(report.opsetUpgrade.check.maxAbsError).toBeLessThanOrEqual(1e-5);
    expect(report.opsetUpgrade.converted.map((s: { op: string; version: number }) => `${s.op}@${s.version}`).sort()).toEqual(converted);
    expect(report.layers.length).toBeGreaterThanOrEqual(2);
    expect(report.lambda.auto).toBe(true);
    const [viaFunctions, viaKernels] = [await verify(original, out, calib, 'ort'), await verify(original, out, calib, 'custom-ops')];
    expect(viaKernels.outputs[0]!.accuracy).toEqual(viaFunctions.outputs[0]!.accuracy);
    if (hasPythonOnnx || process.env.CI === 'true') expect(checker(out)).toBe('12');
  });

  it("the student (tbn's interpreter) runs the converted model as onnxruntime runs the original", async () => {
    const model = loadModel(original).model;
    const feeds = { input: sliceBatch((await readArrays(calib)).arrays.get('input')!, 0, 16) };
    const ort = await createOrtSession(encodeModelInline(model), { threads: 1 });
    const want = toFloat64((await ort.run(feeds)).logits!);
    await ort.release();
    const program = compile(upgradeOpset(model, 12).model);
    const got = toFloat64(program.runHost(feeds).logits!);
    program.dispose();
    const scale = Math.max(...want.map(Math.abs));
    expect(got).toBeAllclose(want, { atol: 1e-4 * scale, rtol: 0 });
  });

  // Three epochs of the default schedule (the README has the full 60): 93 steps of 64 on the
  // 2 000 PyTorch calibration images, 93 of 16 on the 500 NHWC ones. Before the batch followed
  // the data's size and Constant-node weights trained, the NHWC model got 21 steps here, its
  // loss fell 3.6× and its accuracy recovered 7 % of what tiling lost (16.2 %; the full default
  // fine-tune ended at 57.8 % of 82.8 %).
  it('a short fine-tune on the default schedule recovers a good part of what tiling lost', async () => {
    const compress = async (...flags: string[]) => {
      const out = path.join(tmpDir(), 'out.onnx');
      const r = await tbn('compress', original, '-p', '4', '-o', out, '--data', calib, '--json', ...flags);
      expect(r.code, r.stderr).toBe(0);
      return { out, report: JSON.parse(r.stdout) };
    };
    const tiledOnly = (await compress('--no-finetune')).report.agreement.outputs[0].accuracy.compressed as number;
    const { out, report } = await compress('--epochs', '3');
    expect(report.finetune.lossAfter).toBeLessThan(report.finetune.lossBefore / 5);
    const tuned = (await verify(original, out, calib, 'custom-ops')).outputs[0]!;
    expect(tuned.top1Agreement).toBeCloseTo(report.agreement.outputs[0].top1Agreement, 1);
    const { original: fp32, compressed } = tuned.accuracy;
    expect(fp32 - tiledOnly).toBeGreaterThan(0.5);
    expect(compressed - tiledOnly).toBeGreaterThanOrEqual(0.4 * (fp32 - tiledOnly));
  });
});

describe('exporter fixtures in other forms', () => {
  it('--format expanded keeps the original opset (no functions to write), and says the file does not shrink', async () => {
    const out = path.join(tmpDir(), 'out.onnx');
    const r = await tbn('compress', modelPath('exporters/torch-opset9.onnx'), '-p', '4', '-o', out, '--no-finetune', '--format', 'expanded');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/converted the model/);
    expect(r.stdout).toMatch(/expanded format: the tiles are stored decoded as fp32 weights/);
    expect(r.stdout).not.toMatch(/Infinity|NaN/);
  });

  it('tbn inspect says what the conversion will do', async () => {
    const r = await tbn('inspect', modelPath('exporters/torch-opset9.onnx'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/opset 9: the custom format's ONNX functions need opset 12; tbn compress converts the model first \(.*Upsample ×1.*\)/);
  });
});
