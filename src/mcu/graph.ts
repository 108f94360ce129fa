// The lowered graph the C exporter works on: only the nodes that run per inference, every
// tensor with a concrete shape (batch 1), constants with their values (folded by onnxruntime at
// export time), and fused nodes that carry what they absorbed (BatchNorm, bias, ReLU, MaxPool).
// Built by lower.ts, rewritten by fuse.ts, read by the emitters and the arena planner.

import type { ElementType, NumericArray } from '../ir/dtype.js';
import { Attrs } from '../ir/attrs.js';
import type { Attribute } from '../ir/types.js';

export interface LTensor {
  name: string;
  dtype: ElementType;
  shape: number[];
  /** Present for constants (known at export time, placed in flash). */
  data?: NumericArray;
}

/** What a layer's raw output goes through: act(scale·v + shift + residual), per output channel. */
export interface Post {
  scale?: Float32Array;
  shift?: Float32Array;
  /** An ai.tbn epilogue activation code (format.ts ACTIVATIONS): 0 none, 1 Relu, … */
  act: number;
  actAlpha?: number;
  actBeta?: number;
  /** A tensor of the output's shape added before the activation (a folded residual Add). */
  residual?: string;
}

export interface LNode {
  /** The ONNX node's name (unique; generated as op_index when the file has none). */
  name: string;
  /** Emitter key: the ONNX op type, the ai.tbn op type, or domain.op for other domains. */
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attribute[];
  /** ONNX nodes folded into this one, in order (for comments and the report). */
  fused: { name: string; op: string }[];
  /** Fused affine/activation (Conv, Gemm, MatMul and their tiled forms). */
  post?: Post;
  /** A MaxPool folded into a convolution: the pooling node (attributes) and its input shape. */
  pool?: { node: LNode; inShape: number[] };
}

export interface LGraph {
  tensors: Map<string, LTensor>;
  nodes: LNode[];
  inputs: string[];
  outputs: string[];
  /** Default-domain opset of the model (semantics of Softmax, Squeeze, … depend on it). */
  opset: number;
}

export function tensorOf(g: LGraph, name: string): LTensor {
  const t = g.tensors.get(name);
  if (!t) throw new Error(`internal: no tensor '${name}'`);
  return t;
}

export const isConst = (g: LGraph, name: string): boolean => !!name && g.tensors.get(name)?.data !== undefined;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The node's attributes, read with the IR's typed reader. */
export const attrsOf = (n: LNode): Attrs => new Attrs(n.attrs);

/** Constant values as plain numbers (int64 included). */
export function constValues(g: LGraph, name: string): number[] {
  const d = tensorOf(g, name).data;
  if (!d) throw new Error(`internal: '${name}' is not a constant`);
  return Array.from(d as ArrayLike<number | bigint>, Number);
}

export function constFloats(g: LGraph, name: string): Float32Array {
  const d = tensorOf(g, name).data;
  if (d instanceof Float32Array) return d;
  return Float32Array.from(constValues(g, name));
}

/** Consumers of each value (node indices), and graph outputs. */
export function consumers(g: LGraph): Map<string, number[]> {
  const m = new Map<string, number[]>();
  g.nodes.forEach((n, i) =>
    n.inputs.forEach((v) => {
      if (!v) return;
      const list = m.get(v) ?? [];
      if (list[list.length - 1] !== i) list.push(i);
      m.set(v, list);
    }),
  );
  return m;
}

/** Normalises a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** A label for messages: node 'name' (Op). */
export const nodeName = (n: LNode) => `'${n.name}' (${n.op})`;
