// <name>.h: the C API of the exported model (the run function, element counts, RAM and flash).

import { cText } from '../c-text.js';
import { shapeText } from '../emitters/common.js';
import type { FlashBytes } from './constants.js';
import type { ModelPlan } from './plan.js';
import { provenanceComment, type Provenance } from './provenance.js';

export function runSignature(name: string, plan: ModelPlan): string {
  const params = [...plan.inputs.map((i) => `const ${i.ctype} *${i.param}`), ...plan.outputs.map((o) => `${o.ctype} *${o.param}`)];
  return `void ${name}_run(${params.join(', ')})`;
}

export function modelHeader(name: string, prov: Provenance, plan: ModelPlan, flash: FlashBytes, signature: string): string {
  const NAME = name.toUpperCase();
  return [
    provenanceComment(prov, `${name}.h — C API of the exported model.`),
    `#ifndef ${NAME}_H`,
    `#define ${NAME}_H`,
    '',
    '#include <stdint.h>',
    '',
    '#ifdef __cplusplus',
    'extern "C" {',
    '#endif',
    '',
    '/* Element counts of the inputs and outputs (batch 1, row-major). */',
    ...[...plan.inputs, ...plan.outputs].map((io) => `#define ${io.macro} ${io.size} /* ${cText(io.name)}: ${io.ctype} ${shapeText(io.shape)} */`),
    '',
    `/* Static RAM for intermediate tensors: one arena, buffers reused when their tensors are dead. */`,
    `#define ${NAME}_ARENA_BYTES ${plan.arena.bytes}`,
    `/* Constant data in flash (weights, tile bits, scales); code and parameter structs not included. */`,
    `#define ${NAME}_FLASH_BYTES ${flash.total}`,
    '',
    `/* Runs one inference. Not reentrant: the intermediate tensors live in one static arena. */`,
    `${signature};`,
    '',
    '#ifdef __cplusplus',
    '}',
    '#endif',
    '',
    `#endif /* ${NAME}_H */`,
    '',
  ].join('\n');
}
