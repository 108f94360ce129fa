// TbnConvNhwc (a channels-last conv: what the epilogue fold makes of a Transpose → Conv →
// Transpose of a tf2onnx graph) as Transpose(X) → TbnConv → Transpose(Y) again, its residual
// (laid out like Y, unless it is the fold's one-value identity) transposed too, and the model's
// nodes' epilogue inputs left for normalizeEpilogues (fuse-epilogue.ts) to fit to the functions.
// The fold writes this form by default: onnxruntime cancels each Transpose pair between two
// convs (and moves the others through the elementwise ops), so a chain of tiled convs runs
// channels first, without the transposes TbnConvNhwc does inside (measured: the tf2onnx conv
// net 0.6× → 0.9–1.0× of fp32 at p = 2–4). The C export does it too: its kernels are channels
// first, and on a microcontroller a transpose is one pass over the tensor.

import { attr, node } from '../ir/build.js';
import { initializerMap } from '../ir/graph.js';
import type { Model, Node } from '../ir/types.js';
import { inputIndex, TBN_DOMAIN } from './format.js';
import { numel } from './tile.js';
import { NameSource, collectNames } from '../ir/names.js';

/** The model with every TbnConvNhwc node as Transpose → TbnConv → Transpose (the same object when it has none). */
export function channelsFirst(model: Model): Model {
  const g = model.graph;
  if (!g.nodes.some((n) => n.domain === TBN_DOMAIN && n.opType === 'TbnConvNhwc')) return model;
  const names = new NameSource(collectNames(g));
  const toFirst = [0, 3, 1, 2];
  const [xAt, residualAt] = [inputIndex('TbnConvNhwc', 'X'), inputIndex('TbnConvNhwc', 'residual')];
  const constants = initializerMap(g);
  const nodes = g.nodes.flatMap((n): Node[] => {
    if (n.domain !== TBN_DOMAIN || n.opType !== 'TbnConvNhwc') return [n];
    const label = n.name || n.outputs[0]!;
    const x = names.fresh(`${label}/nchw_in`);
    const y = names.fresh(`${label}/nchw_out`);
    const inputs = n.inputs.map((v, i) => (i === xAt ? x : v));
    const out: Node[] = [node('Transpose', [n.inputs[xAt]!], [x], [attr.ints('perm', toFirst)], { name: `${label}/to_nchw` })];
    const residual = n.inputs[residualAt];
    const oneValue = residual && numel(constants.get(residual)?.dims ?? [0]) === 1;
    if (residual && !oneValue) {
      inputs[residualAt] = names.fresh(`${label}/nchw_residual`);
      out.push(node('Transpose', [residual], [inputs[residualAt]!], [attr.ints('perm', toFirst)], { name: `${label}/residual_to_nchw` }));
    }
    out.push({ ...n, opType: 'TbnConv', inputs, outputs: [y] });
    out.push(node('Transpose', [y], [n.outputs[0]!], [attr.ints('perm', [0, 2, 3, 1])], { name: `${label}/to_nhwc` }));
    return out;
  });
  return { ...model, graph: { ...g, nodes } };
}
