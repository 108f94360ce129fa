// Which nodes of a model the interpreter can run. Every node is checked before any work, and
// all the problems are reported together in one line: op type, domain, opset, the reason when
// the op is known but a setting is not, and the nodes concerned.

import { UserError } from '../errors.js';
import { defaultOpset, isDefaultDomain } from '../ir/graph.js';
import type { Model, Node } from '../ir/types.js';
import { Attrs } from '../ir/attrs.js';
import { engineType } from './host.js';
import { inlineFunctions } from './inline.js';
import { OPS } from './ops/index.js';
import type { OpDef } from './registry.js';

export function nodeKey(node: Node, index: number): string {
  return node.name || `#${index}${node.outputs[0] ? ` (${node.outputs[0]})` : ''}`;
}

/** The op definition for a node, or why there is none. */
export function resolveOp(node: Node, opset: number): OpDef | string {
  if (!isDefaultDomain(node.domain)) return 'custom domain';
  const def = OPS[node.opType];
  if (!def) return 'not implemented';
  if (def.since !== undefined && opset < def.since) return `not in opset ${opset}`;
  return def.check?.(Attrs.of(node), node, opset) ?? def;
}

/** Throws one UserError naming every node tbn cannot run; returns the model's default opset. */
export function checkSupport(source: Model): number {
  const model = inlineFunctions(source);
  const opset = defaultOpset(model) ?? 1;
  const problems = new Map<string, string[]>();
  const add = (what: string, where: string) => {
    const list = problems.get(what) ?? [];
    list.push(where);
    problems.set(what, list);
  };
  model.graph.nodes.forEach((node, i) => {
    const r = resolveOp(node, opset);
    if (typeof r !== 'string') return;
    const domain = isDefaultDomain(node.domain) ? 'ai.onnx' : node.domain!;
    const version = isDefaultDomain(node.domain) ? opset : (model.opsetImports.find((o) => o.domain === node.domain)?.version ?? '?');
    const reason = r === 'not implemented' || r === 'custom domain' ? '' : `: ${r}`;
    add(`${node.opType} (${domain} opset ${version}${reason})`, `'${nodeKey(node, i)}'`);
  });
  for (const t of model.graph.initializers) if (!engineType(t.dtype)) add(`initializer of type ${t.dtype}`, `'${t.name}'`);
  for (const v of model.graph.inputs) {
    const et = v.type?.kind === 'tensor' ? v.type.elemType : undefined;
    if (et && !engineType(et)) add(`input of type ${et}`, `'${v.name}'`);
  }
  if (!problems.size) return opset;
  const parts = [...problems].map(([what, nodes]) => `${what} at ${nodes.length > 1 ? 'nodes' : 'node'} ${nodes.join(', ')}`);
  throw new UserError(`unsupported by tbn's interpreter: ${parts.join('; ')}`);
}
