// Typed attribute readers for ONNX nodes, with spec defaults: the one reader of the IR graph,
// the interpreter and the C export (whose lowered nodes carry the same attribute list). int64
// attributes may be bigint in the IR (values beyond 2^53); they are read as numbers, which keeps
// INT64_MAX-style sentinels as huge values that the ops clamp.

import type { Attribute, Node, OnnxTensor } from './types.js';

/** A node's attribute by name (undefined when absent). */
export function getAttr(node: Node, name: string): Attribute | undefined {
  return node.attributes.find((a) => a.name === name);
}

export class Attrs {
  /** `list`: a node's attributes (Node.attributes, or a lowered node's copy of them). */
  constructor(readonly list: readonly Attribute[]) {}

  static of(node: Node): Attrs {
    return new Attrs(node.attributes);
  }

  get(name: string): Attribute | undefined {
    return this.list.find((a) => a.name === name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Names of the attributes present, in order. */
  names(): string[] {
    return this.list.map((a) => a.name ?? '');
  }

  int(name: string, def: number): number;
  int(name: string): number | undefined;
  int(name: string, def?: number): number | undefined {
    const a = this.get(name);
    return a?.i !== undefined ? Number(a.i) : def;
  }

  ints(name: string, def: number[]): number[];
  ints(name: string): number[] | undefined;
  ints(name: string, def?: number[]): number[] | undefined {
    const a = this.get(name);
    return a?.ints ? a.ints.map(Number) : def;
  }

  float(name: string, def: number): number;
  float(name: string): number | undefined;
  float(name: string, def?: number): number | undefined {
    const a = this.get(name);
    return a?.f !== undefined ? a.f : def;
  }

  floats(name: string): number[] | undefined {
    return this.get(name)?.floats;
  }

  string(name: string, def: string): string;
  string(name: string): string | undefined;
  string(name: string, def?: string): string | undefined {
    const a = this.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : def;
  }

  tensor(name: string): OnnxTensor | undefined {
    return this.get(name)?.t;
  }
}
