// Losses for fine-tuning by distillation: mean squared error, Hinton's temperature-scaled KL
// divergence KL(softmax(t/T) ‖ softmax(s/T))·T² averaged over rows, and cross-entropy with
// integer labels. Each returns a scalar tensor that backward() can start from.

import { noGrad } from './autograd.js';
import { tidy } from './scope.js';
import { normAxis, splitAt } from './shape.js';
import { tensor, type Tensor } from './tensor.js';
import { affine, mul, sub } from './ops/elementwise.js';
import { mean, sum } from './ops/reduce.js';
import { logSoftmax, softmax } from './ops/softmax.js';

/** mean((pred − target)²) over all elements. */
export function mseLoss(pred: Tensor, target: Tensor): Tensor {
  if (pred.size !== target.size) throw new Error(`mseLoss: [${pred.shape}] vs [${target.shape}]`);
  return tidy(() => {
    const d = sub(pred, target);
    return mean(mul(d, d));
  });
}

/**
 * T² · mean over rows of Σ_c p_t,c (log p_t,c − log p_s,c), with p = softmax(logits / T) along
 * `axis` (rows are every other axis). The teacher is treated as a constant.
 */
export function klDistillLoss(student: Tensor, teacher: Tensor, temperature = 1, axis = -1): Tensor {
  if (student.shape.join() !== teacher.shape.join()) throw new Error(`klDistillLoss: student [${student.shape}] vs teacher [${teacher.shape}]`);
  const a = normAxis(axis, student.rank);
  const rows = student.size / student.shape[a]!;
  const t = temperature;
  return tidy(() => {
    const [pt, logPt] = noGrad(() => {
      const scaled = affine(teacher, 1 / t, 0);
      return [softmax(scaled, a), logSoftmax(scaled, a)];
    });
    const logPs = logSoftmax(affine(student, 1 / t, 0), a);
    return affine(sum(mul(pt!, sub(logPt!, logPs))), (t * t) / rows, 0);
  });
}

/** Mean over samples of −log softmax(logits)[label]; classes along `axis` (default 1). */
export function crossEntropyLoss(logits: Tensor, labels: Tensor | ArrayLike<number>, axis = 1): Tensor {
  const a = normAxis(axis, logits.rank);
  const [outer, classes, inner] = splitAt(logits.shape, a);
  const lab = 'toArray' in labels ? (labels as Tensor).toArray() : labels;
  if (lab.length !== outer * inner) throw new Error(`crossEntropyLoss: ${lab.length} labels for logits [${logits.shape}]`);
  const onehot = new Float32Array(logits.size);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const c = lab[o * inner + i]!;
      if (!(c >= 0 && c < classes && Number.isInteger(c))) throw new Error(`label ${c} outside 0…${classes - 1}`);
      onehot[(o * classes + c) * inner + i] = 1;
    }
  }
  return tidy(() => affine(sum(mul(tensor(onehot, logits.shape), logSoftmax(logits, a))), -1 / (outer * inner), 0));
}

