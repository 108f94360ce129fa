// The C export's kernels are channels first and pool separately: TbnConvNhwc becomes Transpose
// → TbnConv → Transpose (src/tbn/channels-last.ts, which the epilogue fold uses too) and
// TbnConvMaxPool becomes TbnConv → MaxPool (src/tbn/conv-max-pool.ts), and the model's ai.tbn
// functions are rewritten for the new TbnConv nodes, so onnxruntime (which probes the shapes)
// runs the expanded model.
import type { Model } from '../ir/types.js';
import { channelsFirst } from '../tbn/channels-last.js';
import { poolsApart } from '../tbn/conv-max-pool.js';
import { normalizeEpilogues } from '../tbn/fuse-epilogue.js';

export function expandFusedForms(model: Model): Model {
  const expanded = poolsApart(channelsFirst(model));
  return expanded === model ? model : normalizeEpilogues(expanded);
}
