// Model-local functions (FunctionProto) are expanded in place before checking and compiling:
// a node whose (domain, op type) names a function becomes the function's body, with formal
// inputs/outputs bound to the node's values, internal values renamed under the node's key, and
// attributes taken from the call (refAttrName) or the function's defaults. This is how custom
// ops that ship a standard-op body (tbn's own ai.tbn ops included) run here. An If whose
// condition is a constant of the call (tbn's epilogue picks its activation so) becomes the
// branch it takes, as onnxruntime does at load; the interpreter has no If of its own.

import type { Attribute, FunctionDef, Graph, Model, Node } from '../ir/types.js';
import { UserError } from '../errors.js';
import { isDefaultDomain, localNames } from '../ir/graph.js';

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
    if (a.g || a.graphs) return [{ ...a, g: a.g && bindGraph(a.g), graphs: a.graphs?.map(bindGraph) }];
    if (!a.refAttrName) return [a];
    const v = given.get(a.refAttrName) ?? defaults.get(a.refAttrName);
    return v ? [{ ...v, name: a.name, refAttrName: undefined }] : [];
  };
  const bindNode = (n: Node): Node => ({ ...n, attributes: n.attributes.flatMap(bind) });
  const bindGraph = (g: Graph): Graph => ({ ...g, nodes: g.nodes.map(bindNode) });
  return takeConstantBranches(f.nodes.map(bindNode), f.name ?? '').map((n, i) => ({
    ...n,
    name: `${prefix}/${n.name || `${n.opType}_${i}`}`,
    inputs: n.inputs.map(rename),
    outputs: n.outputs.map(rename),
  }));
}

/** The body with each If on a constant condition replaced by the nodes of the branch it takes
 * (their own values renamed apart); an If on a run-time condition is refused. */
function takeConstantBranches(nodes: Node[], fn: string, known = new Map<string, number>()): Node[] {
  const out: Node[] = [];
  let taken = 0;
  for (const n of nodes) {
    const standard = isDefaultDomain(n.domain);
    const value = standard ? constantInt(n, known) : undefined;
    if (value !== undefined) known.set(n.outputs[0]!, value);
    if (n.opType !== 'If' || !standard) {
      out.push(n);
      continue;
    }
    const cond = known.get(n.inputs[0]!);
    if (cond === undefined) throw new UserError(`function '${fn}': an If whose condition is computed at run time cannot run in tbn's interpreter`);
    const g = n.attributes.find((a) => a.name === (cond ? 'then_branch' : 'else_branch'))?.g as Graph;
    if (g.initializers.length) throw new UserError(`function '${fn}': an If branch with initializers cannot run in tbn's interpreter`);
    const local = localNames(g);
    const result = g.outputs[0]!.name!;
    const tag = `${n.outputs[0]}#${taken++}`;
    const name = (v: string) => (v === result ? n.outputs[0]! : local.has(v) ? `${tag}/${v}` : v);
    const spliced = g.nodes.map((b) => ({ ...renameReads(b, name), outputs: b.outputs.map(name) }));
    if (!local.has(result)) spliced.push({ opType: 'Identity', inputs: [result], outputs: [n.outputs[0]!], attributes: [] });
    out.push(...takeConstantBranches(spliced, fn, known));
  }
  return out;
}

/** The node reading `name(v)` for each value v it (or a subgraph of it, outside the
 * subgraph's own values) reads. */
function renameReads(n: Node, name: (v: string) => string): Node {
  const inner = (g: Graph): Graph => {
    const own = localNames(g);
    const outer = (v: string) => (own.has(v) ? v : name(v));
    return { ...g, nodes: g.nodes.map((b) => renameReads(b, outer)), outputs: g.outputs.map((o) => ({ ...o, name: o.name && outer(o.name) })) };
  };
  return { ...n, inputs: n.inputs.map(name), attributes: n.attributes.map((a) => (a.g ? { ...a, g: inner(a.g) } : a)) };
}

/** The integer a Constant, a Reshape of one, or an Equal of two holds (1/0 for Equal). */
function constantInt(n: Node, known: Map<string, number>): number | undefined {
  if (n.opType === 'Constant') {
    const a = n.attributes[0];
    if (a?.name === 'value_int' && a.i !== undefined) return Number(a.i);
    const d = a?.name === 'value' ? a.t?.data : undefined;
    return d && d.length === 1 && (a!.t!.dtype === 'int64' || a!.t!.dtype === 'int32') ? Number(d[0]) : undefined;
  }
  const [x, y] = [known.get(n.inputs[0] ?? ''), known.get(n.inputs[1] ?? '')];
  if (n.opType === 'Reshape') return x;
  if (n.opType === 'Equal' && x !== undefined && y !== undefined) return x === y ? 1 : 0;
  return undefined;
}
