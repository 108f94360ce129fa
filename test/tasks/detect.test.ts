// Output task detection (src/tbn/tasks.ts): every fixture model decided from its graph, shape,
// name and data as onnxruntime runs it, and the individual rules on small in-memory graphs —
// never the rank alone: a 2-D output with several columns and nothing else to go on is
// regression, not classification.
import { describe, expect, it } from 'vitest';
import { loadData, readRange } from '../../src/data/dataset.js';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { loadModel } from '../../src/onnx/file.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import type { HostTensor } from '../../src/util/host-tensor.js';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { detectTasks, parseTaskFlags, probeTasks, type OutputTask } from '../../src/tbn/tasks.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';

async function fixtureTasks(file: string, data?: string, task?: string[]): Promise<OutputTask[]> {
  const m = loadModel(modelPath(file)).model;
  const session = await createOrtSession(modelPath(file), { threads: 1 });
  try {
    const ds = data ? await loadData(dataPath(data), m) : undefined;
    const n = Math.min(8, ds?.count ?? 8);
    const b = ds && (await readRange(ds, 0, n));
    const feeds = b ? b.feeds : syntheticInputs(m, { batch: n });
    const labels = b?.labels?.data as BigInt64Array | undefined;
    return await probeTasks(m, session, { feeds, labels, targets: ds?.targetNames ?? [], texts: !!ds?.hasTexts }, { task });
  } finally {
    await session.release();
  }
}

const byName = (tasks: OutputTask[]) => Object.fromEntries(tasks.map((t) => [t.output, t]));

describe('task detection on the fixtures', () => {
  it('MNIST MLP, CNN, ResNet: class logits (labels and the name agree)', async () => {
    for (const f of ['mnist-mlp.onnx', 'mnist-cnn.onnx', 'mnist-resnet.onnx']) {
      const [t] = await fixtureTasks(f, 'mnist-test.npz');
      expect(t).toMatchObject({ output: 'logits', kind: 'classification', form: 'logits', classAxis: 1, batchAxis: 0 });
      expect(t!.reason).toMatch(/labels/);
    }
  });

  it('transformer encoder: class logits by name (no labels in its data)', async () => {
    const [t] = await fixtureTasks('transformer-encoder.onnx', 'transformer-calib.npz');
    expect(t).toMatchObject({ kind: 'classification', form: 'logits' });
    expect(t!.reason).toMatch(/name 'logits'/);
  });

  it('tcn-1d [N, 8] forecaster: regression, with its targets and without any data', async () => {
    const [withData] = await fixtureTasks('tcn-1d.onnx', 'tcn-calib.npz');
    expect(withData).toMatchObject({ output: 'forecast', kind: 'regression', form: 'values' });
    expect(withData!.reason).toMatch(/targets/);
    const [bare] = await fixtureTasks('tcn-1d.onnx');
    expect(bare!.kind).toBe('regression');
    expect(bare!.reason).toMatch(/no Softmax, ArgMax/);
  });

  it('CRNN: per-frame softmax probabilities [N, T, C] for CTC, blank 0, the pre-Softmax logits found', async () => {
    const [t] = await fixtureTasks('crnn-ctc.onnx', 'crnn-test.npz');
    expect(t).toMatchObject({ kind: 'ctc', form: 'probabilities', normalization: 'softmax', classAxis: 2, layout: 'NTC', blank: 0 });
    expect(t!.dims.slice(1)).toEqual([25, 37]);
    expect(t!.preActivation).toBeTruthy();
    expect(t!.reason).toMatch(/Softmax/);
  });

  it('keyword model: an L2-normalised embedding and class logits', async () => {
    const t = byName(await fixtureTasks('kws-embed.onnx', 'kws-test.npz'));
    expect(t.embedding).toMatchObject({ kind: 'embedding', normalized: true });
    expect(t.embedding!.reason).toMatch(/L2/);
    expect(t.logits).toMatchObject({ kind: 'classification', form: 'logits' });
  });

  it('segmentation net: a per-pixel sigmoid probability map', async () => {
    const [t] = await fixtureTasks('seg-unet.onnx', 'seg-test.npz');
    expect(t).toMatchObject({ output: 'mask', kind: 'dense', form: 'probabilities', normalization: 'sigmoid' });
    expect(t!.preActivation).toBeTruthy();
  });

  it('--task overrides the detection', async () => {
    const [t] = await fixtureTasks('tcn-1d.onnx', 'tcn-calib.npz', ['classification']);
    expect(t).toMatchObject({ kind: 'classification', form: 'logits', source: 'flag', classAxis: 1 });
    const [e] = await fixtureTasks('tcn-1d.onnx', undefined, ['forecast=embedding']);
    expect(e).toMatchObject({ kind: 'embedding', source: 'flag', normalized: false });
  });
});

