// Every adapter, keyed `Op@version`: the version at which the op's schema changed in a way the
// node must be rewritten for. Versions in OP_HISTORY without an adapter need no rewrite.

import type { Adapter } from './common.js';
import { CONTROL_FLOW_ADAPTERS } from './control-flow.js';
import { ELEMENTWISE_ADAPTERS } from './elementwise.js';
import { INDEXING_ADAPTERS } from './indexing.js';
import { NORMALIZATION_ADAPTERS } from './normalization.js';
import { RESIZE_ADAPTERS } from './resize.js';
import { SLICING_ADAPTERS } from './slicing.js';
import { SOFTMAX_ADAPTERS } from './softmax.js';


export const ADAPTERS: Record<string, Adapter> = {
  ...SLICING_ADAPTERS,
  ...ELEMENTWISE_ADAPTERS,
  ...RESIZE_ADAPTERS,
  ...NORMALIZATION_ADAPTERS,
  ...SOFTMAX_ADAPTERS,
  ...INDEXING_ADAPTERS,
  ...CONTROL_FLOW_ADAPTERS,
};
