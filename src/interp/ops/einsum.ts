// Einsum over plain letters (no ellipsis, no repeated letter within one operand): every operand
// is transposed and broadcast to all the equation's letters, multiplied, and summed over the
// letters the output drops. Simple and differentiable; memory is the product of all dims.

import * as E from '../../engine/index.js';
import type { Attrs } from '../../ir/attrs.js';
import { fail, type OpTable } from '../registry.js';

interface Equation {
  inputs: string[];
  output: string;
}

export function parseEquation(eq: string): Equation | string {
  const s = eq.replace(/\s+/g, '');
  if (s.includes('.')) return 'ellipsis in the equation';
  const [lhs, rhs] = s.split('->') as [string, string | undefined];
  const inputs = lhs.split(',');
  if (inputs.some((t) => !/^[a-zA-Z]*$/.test(t) || new Set(t).size !== t.length)) return 'repeated letters (diagonals) in an operand';
  const counts = new Map<string, number>();
  for (const c of inputs.join('')) counts.set(c, (counts.get(c) ?? 0) + 1);
  const output = rhs ?? [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort().join('');
  if (![...output].every((c) => counts.has(c))) return `output letter not in any input`;
  return { inputs, output };
}

function einsum(eq: Equation, xs: readonly E.Tensor[]): E.Tensor {
  if (xs.length !== eq.inputs.length) fail(`${xs.length} inputs for ${eq.inputs.length} terms`);
  const letters = [...new Set(eq.inputs.join(''))];
  const dims = new Map<string, number>();
  let prod: E.Tensor | undefined;
  xs.forEach((x, i) => {
    const term = eq.inputs[i]!;
    if (term.length !== x.rank) fail(`term '${term}' for an input of rank ${x.rank}`);
    [...term].forEach((c, d) => {
      const have = dims.get(c);
      if (have !== undefined && have !== x.shape[d] && have !== 1 && x.shape[d] !== 1) fail(`letter '${c}' is ${have} and ${x.shape[d]}`);
      dims.set(c, Math.max(have ?? 1, x.shape[d]!));
    });
    const order = letters.filter((c) => term.includes(c));
    const t = E.transpose(x, order.map((c) => term.indexOf(c)));
    const full = E.reshape(t, letters.map((c) => (term.includes(c) ? x.shape[term.indexOf(c)]! : 1)));
    prod = prod ? E.mul(prod, full) : full;
  });
  const drop = letters.map((c, i) => (eq.output.includes(c) ? -1 : i)).filter((i) => i >= 0);
  const kept = letters.filter((c) => eq.output.includes(c));
  let y = drop.length ? E.sum(prod!, drop, false) : prod!;
  y = E.expand(y, kept.map((c) => dims.get(c)!));
  return E.transpose(y, [...eq.output].map((c) => kept.indexOf(c)));
}

export const EINSUM_OPS: OpTable = {
  Einsum: {
    since: 12,
    check: (a: Attrs) => {
      const r = parseEquation(a.string('equation', ''));
      return typeof r === 'string' ? r : undefined;
    },
    make: (a) => {
      const eq = parseEquation(a.string('equation', '')) as Equation;
      return (xs) => [einsum(eq, xs.filter((t): t is E.Tensor => !!t))];
    },
  },
};
