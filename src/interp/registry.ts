// The interpreter's op table: ONNX op type (default domain) → how to check a node and how to
// build its kernel. Attributes are parsed once when the program is built; kernels map engine
// tensors to engine tensors and may use any differentiable engine op (the program runs each
// kernel in a tidy() scope, so temporaries are freed and gradients flow).

import type { Tensor } from '../engine/index.js';
import type { ElementType } from '../ir/dtype.js';
import type { Node } from '../ir/types.js';
import type { Attrs } from '../ir/attrs.js';

export interface BatchStats {
  /** Per-channel batch mean and (biased) variance, and the elements each was taken over. */
  mean: Float32Array;
  var: Float32Array;
  count: number;
}

export interface RunContext {
  /** BatchNormalization normalises with the batch's statistics and reports them. */
  batchStats: boolean;
  bnStats: Map<string, BatchStats>;
  /** The node being run (its name, or its first output when unnamed). */
  nodeName: string;
}

export type Kernel = (inputs: readonly (Tensor | undefined)[], rt: RunContext) => (Tensor | undefined)[];

export interface OpDef {
  /** First default-domain opset that has this op. */
  since?: number;
  /** Why this node cannot run here (an unsupported attribute value…), or undefined. */
  check?: (a: Attrs, node: Node, opset: number) => string | undefined;
  /** `typeOf` gives the ONNX element type of a constant input (an initializer or Constant). */
  make: (a: Attrs, node: Node, opset: number, typeOf?: (value: string) => ElementType | undefined) => Kernel;
  /** Output depends on its input's shape only (Shape, Size): foldable once shapes are known. */
  shapeOnly?: boolean;
  /**
   * The kernel of this node followed by a Relu, as one fused op (undefined when this node's
   * attributes rule it out). Used when the node's only consumer is a Relu (plan.ts).
   */
  fuseRelu?: (a: Attrs, node: Node, opset: number) => Kernel | undefined;
}

export type OpTable = Record<string, OpDef>;

/** Throws with the node's context; the program turns it into a UserError. */
export function fail(msg: string): never {
  throw new Error(msg);
}

export function need(t: Tensor | undefined, what: string): Tensor {
  return t ?? fail(`missing input ${what}`);
}
