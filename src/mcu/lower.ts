// ONNX model → lowered graph (graph.ts) for the C exporter, or a refusal that names every op
// it cannot emit, with its node, in one line. Values are classified structurally first: a
// value is static when it does not depend on the model's inputs (initializers, Constant,
// Shape/Size at the fixed batch-1 shapes, anything computed only from those); TbnDecode
// outputs are tiles, which only MatMul/Gemm/Conv may read (rewritten to the fused ai.tbn op,
// so no decoded weight ever exists). Static values are folded to constants with their values
// from onnxruntime (probe.ts), which also gives every run-time shape.

import { UserError } from '../errors.js';
import { concreteDims, modelInputs, syntheticInputs } from '../data/synthetic.js';
import { defaultOpset, nodeReads, topoOrder } from '../ir/graph.js';
import type { Attribute, Model, Node } from '../ir/types.js';
import { TBN_DOMAIN, tileInputs } from '../tbn/format.js';
import { emitterFor } from './emitters/index.js';
import { type LGraph, type LNode, type LTensor } from './graph.js';
import { expandFusedForms } from './expand.js';
import { probeValues } from './probe.js';

type Kind = 'static' | 'runtime' | 'tile';

/** Ops whose output changes from run to run: never folded. */
const NONDETERMINISTIC = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli']);

const isDefault = (n: Node) => !n.domain || n.domain === 'ai.onnx';

export function opKey(n: Node): string {
  if (isDefault(n)) return n.opType;
  if (n.domain === TBN_DOMAIN) return n.opType;
  return `${n.domain}.${n.opType}`;
}

function classify(model: Model): Map<string, Kind> {
  const g = model.graph;
  const kinds = new Map<string, Kind>();
  for (const t of g.initializers) if (t.name) kinds.set(t.name, 'static');
  for (const s of modelInputs(model)) kinds.set(s.name, 'runtime');
  for (const i of topoOrder(g)) {
    const n = g.nodes[i]!;
    let kind: Kind;
    if (n.domain === TBN_DOMAIN && n.opType === 'TbnDecode') kind = 'tile';
    else if (isDefault(n) && NONDETERMINISTIC.has(n.opType)) kind = 'runtime';
    else if (isDefault(n) && (n.opType === 'Shape' || n.opType === 'Size')) kind = 'static';
    else kind = nodeReads(n).every((v) => kinds.get(v) === 'static') ? 'static' : 'runtime';
    for (const o of n.outputs) if (o) kinds.set(o, kind);
  }
  return kinds;
}

/** Refusal: every problem, one line. (A string argument is an already formatted message: inFile re-creates errors that way.) */
export class ExportRefused extends UserError {
  constructor(problems: string[] | string) {
    super(typeof problems === 'string' ? problems : `cannot export to C: ${problems.join('; ')}`);
  }
}

export interface LowerOptions {
  /** --input-shape values for dynamic dimensions other than the batch. */
  shapes?: Map<string, number[]>;
}

/** The float16/bfloat16 type a model computes in at run time, if it does (the C export cannot). */
function narrowCompute(model: Model): string | undefined {
  const g = model.graph;
  const narrow = (t: string | undefined) => (t === 'float16' || t === 'bfloat16' ? t : undefined);
  const scales = tileInputs(model, ['scales']);
  for (const v of [...g.inputs, ...g.outputs]) {
    const t = narrow(v.type?.kind === 'tensor' ? v.type.elemType : undefined);
    if (t) return t;
  }
  return g.initializers.map((t) => (t.name && scales.has(t.name) ? narrow(t.dtype) : undefined)).find(Boolean);
}

