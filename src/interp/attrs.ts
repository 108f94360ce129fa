// Typed attribute readers for ONNX nodes, with spec defaults. int64 attributes may be bigint
// in the IR (values beyond 2^53); they are read as numbers, which keeps INT64_MAX-style
// sentinels as huge values that the ops clamp.

import { getAttr } from '../ir/graph.js';
import type { Node, Tensor as IrTensor } from '../ir/types.js';

export class Attrs {
  constructor(readonly node: Node) {}

  has(name: string): boolean {
    return getAttr(this.node, name) !== undefined;
  }

  int(name: string, def: number): number;
  int(name: string): number | undefined;
  int(name: string, def?: number): number | undefined {
    const a = getAttr(this.node, name);
    return a?.i !== undefined ? Number(a.i) : def;
  }

  ints(name: string, def: number[]): number[];
  ints(name: string): number[] | undefined;
  ints(name: string, def?: number[]): number[] | undefined {
    const a = getAttr(this.node, name);
    return a?.ints ? a.ints.map(Number) : def;
  }

  float(name: string, def: number): number;
  float(name: string): number | undefined;
  float(name: string, def?: number): number | undefined {
    const a = getAttr(this.node, name);
    return a?.f !== undefined ? a.f : def;
  }

  floats(name: string): number[] | undefined {
    return getAttr(this.node, name)?.floats;
  }

  string(name: string, def: string): string;
  string(name: string): string | undefined;
  string(name: string, def?: string): string | undefined {
    const a = getAttr(this.node, name);
    return a?.s ? new TextDecoder().decode(a.s) : def;
  }

  tensor(name: string): IrTensor | undefined {
    return getAttr(this.node, name)?.t;
  }
}
