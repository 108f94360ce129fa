// <name>.c: the graph as straight-line kernel calls, one commented block per ONNX node, with
// the layer parameters as static const structs and the static arena.

import { cText } from '../c-text.js';
import { shapeText } from '../emitters/common.js';
import { emitterFor, type EmitCtx } from '../emitters/index.js';
import { numel, tensorOf, type LGraph, type LNode } from '../graph.js';
import type { ModelConstants } from './constants.js';
import type { ModelPlan } from './plan.js';
import { provenanceComment, type Provenance } from './provenance.js';

export interface LayerReport {
  node: string;
  op: string;
  /** Op types of the ONNX nodes folded into this one. */
  fused: string[];
  kernel: string;
  note?: string;
  flashBytes: number;
}

/** Runs every node's emitter: the statements of the run function and one report per layer. */
export function emitBody(g: LGraph, plan: ModelPlan, consts: ModelConstants): { body: string[]; layers: LayerReport[] } {
  const body: string[] = [];
  const layers: LayerReport[] = [];
  g.nodes.forEach((n, i) => {
    consts.resetLayer();
    const cx: EmitCtx = {
      g,
      ptr: consts.ptr,
      storage: (v) => (tensorOf(g, v).data ? consts.ptr(v) : plan.storageOf(v)),
      constArray: consts.constArray,
      define: consts.define,
      scratch: `${plan.arenaSym} + ${(plan.arena.scratch.get(i) ?? 0) / 4}`,
    };
    const out = emitterFor(n.op)!.emit(n, cx);
    layers.push({ node: n.name, op: n.op, fused: n.fused.map((f) => f.op), kernel: out.kernel, note: out.note, flashBytes: consts.layerFlash });
    body.push(...nodeComment(n, g, plan.label, i, out.note, out.code.length === 0), ...out.code.map((c) => `    ${c}`), '');
  });
  return { body, layers };
}

/** The model file around the body: constant declarations, parameters, arena, run function. */
export function modelSource(g: LGraph, name: string, prov: Provenance, plan: ModelPlan, consts: ModelConstants, body: string[], signature: string): string {
  const { arena, arenaSym, param } = plan;
  const decls = [...consts.locals].map(([v, local]) => {
    const s = arena.storage.get(v)!;
    const t = tensorOf(g, v);
    const where = s.kind === 'temp' ? `arena bytes ${s.offset}–${s.offset + (numel(t.shape) * 4) - 1}` : `the caller's ${param.get(s.buffer!)}`;
    const cq = s.kind === 'input' ? 'const float *const' : 'float *const';
    return `    ${cq} ${local} = ${plan.storageOf(v)}; /* ${cText(plan.label(v))} ${shapeText(t.shape)}, ${where} */`;
  });
  return [
    provenanceComment(prov, `${name}.c — the model as straight-line kernel calls, one block per ONNX node.`),
    `#include "${name}.h"`,
    '#include "tbn_kernels.h"',
    '',
    '#include <stddef.h>',
    '',
    `/* Constant data, defined in ${name}_weights.c (const: placed in flash). */`,
    ...[...consts.consts.values()].map((c) => `extern const ${c.ctype} ${c.symbol}[${c.count}];`),
    '',
    '/* Layer parameters (const: flash). */',
    ...consts.defs.flatMap((d) => [d, '']),
    ...(arena.bytes
      ? [
          `/* Every intermediate tensor, at offsets planned from tensor lifetimes (${arena.buffers.length} buffers, ${arena.bytes} bytes;`,
          ` * the largest set of tensors alive at one step takes ${arena.lowerBound} bytes). */`,
          `static float ${arenaSym}[${arena.bytes / 4}];`,
          '',
        ]
      : ['/* No intermediate tensors: no arena. */', '']),
    `${signature}`,
    '{',
    ...decls,
    ...(decls.length ? [''] : []),
    ...body.slice(0, -1),
    '}',
    '',
  ].join('\n');
}

function nodeComment(n: LNode, g: LGraph, label: (v: string) => string, i: number, note: string | undefined, noCode: boolean): string[] {
  const io = (vs: string[]) => vs.filter(Boolean).map((v) => `${label(v)} ${shapeText(tensorOf(g, v).shape)}`).join(', ');
  const lines = [
    `${i + 1}. ${n.name}: ${[n.op, ...n.fused.map((f) => f.op)].join(' + ')}`,
    ...(n.fused.length ? [`   fused: ${n.fused.map((f) => f.name).join(', ')}`] : []),
    `   in: ${io(n.inputs.filter((v) => !tensorOf(g, v).data))}`,
    `   out: ${io(n.outputs)}`,
    ...(note ? [`   ${note}`] : []),
    ...(noCode ? ['   a view of its input: no code, same storage'] : []),
  ];
  return [`    /* ${cText(lines[0]!)}`, ...lines.slice(1).map((l) => `     * ${cText(l)}`), '     */'];
}
