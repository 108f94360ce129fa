// Verify's task metrics against hand computations: greedy CTC decode, edit distance and CER
// (against the original's decode and the true text), per-row cosine and nearest-neighbour
// agreement, IoU of thresholded and argmax maps, relative and target MSE; and the charset.
import { describe, expect, it } from 'vitest';
import { model, graph } from '../../src/ir/build.js';
import type { OutputTask } from '../../src/tbn/tasks.js';
import type { HostTensor } from '../../src/util/host-tensor.js';
import { resolveCharset } from '../../src/verify/charset.js';
import { ctcGreedyDecode, editDistance, iou, metricFor, nearest } from '../../src/verify/metrics.js';

const f32 = (dims: number[], data: number[]): HostTensor => ({ dtype: 'float32', dims, data: Float32Array.from(data) });
const base = { output: 'y', batchAxis: 0, reason: '', source: 'graph' as const };

/** Per-frame one-hot probabilities [N, T, C] from class indices per frame. */
function frames(seqs: number[][], classes: number): HostTensor {
  const t = seqs[0]!.length;
  const data = new Array<number>(seqs.length * t * classes).fill(0.01);
  seqs.forEach((s, n) => s.forEach((k, f) => (data[(n * t + f) * classes + k] = 0.9)));
  return f32([seqs.length, t, classes], data);
}

describe('CTC', () => {
  it('greedy decode merges repeats and drops blanks (a blank separates a doubled letter)', () => {
    expect(ctcGreedyDecode([0, 1, 1, 0, 1, 2, 2, 0, 0, 3], 0)).toEqual([1, 1, 2, 3]);
    expect(ctcGreedyDecode([4, 1, 4, 4, 2, 2], 4)).toEqual([1, 2]);
    expect(ctcGreedyDecode([], 0)).toEqual([]);
  });

  it('edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance([1, 2, 3], [1, 3])).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', 'abc')).toBe(0);
  });

  it('sequence agreement and CER, against the original and against the true text', () => {
    // Classes: 0 blank, 1 'a', 2 'b', 3 'c'. Original decodes "ab" and "cab"; compressed "ab", "cb".
    const task: OutputTask = { ...base, kind: 'ctc', form: 'probabilities', normalization: 'softmax', classAxis: 2, layout: 'NTC', blank: 0, dims: [2, 5, 4] };
    const m = metricFor(task, { charset: ['', 'a', 'b', 'c'] });
    const a = frames([[1, 1, 0, 2, 0], [3, 0, 1, 2, 2]], 4);
    const b = frames([[1, 0, 2, 2, 0], [3, 3, 0, 2, 0]], 4);
    m.add(a, b, { texts: ['ab', 'cbb'] });
    const s = m.result().sequence!;
    expect(s.agreement).toBe(0.5);
    expect(s.cer).toBeCloseTo(1 / 5); // one deletion over 2 + 3 original characters
    // Truth: "ab" vs ab (0, 0); "cbb" vs cab (1 edit) and cb (1 edit): 1/5 both; exact 1/2 both.
    expect(s.truth).toEqual({ samples: 2, cerOriginal: 1 / 5, cerCompressed: 1 / 5, exactOriginal: 0.5, exactCompressed: 0.5 });
    const r = m.result();
    expect(r.top1Agreement).toBeNull(); // top-1 agreement only for classification outputs
  });

  it('[T, N, C] layout decodes along the first axis', () => {
    const task: OutputTask = { ...base, kind: 'ctc', form: 'logits', normalization: 'softmax', classAxis: 2, layout: 'TNC', blank: 0, batchAxis: 1, dims: [3, 2, 3] };
    // Sample 0 frames: 1, 0, 2 → [1, 2]; sample 1 frames: 2, 2, 2 → [2].
    const tnc = f32([3, 2, 3], [0, 5, 0, 0, 0, 5, 5, 0, 0, 0, 0, 5, 0, 0, 5, 0, 0, 5]);
    const m = metricFor(task);
    m.add(tnc, tnc, {});
    expect(m.result().sequence).toMatchObject({ sequences: 2, agreement: 1, cer: 0, truth: null });
  });

  it('charset: C − 1 tokens skip the blank, C − 2 with blank 0 gets a space, other counts are refused', () => {
    const m = { ...model(graph({ nodes: [], inputs: [], outputs: [] })), metadataProps: [{ key: 'charset', value: 'abc' }] };
    expect(resolveCharset(m, 4, 0)!.tokens).toEqual(['', 'a', 'b', 'c']);
    expect(resolveCharset(m, 4, 3)!.tokens).toEqual(['a', 'b', 'c', '']);
    expect(resolveCharset(m, 5, 0)!.tokens).toEqual(['', 'a', 'b', 'c', ' ']);
    expect(() => resolveCharset(m, 9, 0)).toThrow(/3 tokens for an output of 9 classes/);
    expect(resolveCharset(model(graph({ nodes: [], inputs: [], outputs: [] })), 4, 0)).toBeUndefined();
  });
});

