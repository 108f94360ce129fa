// Where every tensor of the model lives: the C names of the inputs and outputs (one namespace
// with every other identifier of the model file) and the arena plan for the run-time tensors.

import { dtypeBits } from '../../ir/dtype.js';
import { planArena, type ArenaPlan, type PlanStep, type PlanValue } from '../arena.js';
import { Idents } from '../c-text.js';
import { emitterFor } from '../emitters/index.js';
import { numel, tensorOf, type LGraph } from '../graph.js';

export interface IoInfo {
  name: string;
  param: string;
  ctype: string;
  shape: number[];
  size: number;
  macro: string;
}

export interface ModelPlan {
  idents: Idents;
  inputs: IoInfo[];
  outputs: IoInfo[];
  arena: ArenaPlan;
  /** The arena's C symbol. */
  arenaSym: string;
  /** Caller buffer (input or output tensor) → its parameter name. */
  param: Map<string, string>;
  /** C pointer expression for a run-time tensor's storage. */
  storageOf(v: string): string;
  /**
   * A run-time tensor as the C text names it: an input or output by its own name, any other
   * after the node that computes it (tbn compress shortens those values' names; exporters name
   * them after their node anyway).
   */
  label(v: string): string;
}

const elemCType = (dtype: string): string => (dtype === 'int64' ? 'int64_t' : dtype === 'int32' ? 'int32_t' : 'float');

export function planModel(g: LGraph, name: string): ModelPlan {
  const NAME = name.toUpperCase();
  const ioInfo = (list: string[], dir: 'INPUT' | 'OUTPUT', used: Idents): IoInfo[] =>
    list.map((v, i) => {
      const t = tensorOf(g, v);
      return { name: v, param: used.fresh(v), ctype: elemCType(t.dtype), shape: t.shape, size: numel(t.shape), macro: `${NAME}_${dir}${list.length > 1 ? i : ''}_SIZE` };
    });
  // One namespace for parameters, locals and file-scope statics, so no name shadows another.
  const idents = new Idents([name, `${name}_arena`, `${name}_run`]);
  const inputs = ioInfo(g.inputs, 'INPUT', idents);
  const outputs = ioInfo(g.outputs, 'OUTPUT', idents);

  const runtime = new Set<string>();
  for (const n of g.nodes) for (const v of [...n.inputs, ...n.outputs]) if (v && !tensorOf(g, v).data) runtime.add(v);
  const values: PlanValue[] = [...runtime].map((v) => {
    const t = tensorOf(g, v);
    const role = g.inputs.includes(v) ? 'input' : g.outputs.includes(v) ? 'output' : 'temp';
    return { name: v, bytes: (numel(t.shape) * dtypeBits(t.dtype)) / 8, role };
  });
  const steps: PlanStep[] = g.nodes.map((n) => {
    const e = emitterFor(n.op)!;
    const reads = n.inputs.filter((v) => runtime.has(v));
    return { reads, writes: n.outputs, alias: e.alias, inPlace: e.inPlace?.(n, g).map((i) => reads.indexOf(n.inputs[i]!)).filter((i) => i >= 0), scratchBytes: 4 * (e.scratch?.(n, g) ?? 0) };
  });
  const arena = planArena(values, steps);
  const arenaSym = `${name}_arena`;
  const param = new Map([...inputs, ...outputs].map((io) => [io.name, io.param]));
  const storageOf = (v: string): string => {
    const s = arena.storage.get(v)!;
    return s.kind === 'temp' ? `${arenaSym} + ${s.offset / 4}` : param.get(s.buffer!)!;
  };
  const labels = new Map<string, string>();
  for (const n of g.nodes) if (n.name) n.outputs.forEach((v, j) => v && labels.set(v, j ? `${n.name}_${j}` : n.name));
  const label = (v: string): string => (param.has(v) ? v : labels.get(v) ?? v);
  return { idents, inputs, outputs, arena, arenaSym, param, storageOf, label };
}