export async function lowerModel(source: Model, opts: LowerOptions = {}): Promise<LGraph> {
  const narrow = narrowCompute(source);
  if (narrow) throw new ExportRefused(`the model computes in ${narrow}; the C export computes in float32 (export a float32 model: compress the float32 original, or convert this one to float32 first)`);
  const model = expandFusedForms(source);
  const g = model.graph;
  const kinds = classify(model);
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const outputs = g.outputs.map((o) => o.name!).filter(Boolean);
  const inputs = modelInputs(model);

  // Run-time nodes the outputs depend on, in topological order.
  const live = new Set<number>();
  const stack = outputs.filter((o) => kinds.get(o) === 'runtime');
  while (stack.length) {
    const p = producer.get(stack.pop()!);
    if (p === undefined || live.has(p)) continue;
    live.add(p);
    for (const v of nodeReads(g.nodes[p]!)) if (kinds.get(v) === 'runtime') stack.push(v);
  }
  const order = topoOrder(g).filter((i) => live.has(i));

  const problems: string[] = [];
  for (const i of order) {
    const n = g.nodes[i]!;
    if (!emitterFor(opKey(n))) problems.push(`${opKey(n)} (node '${n.name || `#${i}`}')`);
  }
  if (problems.length) throw new ExportRefused(problems);
  for (const o of outputs) {
    if (inputs.some((s) => s.name === o)) problems.push(`output '${o}' is the model's input itself`);
    if (kinds.get(o) === 'tile') problems.push(`output '${o}' is a decoded tile (TbnDecode output)`);
  }
  if (problems.length) throw new ExportRefused(problems);

  const wanted = new Set<string>(outputs);
  for (const i of order) {
    for (const v of nodeReads(g.nodes[i]!)) if (kinds.get(v) !== 'tile') wanted.add(v);
    for (const o of g.nodes[i]!.outputs) if (o) wanted.add(o);
  }
  for (const i of order) {
    for (const v of nodeReads(g.nodes[i]!)) {
      if (kinds.get(v) === 'tile') for (const w of g.nodes[producer.get(v)!]!.inputs) wanted.add(w);
    }
  }
  const dims = new Map(inputs.map((s) => [s.name, concreteDims(s, 1, opts.shapes)]));
  const feeds = syntheticInputs(model, { batch: 1, seed: 0, shapes: dims });
  const probed = await probeValues(model, [...wanted].filter((v) => !dims.has(v)), feeds);

  const tensors = new Map<string, LTensor>();
  for (const s of inputs) tensors.set(s.name, { name: s.name, dtype: s.dtype, shape: dims.get(s.name)! });
  for (const [name, d] of probed.dims) {
    const tensor: LTensor = { name, dtype: probed.dtypes.get(name)!, shape: d };
    if (kinds.get(name) === 'static') tensor.data = probed.values.get(name)!;
    tensors.set(name, tensor);
  }

  const names = new Set<string>();
  const nodes: LNode[] = [];
  for (const i of order) {
    const n = g.nodes[i]!;
    let name = n.name || `${n.opType}_${i}`;
    for (let k = 2; names.has(name); k++) name = `${n.name || n.opType}_${k}`;
    names.add(name);
    const lnode: LNode = { name, op: opKey(n), inputs: [...n.inputs], outputs: [...n.outputs], attrs: n.attributes, fused: [] };
    const tileProblem = readTiles(lnode, model, kinds, producer);
    if (tileProblem) problems.push(tileProblem);
    nodes.push(lnode);
  }
  if (problems.length) throw new ExportRefused(problems);

  // Outputs nobody reads (a Dropout mask, LayerNorm statistics) are dropped; Split keeps all.
  const read = new Set<string>(outputs);
  for (const n of nodes) for (const v of n.inputs) read.add(v);
  for (const n of nodes) if (n.op !== 'Split') n.outputs = n.outputs.map((o, k) => (k > 0 && !read.has(o) ? '' : o));

  // A static graph output is copied from flash into the caller's buffer.
  for (const o of outputs) {
    if (kinds.get(o) !== 'static') continue;
    const t = tensors.get(o)!;
    const src = `${o}/constant`;
    tensors.set(src, { ...t, name: src });
    tensors.set(o, { name: o, dtype: t.dtype, shape: t.shape });
    nodes.push({ name: `${o}/copy`, op: 'Identity', inputs: [src], outputs: [o], attrs: [], fused: [] });
  }

  const graph: LGraph = { tensors, nodes, inputs: inputs.map((s) => s.name), outputs, opset: defaultOpset(model) ?? 1 };
  checkTypes(graph, problems);
  for (const n of nodes) {
    const why = emitterFor(n.op)!.check(n, graph);
    if (why) problems.push(`${n.op} (node '${n.name}': ${why})`);
  }
  if (problems.length) throw new ExportRefused(problems);
  return graph;
}

/** Rewrites a node that reads a TbnDecode output into the fused ai.tbn op; a reason if it cannot. */
function readTiles(n: LNode, model: Model, kinds: Map<string, Kind>, producer: Map<string, number>): string | undefined {
  const slot = n.inputs.findIndex((v) => kinds.get(v) === 'tile');
  if (slot < 0) return undefined;
  const decode = model.graph.nodes[producer.get(n.inputs[slot]!)!]!;
  const [bits, scales] = decode.inputs as [string, string];
  const tileAttrs = decode.attributes.filter((a) => ['weight_shape', 'p', 'tile_axis'].includes(a.name ?? ''));
  const refuse = `TbnDecode (node '${decode.name}': its weight feeds ${n.op} node '${n.name}', which cannot read tile bits; only MatMul, Gemm, Conv and Gather can)`;
  if (n.inputs.filter((v) => kinds.get(v) === 'tile').length > 1) return refuse;
  const withTile = (op: string, rest: string[], extra: Attribute[] = []) => {
    n.op = op;
    n.inputs = [n.inputs[slot === 1 ? 0 : 1]!, bits, scales, ...rest];
    n.attrs = [...tileAttrs, ...n.attrs, ...extra];
    n.fused.push({ name: decode.name || 'TbnDecode', op: 'TbnDecode' });
  };
  if (n.op === 'MatMul') withTile('TbnMatMul', [], slot === 0 ? [{ name: 'tbn_left', type: 'INT', i: 1 }] : []);
  else if ((n.op === 'Gemm' || n.op === 'Conv') && slot === 1) withTile(n.op === 'Gemm' ? 'TbnGemm' : 'TbnConv', n.inputs.slice(2));
  else if (n.op === 'Gather' && slot === 0) withTile('TbnGather', []);
  else return refuse;
  return undefined;
}

/** Run-time values are float32; integer graph inputs may only be Gather indices. */
function checkTypes(g: LGraph, problems: string[]): void {
  const producers = new Map<string, LNode>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producers.set(o, n);
  for (const t of g.tensors.values()) {
    if (t.data || t.dtype === 'float32') continue;
    if (g.inputs.includes(t.name) && (t.dtype === 'int64' || t.dtype === 'int32')) {
      const bad = g.nodes.filter((n) => n.inputs.some((v, i) => v === t.name && !((n.op === 'Gather' && i === 1) || (n.op === 'TbnGather' && i === 0))));
      for (const n of bad) problems.push(`${n.op} (node '${n.name}': reads the ${t.dtype} input '${t.name}'; integer inputs may only be Gather indices)`);
      continue;
    }
    const p = producers.get(t.name);
    problems.push(p ? `${p.op} (node '${p.name}': computes ${t.dtype} '${t.name}' at run time; the C export computes in float32)` : `input '${t.name}' is ${t.dtype}`);
  }
}