describe('embeddings', () => {
  it('mean per-row cosine and nearest-neighbour agreement within the set', () => {
    const task: OutputTask = { ...base, kind: 'embedding', form: 'values', dims: [4, 2] };
    const m = metricFor(task);
    // Original rows: A=(1,0) B=(0.9,0.1) C=(0,1) D=(0.1,0.9): NN A↔B, C↔D.
    const a = f32([4, 2], [1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9]);
    // Compressed: row 1 rotated to (0,1) → its NN becomes C or D; row 0 NN becomes... (1,0)'s nearest is D (0.1, 0.9)?
    const b = f32([4, 2], [1, 0, 0, 1, 0, 1, 0.1, 0.9]);
    m.add(a, b, {});
    const e = m.result().embedding!;
    const cos1 = 0.1 / Math.hypot(0.9, 0.1);
    expect(e.meanCosine).toBeCloseTo((1 + cos1 + 1 + 1) / 4, 6);
    expect(nearest([Float32Array.from([1, 0]), Float32Array.from([0.9, 0.1]), Float32Array.from([0, 1]), Float32Array.from([0.1, 0.9])])).toEqual([1, 0, 3, 2]);
    // Compressed NN: row0 (1,0) → D (0.1,0.9) cos 0.11 vs B'=(0,1) 0 vs C (0,1) 0 → D=3 (was 1);
    // row1 (0,1) → C (tie with B? C is (0,1): cos 1) = 2 (was 0); row2 (0,1) → row1 (cos 1, first) = 1 (was 3); row3 → 1 (was 2).
    expect(e.nearestNeighbourAgreement).toBe(0);
    expect(e.rows).toBe(4);
  });
});

describe('dense maps', () => {
  it('IoU of maps thresholded at 0.5 (probabilities) or at logit 0, and against target maps', () => {
    const task: OutputTask = { ...base, kind: 'dense', form: 'probabilities', normalization: 'sigmoid', dims: [1, 1, 2, 3] };
    const m = metricFor(task);
    const a = f32([1, 1, 2, 3], [0.9, 0.8, 0.1, 0.6, 0.2, 0.1]); // on: 0, 1, 3
    const b = f32([1, 1, 2, 3], [0.9, 0.4, 0.7, 0.6, 0.2, 0.1]); // on: 0, 2, 3
    const truth = f32([1, 1, 2, 3], [1, 1, 1, 0, 0, 0]); // on: 0, 1, 2
    m.add(a, b, { targets: { y: truth } });
    const d = m.result().dense!;
    expect(d.iou).toBeCloseTo(2 / 4); // ∩ {0, 3}, ∪ {0, 1, 2, 3}
    expect(d.truth!.iouOriginal).toBeCloseTo(2 / 4); // {0,1} of {0,1,2,3}
    expect(d.truth!.iouCompressed).toBeCloseTo(2 / 4); // {0,2} of {0,1,2,3}
    expect(iou([1, 1, 0], [1, 0, 0])).toBe(0.5);
    const logits = metricFor({ ...task, form: 'logits' });
    logits.add(f32([1, 1, 1, 2], [0.5, -0.5]), f32([1, 1, 1, 2], [0.1, 0.2]), {});
    expect(logits.result().dense!.iou).toBeCloseTo(1 / 2);
  });

  it('argmax maps: mean IoU over the classes present', () => {
    const task: OutputTask = { ...base, kind: 'dense', form: 'logits', normalization: 'softmax', classAxis: 1, dims: [1, 2, 1, 4] };
    // Channels-first [1, 2, 1, 4]: class per pixel a = [0, 1, 1, 0], b = [0, 1, 0, 0].
    const a = f32([1, 2, 1, 4], [5, 0, 0, 5, 0, 5, 5, 0]);
    const b = f32([1, 2, 1, 4], [5, 0, 5, 5, 0, 5, 0, 0]);
    const m = metricFor(task);
    m.add(a, b, {});
    const d = m.result().dense!;
    // class 0: ∩ {0, 3} ∪ {0, 2, 3} = 2/3; class 1: ∩ {1} ∪ {1, 2} = 1/2.
    expect(d.iou).toBeCloseTo((2 / 3 + 1 / 2) / 2);
    expect(d).toMatchObject({ threshold: null, classes: 2 });
  });
});

describe('classification and regression', () => {
  it('top-1 agreement and accuracy against labels', () => {
    const task: OutputTask = { ...base, kind: 'classification', form: 'logits', normalization: 'softmax', classAxis: 1, dims: [3, 3] };
    const m = metricFor(task);
    m.add(f32([3, 3], [3, 1, 0, 0, 2, 1, 1, 0, 4]), f32([3, 3], [3, 1, 0, 2, 0, 1, 1, 0, 4]), { labels: { dtype: 'int64', dims: [3], data: BigInt64Array.from([0n, 1n, 0n]) } });
    const r = m.result();
    expect(r.top1Agreement).toBeCloseTo(2 / 3);
    expect(r.accuracy).toEqual({ original: 2 / 3, compressed: 1 / 3 });
  });

  it('sigmoid [N, 1]: agreement of the thresholded decisions', () => {
    const task: OutputTask = { ...base, kind: 'classification', form: 'probabilities', normalization: 'sigmoid', dims: [4, 1] };
    const m = metricFor(task);
    m.add(f32([4, 1], [0.9, 0.2, 0.6, 0.4]), f32([4, 1], [0.8, 0.7, 0.4, 0.1]), {});
    expect(m.result().top1Agreement).toBe(0.5);
  });

  it('relative MSE and MSE of both against targets', () => {
    const task: OutputTask = { ...base, kind: 'regression', form: 'values', dims: [2, 2] };
    const m = metricFor(task);
    m.add(f32([2, 2], [1, 2, 3, 4]), f32([2, 2], [1, 2, 3, 6]), { targets: { y: f32([2, 2], [1, 2, 3, 5]) } });
    const r = m.result().regression!;
    expect(r.relativeMse).toBeCloseTo(1 / 1.25); // MSE 4/4 = 1 over variance 1.25
    expect(r.target).toEqual({ mseOriginal: 0.25, mseCompressed: 0.25 });
  });
});
