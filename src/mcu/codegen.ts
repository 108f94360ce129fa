// Lowered graph → C sources: <name>.h (API, sizes), <name>.c (the graph as straight-line
// kernel calls, one commented block per ONNX node, parameters as static const structs, the
// static arena), <name>_weights.c (every constant as a const array: flash), and the kernel
// runtime. Memory comes from the arena planner (codegen/plan.ts); each op's code from its
// emitter, with the constants it asks for collected in codegen/constants.ts.

import type { ArenaPlan } from './arena.js';
import { emitBody, modelSource, type LayerReport } from './codegen/body.js';
import { ModelConstants, type FlashBytes } from './codegen/constants.js';
import { modelHeader, runSignature } from './codegen/header.js';
import { planModel, type IoInfo } from './codegen/plan.js';
import { provenanceComment, type Provenance } from './codegen/provenance.js';
import { weightsSource } from './codegen/weights.js';
import type { LGraph } from './graph.js';
import { kernelFiles } from './kernel-runtime.js';

export type { IoInfo, LayerReport, Provenance };

export interface GeneratedC {
  name: string;
  files: Record<string, string>;
  arena: ArenaPlan;
  /** Bytes of constant data by kind (the <NAME>_FLASH_BYTES macro is their sum). */
  flash: FlashBytes;
  layers: LayerReport[];
  inputs: IoInfo[];
  outputs: IoInfo[];
}

export function generateC(g: LGraph, name: string, prov: Provenance): GeneratedC {
  const plan = planModel(g, name);
  const consts = new ModelConstants(g, name, plan);
  const { body, layers } = emitBody(g, plan, consts);
  const flash = consts.flash();
  const signature = runSignature(name, plan);

  const runtime = Object.entries(kernelFiles()).map(([f, text]) => [f, `${provenanceComment(prov, 'tbn kernel runtime, copied verbatim.')}\n${text}`]);
  return {
    name,
    files: {
      [`${name}.h`]: modelHeader(name, prov, plan, flash, signature),
      [`${name}.c`]: modelSource(g, name, prov, plan, consts, body, signature),
      [`${name}_weights.c`]: weightsSource(name, prov, consts),
      ...Object.fromEntries(runtime),
    },
    arena: plan.arena,
    flash,
    layers,
    inputs: plan.inputs,
    outputs: plan.outputs,
  };
}
