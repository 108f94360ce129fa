// TopK's k attribute became an input at 10; Scatter was deprecated at 11 in favour of
// ScatterElements (same inputs, attributes and semantics); ReduceSum's axes attribute became
// an input at 13 (the other reductions follow only at 18).

import { intsAttrToInput, int, stem, without, type Adapter } from './common.js';

const topK10: Adapter = (n, ctx) => {
  const k = int(n, 'k') ?? ctx.refuse('TopK-1 without k');
  return [{ ...n, inputs: [n.inputs[0]!, ctx.int64(`${stem(n)}_k`, [k])], attributes: without(n, 'k') }];
};

export const INDEXING_ADAPTERS: Record<string, Adapter> = {
  'TopK@10': topK10,
  'Scatter@11': (n) => [{ ...n, opType: 'ScatterElements' }],
  'ReduceSum@13': (n, ctx) => intsAttrToInput(n, ctx, 'axes', 1),
};
