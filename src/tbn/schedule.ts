// The default length of the fine-tune when --epochs and --steps are not given. 60 epochs
// settle the tiles of the CNNs and MLPs (README, Compression ablation). Attention networks
// measured better with twice that, beyond the spread of repeated runs (README, Transformers:
// the ViT fixture's drop 1.65 → 0.25 points, the text classifier +1.1), and no other step
// tried helped both, so a model with attention gets 120.

import { initializerMap, isDefaultDomain, topoOrder } from '../ir/graph.js';
import type { Model } from '../ir/types.js';

export const DEFAULT_EPOCHS = 60;
export const ATTENTION_EPOCHS = 120;

/**
 * Attention: a MatMul or Einsum both of whose operands are computed from the model's inputs
 * (queries times keys, weights times values), rather than an activation times a weight.
 */
export function attentionNodes(model: Model): string[] {
  const { graph } = model;
  const constants = initializerMap(graph);
  const dynamic = new Set(graph.inputs.map((v) => v.name!).filter((n) => !constants.has(n)));
  const found: string[] = [];
  for (const node of topoOrder(graph).map((i) => graph.nodes[i]!)) {
    const reads = node.inputs.filter((v) => dynamic.has(v));
    if (!reads.length) continue;
    for (const out of node.outputs) if (out) dynamic.add(out);
    if ((node.opType === 'MatMul' || node.opType === 'Einsum') && isDefaultDomain(node.domain) && reads.length >= 2) found.push(node.name || node.outputs[0]!);
  }
  return found;
}

export interface EpochChoice {
  epochs: number;
  /** Why: the flag, or the rule above. */
  reason: string;
}

export function defaultEpochs(model: Model, given?: number): EpochChoice {
  if (given !== undefined) return { epochs: given, reason: '--epochs' };
  const attention = attentionNodes(model);
  if (!attention.length) return { epochs: DEFAULT_EPOCHS, reason: 'the default' };
  return { epochs: ATTENTION_EPOCHS, reason: `the default for models with attention (${attention.length} activation × activation MatMuls, e.g. ${attention[0]})` };
}
