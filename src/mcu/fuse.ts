// Fusion on the lowered graph, where it saves RAM or passes over memory (on top of the epilogue a
// version-2 ai.tbn op carries: scale, shift, residual and activation, read into the same Post):
//   Conv / TbnConv  + BatchNormalization (a per-channel affine: scale·v + shift, computed here)
//                   + Relu + MaxPool (pooled on the fly: the full-resolution output never exists)
//   MatMul / TbnMatMul + Add of a constant bias along the last axis + Relu
//   Gemm / TbnGemm  + Relu
// A node is absorbed only when it is the sole reader of the value between the two and that
// value is not a graph output. Max pooling commutes with the monotone affine·ReLU only in the
// order conv → (BN) → (ReLU) → pool; a BatchNorm after the pool is never folded across it.

import { attrsOf, constFloats, consumers, isConst, numel, tensorOf, type LGraph, type LNode, type Post } from './graph.js';
import { checkBatchNorm } from './emitters/normalize.js';
import { batchNormAffine } from './emitters/normalize.js';

const CONV = new Set(['Conv', 'TbnConv']);
const MATMUL = new Set(['MatMul', 'TbnMatMul']);
const GEMM = new Set(['Gemm', 'TbnGemm']);

/** A fused op's own epilogue (ai.tbn version 2: scale, shift, residual inputs and activation
 * attributes) as a Post: act(scale·(v + bias) + shift + residual) = act(scale·v + shift' + residual). */
function epiloguePost(n: LNode, g: LGraph, channels: number, bias: Float32Array | undefined): Post {
  const first = n.op === 'TbnMatMul' ? 3 : 4;
  const [scaleName, shiftName, residual] = [n.inputs[first], n.inputs[first + 1], n.inputs[first + 2]];
  const perChannel = (name: string | undefined) => {
    if (!name) return undefined;
    const v = constFloats(g, name);
    return v.length === channels ? v : new Float32Array(channels).fill(v[0]!);
  };
  const scale = perChannel(scaleName);
  let shift = perChannel(shiftName);
  if (bias && (scale || shift)) {
    shift = Float32Array.from(bias, (b, c) => (scale ? scale[c]! : 1) * b + (shift ? shift[c]! : 0));
  } else if (bias) shift = bias;
  // A one-value residual is a constant added everywhere (the fold's identity): part of the shift.
  const oneValue = residual && isConst(g, residual) && numel(tensorOf(g, residual).shape) === 1;
  if (oneValue) shift = Float32Array.from(shift ?? new Float32Array(channels), (t) => t + constFloats(g, residual)[0]!);
  return {
    scale,
    shift,
    act: attrsOf(n).int('activation', 0),
    actAlpha: attrsOf(n).float('activation_alpha', 0.01),
    actBeta: attrsOf(n).float('activation_beta', 0),
    residual: residual && !oneValue ? residual : undefined,
  };
}

function initialPost(n: LNode, g: LGraph): Post {
  if (n.post) return n.post;
  const y = tensorOf(g, n.outputs[0]!).shape;
  if (CONV.has(n.op)) {
    const bias = n.inputs[n.op === 'TbnConv' ? 3 : 2];
    const b = bias ? constFloats(g, bias) : undefined;
    return n.op === 'TbnConv' ? epiloguePost(n, g, y[1]!, b) : { shift: b, act: 0 };
  }
  if (n.op === 'TbnGemm' || n.op === 'TbnMatMul') return epiloguePost(n, g, y[y.length - 1]!, undefined);
  return { act: 0 };
}

/** Folds `next` into `n` when the pair is one of the patterns above; returns whether it did. */
function absorb(n: LNode, next: LNode, g: LGraph): boolean {
  const post = initialPost(n, g);
  const y = n.outputs[0]!;
  const plain = post.act === 0 && !post.residual;
  if (next.op === 'Relu' && (CONV.has(n.op) || MATMUL.has(n.op) || GEMM.has(n.op)) && post.act === 0) {
    n.post = { ...post, act: 1 };
  } else if (next.op === 'BatchNormalization' && CONV.has(n.op) && plain && !n.pool && next.inputs[0] === y) {
    if (checkBatchNorm(next, g)) return false;
    const bn = batchNormAffine(next, g);
    // bn(scale·v + shift) = (s·scale)·v + (s·shift + t), in float64 then float32
    const scale = new Float32Array(bn.scale.length);
    const shift = new Float32Array(bn.scale.length);
    for (let c = 0; c < scale.length; c++) {
      scale[c] = bn.scale[c]! * (post.scale?.[c] ?? 1);
      shift[c] = bn.scale[c]! * (post.shift?.[c] ?? 0) + bn.shift[c]!;
    }
    n.post = { scale, shift, act: 0 };
  } else if (next.op === 'MaxPool' && CONV.has(n.op) && !n.pool && !next.outputs[1]) {
    n.post = post;
    n.pool = { node: next, inShape: tensorOf(g, y).shape };
  } else if (next.op === 'Add' && MATMUL.has(n.op) && plain && !post.shift && !post.scale) {
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
  // Conv and tiled nodes always carry their post (bias as shift, their own epilogue) so emitters
  // see one representation.
  for (const n of nodes) if (CONV.has(n.op) || n.op === 'TbnGemm' || n.op === 'TbnMatMul') n.post = initialPost(n, g);
  return { ...g, nodes };
}
