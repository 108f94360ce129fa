// Short names for the intermediate values of a model tbn writes. Exporters name every value
// after its node's path ('/blocks/blocks.0/attn/Reshape_output_0'); once the weights are tiled
// those names are a large share of a small model's file (the ViT fixture: 12.5 of 65 kB). An
// intermediate's name means nothing to onnxruntime, and the node that computes it has the same
// path in its own name, so it is replaced by a short one, the same in every scope that uses it.
// What a person or a program looks for stays: node names (reports, profiles, the C export name
// tensors after them), the main graph's inputs and outputs (callers feed and read by them),
// initializer names (they say which weight a tile came from) and the names inside model-local
// functions (their own scope).

import type { Graph, Model, Node } from './types.js';
import { subgraphs } from './graph.js';

export interface CompactNamesResult {
  model: Model;
  /** Why the names were kept, when they were. */
  keptBecause?: string;
  /** Name bytes the short names save (each use of a value counts). */
  bytesSaved: number;
}

/** The model with its intermediate values' names shortened; the input is not modified. */
export function compactValueNames(model: Model): CompactNamesResult {
  const opaque = namesInOpaqueFields(model);
  if (opaque) return { model, keptBecause: `the model has ${opaque}, which name values tbn does not rewrite`, bytesSaved: 0 };
  const g = model.graph;
  const kept = new Set<string>();
  const keep = (gr: Graph): void => {
    for (const t of gr.initializers) if (t.name) kept.add(t.name);
    for (const n of gr.nodes) for (const s of subgraphs(n)) keep(s);
  };
  keep(g);
  for (const v of [...g.inputs, ...g.outputs]) if (v.name) kept.add(v.name);
  const renamed = new Map<string, string>();
  let next = 0;
  let bytesSaved = 0; // names are ASCII here: a character is a byte
  const rename = (name: string | undefined): string | undefined => {
    if (!name || kept.has(name)) return name;
    let short = renamed.get(name);
    if (short === undefined) {
      do short = `v${(next++).toString(36)}`;
      while (kept.has(short));
      renamed.set(name, short);
    }
    bytesSaved += name.length - short.length;
    return short;
  };
  const graph = renameGraph(g, rename);
  return { model: { ...model, graph }, bytesSaved };
}

function renameGraph(g: Graph, rename: (name: string | undefined) => string | undefined): Graph {
  const info = (v: Graph['inputs'][number]) => ({ ...v, name: rename(v.name) });
  return {
    ...g,
    inputs: g.inputs.map(info),
    outputs: g.outputs.map(info),
    valueInfo: g.valueInfo.map(info),
    nodes: g.nodes.map((n) => renameNode(n, rename)),
  };
}

function renameNode(n: Node, rename: (name: string | undefined) => string | undefined): Node {
  const node: Node = {
    ...n,
    inputs: n.inputs.map((x) => rename(x) ?? ''),
    outputs: n.outputs.map((x) => rename(x) ?? ''),
    // Exporters' per-node doc strings are source locations or stack traces: bytes, no function.
    docString: undefined,
  };
  if (!subgraphs(n).length) return node;
  node.attributes = n.attributes.map((a) => ({
    ...a,
    g: a.g && renameGraph(a.g, rename),
    graphs: a.graphs?.map((s) => renameGraph(s, rename)),
  }));
  return node;
}

/** Parts of the model that hold value names inside messages tbn passes through undecoded. */
function namesInOpaqueFields(model: Model): string | undefined {
  if (model.trainingInfo?.length) return 'training_info';
  const walk = (g: Graph): string | undefined => {
    if (g.quantizationAnnotation?.length) return 'quantization_annotation';
    if (g.sparseInitializers?.length) return 'sparse initializers';
    for (const n of g.nodes) for (const s of subgraphs(n)) {
      const found = walk(s);
      if (found) return found;
    }
    return undefined;
  };
  return walk(model.graph);
}
