// Matrix products. mm() is the one recorded primitive: batched, broadcasting over the leading
// axes, with either operand read transposed; its backward is two more mm() calls folded back
// onto each operand's shape. matmul() adds NumPy's 1-D promotion; gemm() ONNX's alpha/beta.

import { record } from '../autograd.js';
import { broadcastShapes, contiguousStrides } from '../shape.js';
import { tidy } from '../scope.js';
import { empty, type Tensor } from '../tensor.js';
import { sumToShape } from './broadcast.js';
import { add, affine } from './elementwise.js';
import { reshape } from './shape-ops.js';

function batchStrides(shape: readonly number[], batch: readonly number[]): number[] {
  const own = shape.slice(0, -2);
  const st = contiguousStrides(shape).slice(0, -2);
  const lead = batch.length - own.length;
  return batch.map((_, i) => (i < lead || own[i - lead] === 1 ? 0 : st[i - lead]!));
}

/** op(a) · op(b) over the last two axes; a, b of rank ≥ 2; leading axes broadcast. */
export function mm(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  if (a.rank < 2 || b.rank < 2) throw new Error(`mm: operands need rank ≥ 2, got [${a.shape}] and [${b.shape}]`);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error(`matrix product of ${a.dtype} and ${b.dtype} (float32 only)`);
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) throw new Error(`matrix product of [${a.shape}]${transA ? 'ᵀ' : ''} and [${b.shape}]${transB ? 'ᵀ' : ''}: inner sizes ${k} ≠ ${k2}`);
  if (b.rank === 2 && a.rank > 2 && !transA) {
    // x[…, m, k] · W: one GEMM over all rows (m·batch) instead of one per batch entry; the
    // weight gradient then comes out as one product too, with no sum over the batch.
    return tidy(() => reshape(mm(reshape(a, [a.size / ac, ac]), b, false, transB), [...a.shape.slice(0, -1), n]));
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = empty([...batch, m, n], 'float32', a.backend);
  a.backend.matmul(a.buf, b.buf, out.buf, {
    batch,
    aBatchStrides: batchStrides(a.shape, batch),
    bBatchStrides: batchStrides(b.shape, batch),
    m, n, k, transA, transB,
  });
  const [as, bs] = [a.shape, b.shape];
  return record(out, 'matmul', [a, b], [a, b], (g, [sa, sb], need) => [
    need[0] ? sumToShape(transA ? mm(sb!, g, transB, true) : mm(g, sb!, false, !transB), as) : undefined,
    need[1] ? sumToShape(transB ? mm(g, sa!, true, transA) : mm(sa!, g, !transA, false), bs) : undefined,
  ]);
}

/** NumPy/ONNX MatMul: 1-D operands are promoted to matrices and the added axis removed. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank >= 2 && b.rank >= 2) return mm(a, b);
  return tidy(() => {
    const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]!]) : a;
    const b2 = b.rank === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
    const y = mm(a2, b2);
    const shape = [...y.shape];
    if (b.rank === 1) shape.pop();
    if (a.rank === 1) shape.splice(shape.length - (b.rank === 1 ? 1 : 2), 1);
    return reshape(y, shape);
  });
}

/** ONNX Gemm: alpha·op(A)·op(B) + beta·C, C broadcast to the result. */
export function gemm(a: Tensor, b: Tensor, c: Tensor | undefined, opts: { alpha?: number; beta?: number; transA?: boolean; transB?: boolean } = {}): Tensor {
  const { alpha = 1, beta = 1, transA = false, transB = false } = opts;
  return tidy(() => {
    let y = mm(a, b, transA, transB);
    if (alpha !== 1) y = affine(y, alpha, 0);
    if (c && beta !== 0) y = add(y, beta === 1 ? c : affine(c, beta, 0));
    return y;
  });
}