// Small graphs: x → MatMul → (tail) → outputs; decided from handmade evidence.
function tiny(tail: (string | ReturnType<typeof node>)[], outputs: [string, number[] | (string | number)[]][], opset = 17): Model {
  const nodes = [node('MatMul', ['x', 'w'], ['h']), ...(tail.filter((n) => typeof n !== 'string') as ReturnType<typeof node>[])];
  return model(
    graph({
      nodes,
      initializers: [floatTensor('w', [4, 4], new Float32Array(16).fill(0.1))],
      inputs: [valueInfo('x', 'float32', ['N', 4])],
      outputs: outputs.map(([n, s]) => valueInfo(n, 'float32', s as (string | number)[])),
    }),
    { opset },
  );
}

const host = (dims: number[], fill: (i: number) => number = (i) => Math.sin(i)): HostTensor => ({
  dtype: 'float32',
  dims,
  data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)),
});

describe('task detection rules', () => {
  it('2-D with several columns and nothing else: regression; with labels that fit: classification', () => {
    const m = tiny([node('Identity', ['h'], ['y'])], [['y', ['N', 4]]]);
    const sample = { y: host([3, 4]) };
    expect(detectTasks(m, { sample })[0]!.kind).toBe('regression');
    expect(detectTasks(m, { sample, labelMax: 3 })[0]).toMatchObject({ kind: 'classification', form: 'logits' });
    expect(detectTasks(m, { sample, labelMax: 4 })[0]!.kind).toBe('regression'); // label 4 does not index 4 columns
  });

  it('the labels of a folder count all its classes, not only those in the first batch', async () => {
    const m = tiny([node('Identity', ['h'], ['y'])], [['y', ['N', 4]]]);
    const teacher = { run: async () => ({ y: host([3, 4]) }) };
    const feeds = { h: host([3, 4]) };
    const labels = [0, 0, 0];
    expect((await probeTasks(m, teacher, { feeds, labels }))[0]!.reason).toMatch(/labels \(0…0\)/);
    expect((await probeTasks(m, teacher, { feeds, labels, classCount: 4 }))[0]!.reason).toMatch(/labels \(0…3\)/);
    // Five named classes cannot be the 4 columns' logits, whatever the first batch holds.
    expect((await probeTasks(m, teacher, { feeds, labels, classCount: 5 }))[0]!.kind).toBe('regression');
  });

  it('an ArgMax consumer makes class logits', () => {
    const m = tiny([node('Identity', ['h'], ['scores']), node('ArgMax', ['scores'], ['pred'], [attr.int('axis', 1)])], [['scores', ['N', 4]]]);
    expect(detectTasks(m, { sample: { scores: host([2, 4]) } })[0]).toMatchObject({ kind: 'classification', form: 'logits', classAxis: 1 });
  });

  it('final Softmax / LogSoftmax: probabilities and log-probabilities, with the logits before them', () => {
    const m = tiny([node('Softmax', ['h'], ['p'], [attr.int('axis', -1)])], [['p', ['N', 4]]]);
    expect(detectTasks(m, { sample: { p: host([2, 4]) } })[0]).toMatchObject({ kind: 'classification', form: 'probabilities', preActivation: 'h' });
    const l = tiny([node('LogSoftmax', ['h'], ['p'], [attr.int('axis', 1)])], [['p', ['N', 4]]]);
    expect(detectTasks(l, { sample: { p: host([2, 4]) } })[0]).toMatchObject({ kind: 'classification', form: 'log-probabilities' });
  });

  it('[T, N, C] LogSoftmax (batch axis found by a one-sample run): CTC with layout TNC', () => {
    const m = tiny([node('Reshape', ['h', 's'], ['r']), node('LogSoftmax', ['r'], ['y'], [attr.int('axis', 2)])], [['y', [6, 'N', 5]]]);
    const sample = { y: host([6, 3, 5]) };
    const t = detectTasks(m, { sample, single: { y: [6, 1, 5] } })[0]!;
    expect(t).toMatchObject({ kind: 'ctc', form: 'log-probabilities', layout: 'TNC', batchAxis: 1, blank: 0 });
  });

  it('CTC blank: the last class when most frames pick it; --blank and metadata win', () => {
    const m = tiny([node('Softmax', ['h'], ['y'], [attr.int('axis', 2)])], [['y', ['N', 6, 5]]]);
    const lastWins = host([2, 6, 5], (i) => (i % 5 === 4 ? 0.9 : i % 7 === 0 ? 0.95 : 0.01));
    expect(detectTasks(m, { sample: { y: lastWins } })[0]!.blank).toBe(4);
    expect(detectTasks(m, { sample: { y: lastWins } }, { blank: 2 })[0]!.blank).toBe(2);
    expect(detectTasks({ ...m, metadataProps: [{ key: 'blank', value: '1' }] }, { sample: { y: lastWins } })[0]!.blank).toBe(1);
    expect(() => detectTasks(m, { sample: { y: lastWins } }, { blank: 5 })).toThrow(/--blank 5/);
  });

  it('opset 11 Softmax over axis 1 of a 3-D output normalises two axes: not taken as classes', () => {
    const m = tiny([node('Softmax', ['h'], ['y'], [attr.int('axis', 1)])], [['y', ['N', 6, 5]]], 11);
    expect(detectTasks(m, { sample: { y: host([2, 6, 5]) } })[0]!.kind).toBe('regression');
  });

  it('Sigmoid: [N, 1] a binary class, [N, C] per-value probabilities, [N, 1, H, W] a map', () => {
    const one = tiny([node('Sigmoid', ['h'], ['y'])], [['y', ['N', 1]]]);
    expect(detectTasks(one, { sample: { y: host([2, 1]) } })[0]).toMatchObject({ kind: 'classification', normalization: 'sigmoid' });
    const multi = tiny([node('Sigmoid', ['h'], ['y'])], [['y', ['N', 4]]]);
    expect(detectTasks(multi, { sample: { y: host([2, 4]) } })[0]).toMatchObject({ kind: 'dense', normalization: 'sigmoid' });
    const map = tiny([node('Sigmoid', ['h'], ['y'])], [['y', ['N', 1, 8, 8]]]);
    expect(detectTasks(map, { sample: { y: host([2, 1, 8, 8]) } })[0]!.reason).toMatch(/per-pixel probability map/);
  });

  it('L2 normalisation (LpNormalization, or Div by ReduceL2) makes an embedding', () => {
    const lp = tiny([node('LpNormalization', ['h'], ['y'], [attr.int('axis', 1), attr.int('p', 2)])], [['y', ['N', 4]]]);
    expect(detectTasks(lp, { sample: { y: host([2, 4]) } })[0]).toMatchObject({ kind: 'embedding', normalized: true });
    const div = tiny([node('ReduceL2', ['h'], ['n'], [attr.ints('axes', [1]), attr.int('keepdims', 1)]), node('Div', ['h', 'n'], ['y'])], [['y', ['N', 4]]]);
    expect(detectTasks(div, { sample: { y: host([2, 4]) } })[0]!.kind).toBe('embedding');
  });

  it('names: embedding and mask outputs', () => {
    const e = tiny([node('Identity', ['h'], ['speaker_embedding'])], [['speaker_embedding', ['N', 4]]]);
    expect(detectTasks(e, { sample: { speaker_embedding: host([2, 4]) } })[0]).toMatchObject({ kind: 'embedding', normalized: false });
    const mask = tiny([node('Identity', ['h'], ['mask'])], [['mask', ['N', 1, 2, 2]]]);
    expect(detectTasks(mask, { sample: { mask: host([2, 1, 2, 2]) } })[0]).toMatchObject({ kind: 'dense', form: 'logits', normalization: 'sigmoid' });
  });

  it('--task flags: bare kind on one output, errors name the flag', () => {
    expect(parseTaskFlags(['ctc'], ['y'])).toEqual(new Map([['y', 'ctc']]));
    expect(() => parseTaskFlags(['ctc'], ['a', 'b'])).toThrow(/name one: --task NAME=ctc/);
    expect(() => parseTaskFlags(['y=words'], ['y'])).toThrow(/'words' is not one of/);
    expect(() => parseTaskFlags(['z=ctc'], ['y'])).toThrow(/no output 'z'/);
    const m = tiny([node('Identity', ['h'], ['y'])], [['y', ['N', 4]]]);
    expect(() => detectTasks(m, { sample: { y: host([2, 4]) } }, { task: ['ctc'] })).toThrow(/CTC output is \[N, T, C\]/);
  });
});
