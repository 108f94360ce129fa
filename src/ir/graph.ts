// Queries over the graph IR: who produces and consumes a value, topological order, and the
// structural checks every loaded model passes (no dangling edges, one producer per value,
// no cycles). Graphs are treated as values: passes build new ones instead of mutating.

import { OnnxFormatError } from '../errors.js';
import type { Graph, Model, Node, OnnxTensor } from './types.js';

export function nodeLabel(node: Node, index?: number): string {
  const name = node.name || (index !== undefined ? `#${index}` : node.outputs[0] ?? '?');
  return `node '${name}' (${node.domain ? node.domain + '.' : ''}${node.opType})`;
}

export function initializerMap(graph: Graph): Map<string, OnnxTensor> {
  const m = new Map<string, OnnxTensor>();
  for (const t of graph.initializers) if (t.name) m.set(t.name, t);
  return m;
}

/** value name → index of the node that outputs it */
export function producerMap(graph: Graph): Map<string, number> {
  const m = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => o && m.set(o, i)));
  return m;
}

/** value name → indices of nodes that read it (including through subgraphs) */
export function consumerMap(graph: Graph): Map<string, number[]> {
  const m = new Map<string, number[]>();
  graph.nodes.forEach((n, i) => {
    for (const name of nodeReads(n)) {
      const list = m.get(name);
      if (list) {
        if (list[list.length - 1] !== i) list.push(i);
      } else m.set(name, [i]);
    }
  });
  return m;
}

export function subgraphs(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of node.attributes) {
    if (a.g) out.push(a.g);
    if (a.graphs) out.push(...a.graphs);
  }
  return out;
}

/** Names a node reads: its inputs and the outer-scope names its subgraphs use. */
export function nodeReads(node: Node): string[] {
  const names = node.inputs.filter((s) => s !== '');
  for (const g of subgraphs(node)) names.push(...outerNames(g));
  return names;
}

/** The values a graph defines itself: its inputs, initializers and node outputs. */
export function localNames(graph: Graph): Set<string> {
  const local = new Set<string>();
  for (const v of graph.inputs) if (v.name) local.add(v.name);
  for (const t of graph.initializers) if (t.name) local.add(t.name);
  for (const n of graph.nodes) for (const o of n.outputs) if (o) local.add(o);
  return local;
}

/** Names a subgraph reads from enclosing scopes. */
export function outerNames(graph: Graph): string[] {
  const local = localNames(graph);
  const out = new Set<string>();
  for (const n of graph.nodes) for (const r of nodeReads(n)) if (!local.has(r)) out.add(r);
  return [...out];
}

/** Node indices in an order where every producer comes before its consumers. */
export function topoOrder(graph: Graph): number[] {
  const prod = producerMap(graph);
  const state = new Uint8Array(graph.nodes.length); // 0 new, 1 on stack, 2 done
  const order: number[] = [];
  for (let root = 0; root < graph.nodes.length; root++) {
    if (state[root]) continue;
    const stack: [number, number][] = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [i, k] = top;
      const reads = nodeReads(graph.nodes[i]!);
      if (k < reads.length) {
        top[1]++;
        const p = prod.get(reads[k]!);
        if (p === undefined || state[p] === 2) continue;
        if (state[p] === 1) throw new OnnxFormatError(`the graph has a cycle through ${nodeLabel(graph.nodes[p]!, p)}`);
        state[p] = 1;
        stack.push([p, 0]);
      } else {
        state[i] = 2;
        order.push(i);
        stack.pop();
      }
    }
  }
  return order;
}

/** Structural checks; throws OnnxFormatError with the first problem found. */
export function validateModel(model: Model): void {
  validateGraph(model.graph, new Set(), 'the main graph');
  for (const f of model.functions) {
    const scope = new Set(f.inputs);
    validateNodes(f.nodes, scope, `function '${f.name}'`, new Set(f.outputs));
  }
}

function validateGraph(graph: Graph, outer: Set<string>, where: string): void {
  const defined = new Set<string>(outer);
  const own = new Set<string>();
  const define = (name: string | undefined, what: string) => {
    if (!name) return;
    if (own.has(name)) throw new OnnxFormatError(`value '${name}' in ${where} is defined twice (${what})`);
    own.add(name);
    defined.add(name);
  };
  for (const v of graph.inputs) define(v.name, 'graph input');
  for (const t of graph.initializers) {
    if (t.name && own.has(t.name) && graph.inputs.some((v) => v.name === t.name)) continue; // IR < 4: initializers listed as inputs
    define(t.name, 'initializer');
  }
  validateNodes(graph.nodes, defined, where, new Set(graph.outputs.map((o) => o.name ?? '')), own);
}

function validateNodes(nodes: Node[], defined: Set<string>, where: string, outputs: Set<string>, own = new Set<string>()): void {
  const scope = new Set(defined);
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (!o) continue;
      if (own.has(o)) {
        throw new OnnxFormatError(`value '${o}' in ${where} is produced twice (again by ${nodeLabel(n, i)})`);
      }
      own.add(o);
      scope.add(o);
    }
  });
  nodes.forEach((n, i) => {
    for (const name of n.inputs) {
      if (name && !scope.has(name)) {
        throw new OnnxFormatError(`${nodeLabel(n, i)} in ${where} reads '${name}', which no node, input or initializer provides`);
      }
    }
    for (const g of subgraphs(n)) validateGraph(g, scope, `a subgraph of ${nodeLabel(n, i)}`);
  });
  for (const o of outputs) {
    if (o && !scope.has(o)) throw new OnnxFormatError(`output '${o}' of ${where} is never produced`);
  }
  topoOrder({ nodes, initializers: [], inputs: [], outputs: [], valueInfo: [] });
}

/** '' and 'ai.onnx' are the same domain, the default one. */
export const isDefaultDomain = (d: string | undefined): boolean => !d || d === 'ai.onnx';

/** Default-domain opset version of a model. */
export function defaultOpset(model: Model): number | undefined {
  return model.opsetImports.find((o) => isDefaultDomain(o.domain))?.version;
}
