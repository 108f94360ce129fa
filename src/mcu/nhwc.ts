// The C export's kernels are channels first: TbnConvNhwc becomes Transpose → TbnConv →
// Transpose (src/tbn/channels-last.ts, which the epilogue fold uses too), and the model's ai.tbn
// functions are rewritten for the new TbnConv nodes, so onnxruntime (which probes the shapes)
// runs the expanded model.
import type { Model } from '../ir/types.js';
import { channelsFirst } from '../tbn/channels-last.js';
import { normalizeEpilogues } from '../tbn/fuse-epilogue.js';

export function expandChannelsLast(model: Model): Model {
  const expanded = channelsFirst(model);
  return expanded === model ? model : normalizeEpilogues(expanded);
}
