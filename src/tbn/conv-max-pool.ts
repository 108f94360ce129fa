// TbnConvMaxPool (what the epilogue fold makes of a TbnConv whose only reader is a MaxPool) as
// TbnConv → MaxPool again, for the tools whose kernels pool separately (the C export); the
// model's functions are left for normalizeEpilogues (fuse-epilogue.ts) to rewrite.

import { attr, node } from '../ir/build.js';
import { getAttr } from '../ir/attrs.js';
import { NameSource, collectNames } from '../ir/names.js';
import type { Model, Node } from '../ir/types.js';
import { POOL_ATTRS, TBN_DOMAIN } from './format.js';

const POOL_NAMES = new Set(POOL_ATTRS.map((a) => a.name));

/** The model with every TbnConvMaxPool node as TbnConv → MaxPool (the same object when it has none). */
export function poolsApart(model: Model): Model {
  const g = model.graph;
  const pooled = (n: Node) => n.domain === TBN_DOMAIN && n.opType === 'TbnConvMaxPool';
  if (!g.nodes.some(pooled)) return model;
  const names = new NameSource(collectNames(g));
  const nodes = g.nodes.flatMap((n): Node[] => {
    if (!pooled(n)) return [n];
    const label = n.name || n.outputs[0]!;
    const y = names.fresh(`${label}/conv_out`);
    const ints = (name: string) => (getAttr(n, name)?.ints ?? []).map(Number);
    const ceil = Number(getAttr(n, 'pool_ceil_mode')?.i ?? 0);
    const attrs = [attr.ints('kernel_shape', ints('pool_kernel_shape'))];
    if (getAttr(n, 'pool_strides')) attrs.push(attr.ints('strides', ints('pool_strides')));
    if (getAttr(n, 'pool_pads')) attrs.push(attr.ints('pads', ints('pool_pads')));
    if (ceil) attrs.push(attr.int('ceil_mode', ceil));
    return [
      { ...n, opType: 'TbnConv', outputs: [y], attributes: n.attributes.filter((a) => !POOL_NAMES.has(a.name ?? '')) },
      node('MaxPool', [y], [n.outputs[0]!], attrs, { name: `${label}/max_pool` }),
    ];
  });
  return { ...model, graph: { ...g, nodes } };
}
