// Fresh value names: a pass that adds values asks for a name based on what the value is, and
// gets it, or it with the first free numeric suffix, never one the model already uses.

import type { Graph } from './types.js';
import { subgraphs } from './graph.js';

/** Every value name in a graph and its subgraphs, so new names never collide. */
export function collectNames(g: Graph, into = new Set<string>()): Set<string> {
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) if (v.name) into.add(v.name);
  for (const t of g.initializers) if (t.name) into.add(t.name);
  for (const n of g.nodes) {
    for (const o of [...n.inputs, ...n.outputs]) if (o) into.add(o);
    if (n.name) into.add(n.name);
    for (const s of subgraphs(n)) collectNames(s, into);
  }
  return into;
}

export class NameSource {
  constructor(private used: Set<string>) {}
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}
