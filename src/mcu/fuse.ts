// Fusion on the lowered graph, where it saves RAM or passes over memory:
//   Conv / TbnConv  + BatchNormalization (a per-channel affine: scale·v + shift, computed here)
//                   + Relu + MaxPool (pooled on the fly: the full-resolution output never exists)
//   MatMul / TbnMatMul + Add of a constant bias along the last axis + Relu
//   Gemm / TbnGemm  + Relu
// A node is absorbed only when it is the sole reader of the value between the two and that
// value is not a graph output. Max pooling commutes with the monotone affine·ReLU only in the
// order conv → (BN) → (ReLU) → pool; a BatchNorm after the pool is never folded across it.

import { constFloats, consumers, isConst, numel, tensorOf, type LGraph, type LNode, type Post } from './graph.js';
import { checkBatchNorm } from './emitters/normalize.js';
import { batchNormAffine } from './emitters/normalize.js';

const CONV = new Set(['Conv', 'TbnConv']);
const MATMUL = new Set(['MatMul', 'TbnMatMul']);
const GEMM = new Set(['Gemm', 'TbnGemm']);

function initialPost(n: LNode, g: LGraph): Post {
  if (n.post) return n.post;
  if (CONV.has(n.op)) {
    const bias = n.inputs[n.op === 'TbnConv' ? 3 : 2];
    return { shift: bias ? constFloats(g, bias) : undefined, act: 'none' };
  }
  return { act: 'none' };
}

/** Folds `next` into `n` when the pair is one of the patterns above; returns whether it did. */
function absorb(n: LNode, next: LNode, g: LGraph): boolean {
  const post = initialPost(n, g);
  const y = n.outputs[0]!;
  if (next.op === 'Relu' && (CONV.has(n.op) || MATMUL.has(n.op) || GEMM.has(n.op)) && post.act === 'none') {
    n.post = { ...post, act: 'relu' };
  } else if (next.op === 'BatchNormalization' && CONV.has(n.op) && post.act === 'none' && !n.pool && next.inputs[0] === y) {
    if (checkBatchNorm(next, g)) return false;
    const bn = batchNormAffine(next, g);
    // bn(scale·v + shift) = (s·scale)·v + (s·shift + t), in float64 then float32
    const scale = new Float32Array(bn.scale.length);
    const shift = new Float32Array(bn.scale.length);
    for (let c = 0; c < scale.length; c++) {
      scale[c] = bn.scale[c]! * (post.scale?.[c] ?? 1);
      shift[c] = bn.scale[c]! * (post.shift?.[c] ?? 0) + bn.shift[c]!;
    }
    n.post = { scale, shift, act: 'none' };
  } else if (next.op === 'MaxPool' && CONV.has(n.op) && !n.pool && !next.outputs[1]) {
    n.post = post;
    n.pool = { node: next, inShape: tensorOf(g, y).shape };
  } else if (next.op === 'Add' && MATMUL.has(n.op) && post.act === 'none' && !post.shift) {
    const other = next.inputs[0] === y ? next.inputs[1]! : next.inputs[0]!;
    const ys = tensorOf(g, y).shape;
    const cols = ys[ys.length - 1]!;
    if (!isConst(g, other) || next.inputs[0] === next.inputs[1]) return false;
    const bs = tensorOf(g, other).shape;
    const onlyLast = numel(bs) === cols && (bs.length === 0 ? cols === 1 : bs[bs.length - 1] === cols) && bs.length <= ys.length;
    if (!onlyLast || numel(tensorOf(g, next.outputs[0]!).shape) !== numel(ys)) return false;
    n.post = { ...post, shift: constFloats(g, other) };
  } else return false;
  n.fused.push({ name: next.name, op: next.op });
  n.outputs = [next.outputs[0]!];
  return true;
}

export function fuseGraph(g: LGraph): LGraph {
  const nodes = [...g.nodes];
  const outputs = new Set(g.outputs);
  for (let changed = true; changed; ) {
    changed = false;
    const readers = consumers({ ...g, nodes });
    for (let i = 0; i < nodes.length && !changed; i++) {
      const n = nodes[i]!;
      const y = n.outputs[0];
      if (!y || n.outputs.length > 1 || outputs.has(y)) continue;
      const r = readers.get(y);
      if (!r || r.length !== 1) continue;
      const next = nodes[r[0]!]!;
      if (absorb(n, next, g)) {
        nodes.splice(r[0]!, 1);
        changed = true;
      }
    }
  }
  // Conv nodes always carry their post (bias as shift) so emitters see one representation.
  for (const n of nodes) if (CONV.has(n.op)) n.post = initialPost(n, g);
  return { ...g, nodes };
}
