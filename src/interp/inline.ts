// Model-local functions (FunctionProto) are expanded in place before checking and compiling:
// a node whose (domain, op type) names a function becomes the function's body, with formal
// inputs/outputs bound to the node's values, internal values renamed under the node's key, and
// attributes taken from the call (refAttrName) or the function's defaults. This is how custom
// ops that ship a standard-op body (tbn's own ai.tbn ops included) run here.

import type { Attribute, FunctionDef, Model, Node } from '../ir/types.js';
import { UserError } from '../errors.js';

const MAX_DEPTH = 8;
const keyOf = (domain: string | undefined, op: string) => `${domain ?? ''}\u0000${op}`;

export function inlineFunctions(model: Model): Model {
  if (!model.functions.length) return model;
  const table = new Map(model.functions.map((f) => [keyOf(f.domain, f.name ?? ''), f]));
  let counter = 0;
  const expand = (nodes: readonly Node[], depth: number): Node[] =>
    nodes.flatMap((n) => {
      const f = table.get(keyOf(n.domain, n.opType));
      if (!f) return [n];
      if (depth >= MAX_DEPTH) throw new UserError(`function '${f.name}' nests deeper than ${MAX_DEPTH} levels`);
      return expand(instantiate(f, n, `${n.name || n.opType}#${counter++}`), depth + 1);
    });
  return { ...model, graph: { ...model.graph, nodes: expand(model.graph.nodes, 0) } };
}

function instantiate(f: FunctionDef, call: Node, prefix: string): Node[] {
  const names = new Map<string, string>();
  f.inputs.forEach((formal, i) => names.set(formal, call.inputs[i] ?? ''));
  f.outputs.forEach((formal, i) => names.set(formal, call.outputs[i] ?? ''));
  const rename = (v: string) => (v === '' ? '' : (names.get(v) ?? `${prefix}/${v}`));
  const given = new Map(call.attributes.map((a) => [a.name, a]));
  const defaults = new Map(f.attributeProtos.map((a) => [a.name, a]));
  const bind = (a: Attribute): Attribute[] => {
    if (!a.refAttrName) return [a];
    const v = given.get(a.refAttrName) ?? defaults.get(a.refAttrName);
    return v ? [{ ...v, name: a.name, refAttrName: undefined }] : [];
  };
  return f.nodes.map((n, i) => ({
    ...n,
    name: `${prefix}/${n.name || `${n.opType}_${i}`}`,
    inputs: n.inputs.map(rename),
    outputs: n.outputs.map(rename),
    attributes: n.attributes.flatMap(bind),
  }));
}
