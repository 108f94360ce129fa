// compile(model) → Program: expands model-local functions, checks every node first (one
// UserError listing all that cannot run), orders the nodes topologically, turns initializers into engine tensors and builds each
// node's kernel with its attributes parsed once.

import * as E from '../engine/index.js';
import { UserError } from '../errors.js';
import { consumerMap, initializerMap, topoOrder } from '../ir/graph.js';
import type { Model } from '../ir/types.js';
import { Attrs } from '../ir/attrs.js';
import { fromIr } from './host.js';
import { inlineFunctions } from './inline.js';
import type { Step } from './plan.js';
import { Program, type InputInfo } from './program.js';
import { checkSupport, nodeKey, resolveOp } from './support.js';

export interface CompileOptions {
  /** Weights to make trainable at once (see Program.setTrainable). */
  trainable?: Iterable<string>;
}

export function compile(source: Model, options: CompileOptions = {}): Program {
  const model = inlineFunctions(source);
  const opset = checkSupport(model);
  const g = model.graph;
  const constants = new Map<string, E.Tensor>();
  for (const [name, t] of initializerMap(g)) {
    try {
      constants.set(name, E.keep(fromIr(t, `initializer '${name}'`)));
    } catch (e) {
      throw new UserError(e instanceof Error ? e.message : String(e));
    }
  }
  const inits = initializerMap(g);
  const constantTypes = new Map(g.nodes.filter((n) => n.opType === 'Constant' && n.outputs[0]).map((n) => [n.outputs[0]!, n.attributes.find((a) => a.name === 'value')?.t?.dtype]));
  const typeOf = (value: string) => inits.get(value)?.dtype ?? constantTypes.get(value);
  const steps: Step[] = topoOrder(g).map((i) => {
    const node = g.nodes[i]!;
    const def = resolveOp(node, opset);
    if (typeof def === 'string') throw new Error(`unreachable: ${def}`);
    const key = nodeKey(node, i);
    return {
      index: i,
      node,
      key,
      label: `node '${key}' (${node.opType})`,
      kernel: def.make(Attrs.of(node), node, opset, typeOf),
      inputs: node.inputs,
      outputs: node.outputs,
      shapeOnly: false,
      readsShapeOnly: !!def.shapeOnly,
    };
  });
  const inputs: InputInfo[] = g.inputs
    .filter((v) => v.name && !constants.has(v.name))
    .map((v) => {
      const t = v.type?.kind === 'tensor' ? v.type : undefined;
      return { name: v.name!, dtype: t?.elemType ?? 'float32', dims: t?.shape?.map((d) => (d.value !== undefined && d.value > 0 ? d.value : -1)) };
    });
  const outputs = g.outputs.map((o) => o.name!).filter(Boolean);
  fuseRelus(model, opset, steps, outputs);
  const program = new Program(model, opset, steps, constants, inputs, outputs, constantDerived(steps, constants));
  if (options.trainable) program.setTrainable(options.trainable);
  return program;
}

/** Marks each node whose output only a Relu reads (and which can fuse it) with the fused kernel. */
function fuseRelus(model: Model, opset: number, steps: Step[], outputs: readonly string[]): void {
  const g = model.graph;
  const consumers = consumerMap(g);
  for (const s of steps) {
    const def = resolveOp(s.node, opset);
    if (typeof def === 'string' || !def.fuseRelu || s.outputs.filter(Boolean).length !== 1 || !s.outputs[0] || outputs.includes(s.outputs[0])) continue;
    const readers = consumers.get(s.outputs[0]) ?? [];
    const relu = readers.length === 1 ? g.nodes[readers[0]!]! : undefined;
    if (!relu || relu.opType !== 'Relu' || !['', 'ai.onnx'].includes(relu.domain ?? '') || !relu.outputs[0]) continue;
    const kernel = def.fuseRelu(Attrs.of(s.node), s.node, opset);
    if (kernel) s.fusedRelu = { kernel, relu: readers[0]!, output: relu.outputs[0] };
  }
}

/** Values computed from initializers and Constants alone. */
function constantDerived(steps: readonly Step[], constants: ReadonlyMap<string, E.Tensor>): Set<string> {
  const out = new Set(constants.keys());
  for (const s of steps) {
    if (s.inputs.every((n) => !n || out.has(n))) s.outputs.forEach((o) => o && out.add(o));
  }
  return out;
}
