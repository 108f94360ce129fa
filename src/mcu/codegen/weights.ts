// <name>_weights.c: every constant of the model as a const array (placed in flash).

import { cText } from '../c-text.js';
import type { ModelConstants } from './constants.js';
import { provenanceComment, type Provenance } from './provenance.js';

export function weightsSource(name: string, prov: Provenance, consts: ModelConstants): string {
  const arrays = [...consts.consts.values()];
  const needsMath = arrays.some((c) => /INFINITY|NAN/.test(c.body));
  return [
    provenanceComment(prov, `${name}_weights.c — every constant of the model, as const arrays (flash).`),
    '#include <stdint.h>',
    ...(needsMath ? ['#include <math.h>'] : []),
    '',
    ...arrays.flatMap((c) => [`/* ${cText(c.comment)} */`, `const ${c.ctype} ${c.symbol}[${c.count}] = ${c.body};`, '']),
  ].join('\n');
}
