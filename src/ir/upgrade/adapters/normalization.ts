// BatchNormalization lost its `spatial` attribute at 9: spatial = 1 (the default, one
// statistic per channel) is BatchNormalization-9 itself. spatial = 0 on a 2-D input [N, C] is
// the same thing; on higher ranks it normalised every activation separately, which
// BatchNormalization-9 expresses only after a reshape to 2-D (not done here).

import { int, without, type Adapter } from './common.js';

const batchNorm9: Adapter = (n, ctx) => {
  if (int(n, 'spatial') === undefined) return undefined;
  if (int(n, 'spatial') === 0) {
    const rank = ctx.rank(n.inputs[0]!);
    const statsRank = ctx.rank(n.inputs[3] ?? '');
    if (rank !== 2 && statsRank !== 1) ctx.refuse('spatial = 0 (statistics per activation) on an input that is not known to be 2-D');
  }
  return [{ ...n, attributes: without(n, 'spatial') }];
};

export const NORMALIZATION_ADAPTERS: Record<string, Adapter> = { 'BatchNormalization@9': batchNorm9 };
