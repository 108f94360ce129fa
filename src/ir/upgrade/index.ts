// Opset version converter for the default ONNX domain (what onnx.version_converter does, in
// TypeScript): every node is carried from the model's opset to the target one version at a
// time; where its op's schema changed (OP_HISTORY), the adapter for that version rewrites it
// (attributes that became inputs, deprecated ops replaced, changed semantics spelled out), and
// where only types widened nothing is needed. Subgraphs (If/Loop/Scan bodies) are converted
// with the graph. Every node that cannot be converted is named in one error. The input model is
// never modified.

import { UserError } from '../../errors.js';
import { defaultOpset, isDefaultDomain, nodeLabel, subgraphs, validateModel } from '../graph.js';
import type { Attribute, Graph, Model, Node } from '../types.js';
import { ADAPTERS } from './adapters/index.js';
import { AdaptContext, RefusedNode, TypeScope } from './context.js';
import { NameSource, collectNames } from '../names.js';
import type { UpgradeReport, UpgradeStep } from './describe.js';
import { MAX_UPGRADE_TARGET, MIN_UPGRADE_SOURCE, OP_HISTORY, schemaVersion } from './history.js';

export { MAX_UPGRADE_TARGET, OP_HISTORY } from './history.js';
export { describeUpgrade, type UpgradeReport, type UpgradeStep } from './describe.js';

/** Lowest IR version that carries each opset (onnx/helper.py VERSION_TABLE). */
const IR_FOR_OPSET: Record<number, number> = { 7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7 };

class Stats {
  converted = new Map<string, UpgradeStep>();
  bumped = 0;
  convert(op: string, version: number): void {
    const key = `${op}@${version}`;
    const s = this.converted.get(key) ?? { op, version, nodes: 0, how: OP_HISTORY[op]?.changes[version] ?? '' };
    s.nodes++;
    this.converted.set(key, s);
  }
}

/** Names read anywhere in the model: node inputs (all graphs) and graph outputs. */
function readNames(g: Graph, into = new Set<string>()): Set<string> {
  for (const o of g.outputs) if (o.name) into.add(o.name);
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i) into.add(i);
    for (const s of subgraphs(n)) readNames(s, into);
  }
  return into;
}

class Upgrader {
  problems: string[] = [];
  stats = new Stats();
  constructor(
    private from: number,
    private target: number,
    private names: NameSource,
    private reads: Set<string>,
  ) {}

  graph(g: Graph, outer?: TypeScope): Graph {
    const scope = new TypeScope(g, outer);
    const ctx = new AdaptContext(this.names, scope, this.reads);
    const nodes: Node[] = [];
    g.nodes.forEach((node, i) => {
      let out: Node[];
      try {
        out = isDefaultDomain(node.domain) ? this.node(node, this.from, ctx) : [node];
      } catch (e) {
        if (!(e instanceof RefusedNode)) throw e;
        this.problems.push(`${nodeLabel(node, i)}: ${e.message}`);
        out = [node];
      }
      for (const n of out) nodes.push(this.withSubgraphs(n, scope));
    });
    return { ...g, nodes, initializers: [...g.initializers, ...ctx.added] };
  }

  private withSubgraphs(n: Node, scope: TypeScope): Node {
    if (!subgraphs(n).length) return n;
    const attributes: Attribute[] = n.attributes.map((a) => ({
      ...a,
      ...(a.g ? { g: this.graph(a.g, scope) } : {}),
      ...(a.graphs ? { graphs: a.graphs.map((s) => this.graph(s, scope)) } : {}),
    }));
    return { ...n, attributes };
  }

  /** `node` is valid at opset `cur`; returns the nodes that carry it to the target opset. */
  private node(node: Node, cur: number, ctx: AdaptContext): Node[] {
    const op = node.opType;
    const hist = OP_HISTORY[op];
    if (!hist) ctx.refuse(`op ${op} is not in tbn's opset table (src/ir/upgrade/history.ts), so its conversion is not known`);
    if (schemaVersion(op, cur) === undefined) ctx.refuse(`${op} is not an op of opset ${cur}`);
    if (hist.deprecatedAt !== undefined && hist.deprecatedAt <= cur) return this.apply(node, hist.deprecatedAt, ctx)!;
    for (let v = cur + 1; v <= this.target; v++) {
      if (!hist.versions.includes(v)) continue;
      const out = this.apply(node, v, ctx);
      if (out) return out;
    }
    if (schemaVersion(op, this.target) !== schemaVersion(op, cur)) this.stats.bumped++;
    return [node];
  }

  /** Runs the adapter of `node`'s op at version v; undefined when the node needs no rewrite. */
  private apply(node: Node, v: number, ctx: AdaptContext): Node[] | undefined {
    const adapter = ADAPTERS[`${node.opType}@${v}`];
    if (!adapter) return undefined;
    const out = adapter(node, ctx);
    if (!out) return undefined;
    this.stats.convert(node.opType, v);
    return out.flatMap((n) => this.node(n, v, ctx));
  }
}

/** The model converted to default-domain opset `target` (≤ MAX_UPGRADE_TARGET), and what changed. */
export function upgradeOpset(model: Model, target: number): { model: Model; report: UpgradeReport } {
  if (target > MAX_UPGRADE_TARGET) throw new Error(`opset upgrades go up to ${MAX_UPGRADE_TARGET}, not ${target}`);
  const from = defaultOpset(model);
  if (from === undefined) throw new UserError('the model imports no default-domain opset, so its ops have no known version');
  const ir = model.irVersion ?? null;
  const unchanged: UpgradeReport = { from, to: from, irVersion: { from: ir, to: ir }, converted: [], versionOnly: 0 };
  if (from >= target) return { model, report: unchanged };
  if (from < MIN_UPGRADE_SOURCE) {
    throw new UserError(`the model uses opset ${from}; tbn converts models from opset ${MIN_UPGRADE_SOURCE} on (convert it first with onnx.version_converter)`);
  }
  if (model.functions.length) throw new UserError(`the model has model-local functions; tbn does not convert their bodies from opset ${from} to ${target}`);
  const up = new Upgrader(from, target, new NameSource(collectNames(model.graph)), readNames(model.graph));
  const graph = up.graph(model.graph);
  if (up.problems.length) throw new UserError(`cannot convert the model from opset ${from} to ${target}: ${up.problems.join('; ')}`);
  const irTo = Math.max(ir ?? 0, IR_FOR_OPSET[target] ?? 7);
  const upgraded: Model = {
    ...model,
    irVersion: irTo,
    opsetImports: model.opsetImports.map((o) => (isDefaultDomain(o.domain) ? { ...o, version: target } : o)),
    graph,
  };
  validateModel(upgraded);
  const converted = [...up.stats.converted.values()].sort((a, b) => a.version - b.version || a.op.localeCompare(b.op));
  return { model: upgraded, report: { from, to: target, irVersion: { from: ir, to: irTo }, converted, versionOnly: up.stats.bumped } };
}
