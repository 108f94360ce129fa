// The contract between the code generator and the per-op emitters. An emitter says whether it
// can emit a node (and why not), how the node uses memory (alias, in place, scratch), and
// writes the C statements that compute it. The generator owns names, flash arrays and the
// arena; emitters only ask for them through EmitCtx.

import type { CType } from '../c-text.js';
import type { LGraph, LNode } from '../graph.js';

/** What a flash array holds, for the size report. */
export type ConstKind = 'tile' | 'scale' | 'weight';

export interface EmitCtx {
  g: LGraph;
  /** C expression for a tensor: its arena / argument pointer, or its flash array. */
  ptr(name: string): string;
  /** Where a run-time tensor's bytes are (equal strings = same storage). */
  storage(name: string): string;
  /** A constant array in flash (deduplicated by content); returns its symbol. */
  constArray(hint: string, ctype: CType, data: ArrayLike<number | bigint>, comment: string, kind?: ConstKind): string;
  /** A file-scope `static const <type> <name> = <init>;` in the model file; returns the name. */
  define(hint: string, ctype: string, init: string): string;
  /** Pointer to this node's scratch space (floats), when its emitter asked for some. */
  scratch: string;
}

export interface Emitted {
  /** C statements (no trailing newline). */
  code: string[];
  /** Runtime kernel(s) called, for the report; '' for nodes that need no code. */
  kernel: string;
  /** One line that explains a choice (e.g. how a tile is reused), for the C comment. */
  note?: string;
}

export interface OpEmitter {
  /** Why this node cannot be emitted (unsupported attribute, non-constant weight, …). */
  check(n: LNode, g: LGraph): string | undefined;
  /** Output 0 is input 0 seen with another shape: no code, same storage. */
  alias?: boolean;
  /** Inputs whose storage output 0 may take over when they die at this node. */
  inPlace?(n: LNode, g: LGraph): number[];
  /** Floats of scratch space the node needs while it runs. */
  scratch?(n: LNode, g: LGraph): number;
  emit(n: LNode, cx: EmitCtx): Emitted;
}
