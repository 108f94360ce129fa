// Slice, Pad, Split, Squeeze, Unsqueeze: the attributes that became inputs (Slice at 10, Pad at
// 11, Split/Squeeze/Unsqueeze at 13). Same semantics, so the values move unchanged.

import type { Node } from '../../types.js';
import type { AdaptContext } from '../context.js';
import { float, ints, intsAttrToInput, stem, str, without, type Adapter } from './common.js';

/** Slice-1 → 10: starts, ends (and axes) attributes → inputs; steps default to 1. */
const slice10: Adapter = (n, ctx) => {
  const starts = ints(n, 'starts') ?? ctx.refuse('Slice-1 without starts');
  const ends = ints(n, 'ends') ?? ctx.refuse('Slice-1 without ends');
  const axes = ints(n, 'axes');
  const base = stem(n);
  const inputs = [n.inputs[0]!, ctx.int64(`${base}_starts`, starts), ctx.int64(`${base}_ends`, ends)];
  if (axes) inputs.push(ctx.int64(`${base}_axes`, axes));
  return [{ ...n, inputs, attributes: without(n, 'starts', 'ends', 'axes') }];
};

/** Pad-2 → 11: pads and value attributes → inputs (mode stays an attribute). */
const pad11: Adapter = (n, ctx) => {
  const pads = ints(n, 'pads') ?? ctx.refuse('Pad-2 without pads');
  const value = float(n, 'value') ?? 0;
  const mode = str(n, 'mode') ?? 'constant';
  const inputs = [n.inputs[0]!, ctx.int64(`${stem(n)}_pads`, pads)];
  if (mode === 'constant' && value !== 0) inputs.push(ctx.scalar(`${stem(n)}_value`, value, ctx.elemType(n.inputs[0]!)));
  return [{ ...n, inputs, attributes: without(n, 'pads', 'value') }];
};

const axesToInput: Adapter = (n: Node, ctx: AdaptContext) => intsAttrToInput(n, ctx, 'axes', 1);

export const SLICING_ADAPTERS: Record<string, Adapter> = {
  'Slice@10': slice10,
  'Pad@11': pad11,
  'Split@13': (n, ctx) => intsAttrToInput(n, ctx, 'split', 1),
  'Squeeze@13': axesToInput,
  'Unsqueeze@13': axesToInput,
};
