// Planning a program's runs. Values are constant (initializers, Constant outputs, and
// anything computed from constants alone), live (trainable parameters, values with a
// producer, and everything downstream of them), or dynamic (downstream of graph inputs).
// Constant nodes that no live value feeds are folded once here; nodes that depend on the
// inputs' shapes only (Shape → Gather → Concat → Reshape chains) are marked shape-only, so a
// run can take their values from a cache keyed by the input shapes.

import * as E from '../engine/index.js';
import type { Node } from '../ir/types.js';
import type { Kernel, RunContext } from './registry.js';

export interface Step {
  index: number;
  node: Node;
  /** The node's name, or '#index (first output)'. */
  key: string;
  label: string;
  kernel: Kernel;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Depends on constants and input shapes only. */
  shapeOnly: boolean;
  /** The op's own output depends only on its input's shape (Shape, Size). */
  readsShapeOnly: boolean;
  /** This node and the Relu that alone reads its output, as one kernel (OpDef.fuseRelu). */
  fusedRelu?: FusedRelu;
}

export interface FusedRelu {
  kernel: Kernel;
  /** The Relu's node index (its step is skipped when the fused kernel runs) and output. */
  relu: number;
  output: string;
}

export interface Plan {
  /** Constants and folded values (kept; the plan owns the folded ones). */
  folded: Map<string, E.Tensor>;
  /** Names this plan folded (disposed when it is replaced). */
  derived: string[];
  steps: Step[];
  /** Reads of each value by the steps, for all steps / for the steps a cached run skips not. */
  usesAll: Map<string, number>;
  usesDynamic: Map<string, number>;
}

export function makePlan(steps: readonly Step[], constants: ReadonlyMap<string, E.Tensor>, live: ReadonlySet<string>, labelError: (s: Step, e: unknown) => Error): Plan {
  const folded = new Map(constants);
  const derived: string[] = [];
  const tainted = new Set(live);
  const shapeOnlyValues = new Set<string>();
  const kept: Step[] = [];
  const rt: RunContext = { batchStats: false, bnStats: new Map(), nodeName: '' };
  for (const s of steps) {
    const ins = s.inputs.filter(Boolean);
    if (ins.some((n) => tainted.has(n))) {
      s.outputs.forEach((o) => o && tainted.add(o));
      kept.push({ ...s, shapeOnly: false });
      continue;
    }
    if (ins.every((n) => folded.has(n))) {
      rt.nodeName = s.key;
      let outs: (E.Tensor | undefined)[];
      try {
        outs = E.noGrad(() => E.tidy(() => s.kernel(s.inputs.map((n) => (n ? folded.get(n) : undefined)), rt)));
      } catch (e) {
        throw labelError(s, e);
      }
      s.outputs.forEach((o, i) => {
        const t = outs[i];
        if (o && t) {
          folded.set(o, E.keep(t));
          derived.push(o);
        } else t?.dispose();
      });
      outs.slice(s.outputs.length).forEach((t) => t?.dispose());
      continue;
    }
    const shapeOnly = s.readsShapeOnly || (ins.some((n) => shapeOnlyValues.has(n)) && ins.every((n) => shapeOnlyValues.has(n) || folded.has(n)));
    if (shapeOnly) s.outputs.forEach((o) => o && shapeOnlyValues.add(o));
    kept.push({ ...s, shapeOnly });
  }
  const count = (onlyDynamic: boolean) => {
    const m = new Map<string, number>();
    for (const s of kept) if (!onlyDynamic || !s.shapeOnly) for (const n of s.inputs) if (n) m.set(n, (m.get(n) ?? 0) + 1);
    return m;
  };
  return { folded, derived, steps: kept, usesAll: count(false), usesDynamic: count(true) };
}

export function disposePlan(p: Plan): void {
  for (const n of p.derived) p.folded.get(n)?.dispose();
}
