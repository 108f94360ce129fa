// tbn verify on the production-like fixtures: the metric that fits each output (CER for the CTC
// recognizer, cosine and neighbours for the embedding, IoU for the mask), their thresholds'
// exit codes (3 when missed, 2 for a threshold no output can be checked against or a bad value),
// and the --json shape. The compressed models are untuned tiles (quick, and surely imperfect).
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tbn } from '../cli/run.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';

const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'tbn-tasks-'));
const compressed = (name: string) => path.join(dir, name.replace('.onnx', '.tbn.onnx'));

async function verify(name: string, data: string, ...extra: string[]) {
  return tbn('verify', modelPath(name), compressed(name), '--data', dataPath(data), '--latency-runs', '1', '--samples', '24', ...extra);
}

beforeAll(async () => {
  for (const [name, format] of [['crnn-ctc.onnx', 'expanded'], ['kws-embed.onnx', 'custom'], ['seg-unet.onnx', 'custom']] as const) {
    const r = await tbn('compress', modelPath(name), '--no-finetune', '--min-params', '2000', '-p', '4', '--format', format, '-o', compressed(name), '--force', '--quiet');
    expect(r.code, r.stderr).toBe(0);
  }
  return () => fs.rmSync(dir, { recursive: true, force: true });
});

describe('tbn verify task metrics and thresholds', () => {
  it('CTC recognizer: CER against the original and the true text (charset from the model metadata)', async () => {
    const r = await verify('crnn-ctc.onnx', 'crnn-test.npz', '--json');
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout).outputs[0];
    expect(o.task).toMatchObject({ kind: 'ctc', form: 'probabilities', blank: 0 });
    expect(o.top1Agreement).toBeNull();
    expect(o.sequence.sequences).toBe(24);
    expect(o.sequence.cer).toBeGreaterThan(0);
    expect(o.sequence.truth.samples).toBe(24);
    expect(o.sequence.truth.cerOriginal).toBeLessThan(0.15);
    expect((await verify('crnn-ctc.onnx', 'crnn-test.npz', '--max-cer', '1')).code).toBe(0);
    const fail = await verify('crnn-ctc.onnx', 'crnn-test.npz', '--max-cer', '0');
    expect(fail.code).toBe(3);
    expect(fail.stdout).toMatch(/FAIL: --max-cer 0 \(softmax_out: character error rate is/);
    const text = await verify('crnn-ctc.onnx', 'crnn-test.npz');
    expect(text.stdout).toMatch(/softmax_out +ctc +CER [\d.]+%, identical sequences/);
    expect(text.stdout).not.toMatch(/top-1/);
  });

  it('keyword model: mean cosine and nearest-neighbour agreement of the embedding, top-1 of the logits', async () => {
    const r = await verify('kws-embed.onnx', 'kws-test.npz', '--json');
    expect(r.code, r.stderr).toBe(0);
    const [emb, logits] = JSON.parse(r.stdout).outputs;
    expect(emb.task.kind).toBe('embedding');
    expect(emb.embedding.rows).toBe(6); // one utterance per keyword
    expect(emb.embedding.nearestNeighbourAgreement).toBeGreaterThanOrEqual(0);
    expect(emb.top1Agreement).toBeNull();
    expect(logits.task.kind).toBe('classification');
    expect(logits.top1Agreement).not.toBeNull();
    expect(logits.accuracy).not.toBeNull();
    expect((await verify('kws-embed.onnx', 'kws-test.npz', '--min-cosine', '-1')).code).toBe(0);
    expect((await verify('kws-embed.onnx', 'kws-test.npz', '--min-cosine', '0.99999')).code).toBe(3);
  });

  it('segmentation net: IoU of the thresholded maps, and against the true masks', async () => {
    const r = await verify('seg-unet.onnx', 'seg-test.npz', '--json');
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout).outputs[0];
    expect(o.task.kind).toBe('dense');
    expect(o.dense).toMatchObject({ threshold: 0.5, classes: 1 });
    expect(o.dense.truth.iouOriginal).toBeGreaterThan(0.5);
    expect((await verify('seg-unet.onnx', 'seg-test.npz', '--min-iou', '0')).code).toBe(0);
    expect((await verify('seg-unet.onnx', 'seg-test.npz', '--min-iou', '0.99999')).code).toBe(3);
    const t = JSON.parse((await verify('seg-unet.onnx', 'seg-test.npz', '--threshold', '0.3', '--json')).stdout).outputs[0];
    expect(t.dense.threshold).toBe(0.3);
  });

  it('from the sample folders with their recipes: text labels from labels.txt, classes from subfolders, as from the .npz', async () => {
    const json = async (name: string, data: string, ...extra: string[]) => {
      const r = await verify(name, data, '--json', ...extra);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).outputs;
    };
    const crnnRecipe = 'resize=fit-height-pad:32x100,pad-norm=0,channels=bgr,scale=1/255,mean=0.5,std=0.5,layout=nchw';
    const [fromFolder] = await json('crnn-ctc.onnx', 'crnn/test', '--preprocess', crnnRecipe);
    const [fromNpz] = await json('crnn-ctc.onnx', 'crnn-test.npz');
    expect(fromFolder.task.kind).toBe('ctc');
    expect(fromFolder.sequence.truth.samples).toBe(24);
    // The .npz holds the same recipe's output in float16.
    expect(fromFolder.sequence.truth.cerOriginal).toBeCloseTo(fromNpz.sequence.truth.cerOriginal, 2);
    expect(fromFolder.sequence.truth.cerCompressed).toBeCloseTo(fromNpz.sequence.truth.cerCompressed, 1);
    const [, logits] = await json('kws-embed.onnx', 'kws/test', '--preprocess', 'rate=8000,channels=mono,length=8000');
    expect(logits.accuracy.original).toBe(1);
  });

  it('a threshold no output can meet is a usage error (exit 2), as is a bad value', async () => {
    const none = await verify('seg-unet.onnx', 'seg-test.npz', '--max-cer', '0.1');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--max-cer: no ctc output to check \(outputs: mask \(dense\)\)/);
    expect((await verify('seg-unet.onnx', 'seg-test.npz', '--min-iou', '1.5')).code).toBe(2);
    expect((await verify('seg-unet.onnx', 'seg-test.npz', '--task', 'mask=words')).code).toBe(2);
  });
});
