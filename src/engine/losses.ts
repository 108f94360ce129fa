// Losses for fine-tuning by distillation: mean squared error, Hinton's temperature-scaled KL
// divergence KL(softmax(t/T) ‖ softmax(s/T))·T² averaged over rows, the binary KL of sigmoid
// probabilities, 1 − cosine similarity per row, and cross-entropy with integer labels. Each
// returns a scalar tensor that backward() can start from; the teacher is always a constant.

import { noGrad } from './autograd.js';
import { tidy } from './scope.js';
import { normAxis, splitAt } from './shape.js';
import { tensor, type Tensor } from './tensor.js';
import { add, affine, div, mul, neg, softplus, sqrt, sub } from './ops/elementwise.js';
import { mean, sum } from './ops/reduce.js';
import { reshape } from './ops/shape-ops.js';
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


/**
 * Mean over elements of KL(Bernoulli(p) ‖ Bernoulli(σ(z))) for student logits z and teacher
 * probabilities p ∈ [0, 1]: p·(log p − log σ(z)) + (1 − p)·(log(1 − p) − log(1 − σ(z))), with
 * log σ(z) = −softplus(−z) and log(1 − σ(z)) = −softplus(z). d/dz = σ(z) − p.
 */
export function binaryKlLoss(studentLogits: Tensor, teacherProbs: Tensor): Tensor {
  if (studentLogits.size !== teacherProbs.size) throw new Error(`binaryKlLoss: student [${studentLogits.shape}] vs teacher [${teacherProbs.shape}]`);
  const p = teacherProbs.toArray();
  let entropy = 0; // Σ p log p + (1 − p) log(1 − p): the teacher's part, a constant
  for (let i = 0; i < p.length; i++) {
    const v = Math.min(1, Math.max(0, p[i]!));
    if (v > 0) entropy += v * Math.log(v);
    if (v < 1) entropy += (1 - v) * Math.log(1 - v);
  }
  const n = studentLogits.size;
  return tidy(() => {
    const z = studentLogits.shape.join() === teacherProbs.shape.join() ? studentLogits : reshape(studentLogits, teacherProbs.shape);
    // −[p log σ(z) + (1 − p) log(1 − σ(z))] = p·softplus(−z) + (1 − p)·softplus(z)
    const cross = add(mul(teacherProbs, softplus(neg(z))), mul(affine(teacherProbs, -1, 1), softplus(z)));
    return affine(sum(cross), 1 / n, entropy / n);
  });
}

/**
 * Mean over rows (axis 0) of 1 − cos(student row, teacher row), each row being everything after
 * the first axis. `eps` keeps a zero row finite (its cosine counts as 0).
 */
export function cosineLoss(student: Tensor, teacher: Tensor, eps = 1e-8): Tensor {
  if (student.shape.join() !== teacher.shape.join()) throw new Error(`cosineLoss: student [${student.shape}] vs teacher [${teacher.shape}]`);
  const rows = student.shape[0] ?? 1;
  const features = student.shape.map((_, i) => i).slice(1);
  if (!features.length) throw new Error('cosineLoss: needs rows of at least one feature ([N, …])');
  return tidy(() => {
    const dot = sum(mul(student, teacher), features);
    const ns = sqrt(affine(sum(mul(student, student), features), 1, eps));
    const nt = noGrad(() => sqrt(affine(sum(mul(teacher, teacher), features), 1, eps)));
    return affine(sum(div(dot, mul(ns, nt))), -1 / rows, 1);
  });
}
