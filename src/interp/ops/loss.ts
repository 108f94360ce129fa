// The ONNX loss ops NegativeLogLikelihoodLoss (12+) and SoftmaxCrossEntropyLoss (12+), built
// from a flat gather of the target entries, per-class weights gathered the same way, and an
// ignore_index mask; 'mean' divides by the summed weights of the samples kept, as the spec does.

import * as E from '../../engine/index.js';
import type { Attrs } from '../../ir/attrs.js';
import { fail, need, type OpDef, type OpTable } from '../registry.js';
import { flatAlong, takeFlat } from './indexing.js';

const REDUCTIONS = ['none', 'sum', 'mean'];

function nll(logp: E.Tensor, target: E.Tensor, weight: E.Tensor | undefined, reduction: string, ignore: number | undefined): E.Tensor {
  const classes = logp.shape[1]!;
  const t = target.toArray();
  const keep = new Float32Array(t.length);
  const safe = new Float64Array(t.length);
  t.forEach((c, i) => {
    const ignored = ignore !== undefined && c === ignore;
    if (!ignored && !(c >= 0 && c < classes)) fail(`target ${c} outside 0…${classes - 1}`);
    keep[i] = ignored ? 0 : 1;
    safe[i] = ignored ? 0 : c;
  });
  // input[n, target[n, d…], d…]: the class axis is 1; the target has no class axis.
  const idxShape = [target.shape[0]!, 1, ...target.shape.slice(1)];
  const picked = E.reshape(takeFlat(logp, flatAlong(logp.shape, safe, idxShape, 1), idxShape), target.shape);
  const mask = E.tensor(keep, target.shape);
  const w = weight ? E.mul(E.gather(weight, E.tensor(safe, target.shape, 'int64'), 0), mask) : mask;
  const loss = E.neg(E.mul(picked, w));
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return E.sum(loss);
  return E.div(E.sum(loss), E.sum(w));
}

const check = (a: Attrs) => (REDUCTIONS.includes(a.string('reduction', 'mean')) ? undefined : `reduction='${a.string('reduction')}'`);

const nllLoss: OpDef = {
  since: 12,
  check,
  make: (a) => ([x, t, w]) => [nll(need(x, 'input'), need(t, 'target'), w, a.string('reduction', 'mean'), a.int('ignore_index'))],
};

const softmaxCrossEntropy: OpDef = {
  since: 12,
  check,
  make: (a) => ([x, t, w]) => {
    const logp = E.logSoftmax(need(x, 'scores'), 1);
    return [nll(logp, need(t, 'labels'), w, a.string('reduction', 'mean'), a.int('ignore_index')), logp];
  },
};

export const LOSS_OPS: OpTable = { NegativeLogLikelihoodLoss: nllLoss, SoftmaxCrossEntropyLoss: softmaxCrossEntropy };
