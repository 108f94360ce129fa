// Clip and Dropout: Clip's min/max attributes became inputs at 11; Dropout's mask output became
// bool at 10 and its ratio attribute an input at 12.

import { float, stem, without, type Adapter } from './common.js';

/** Clip-6 → 11: min/max attributes → optional scalar inputs of the input's type. */
const clip11: Adapter = (n, ctx) => {
  const min = float(n, 'min');
  const max = float(n, 'max');
  if (min === undefined && max === undefined) return [{ ...n, attributes: without(n, 'min', 'max') }];
  const type = ctx.elemType(n.inputs[0]!);
  const inputs = [n.inputs[0]!, min === undefined ? '' : ctx.scalar(`${stem(n)}_min`, min, type)];
  if (max !== undefined) inputs.push(ctx.scalar(`${stem(n)}_max`, max, type));
  return [{ ...n, inputs, attributes: without(n, 'min', 'max') }];
};

/**
 * Dropout-7 → 10: the mask output changes type (T → bool). An unread mask is dropped; a mask
 * another node reads cannot keep its meaning.
 */
const dropout10: Adapter = (n, ctx) => {
  const mask = n.outputs[1];
  if (!mask) return undefined;
  if (ctx.isRead(mask)) ctx.refuse(`its mask output '${mask}' is read, and the mask's type changes from the input's to bool at opset 10`);
  return [{ ...n, outputs: [n.outputs[0]!] }];
};

/** Dropout-10 → 12: ratio attribute → input. */
const dropout12: Adapter = (n, ctx) => {
  const ratio = float(n, 'ratio');
  if (ratio === undefined) return undefined;
  return [{ ...n, inputs: [n.inputs[0]!, ctx.scalar(`${stem(n)}_ratio`, ratio, 'float32')], attributes: without(n, 'ratio') }];
};

export const ELEMENTWISE_ADAPTERS: Record<string, Adapter> = {
  'Clip@11': clip11,
  'Dropout@10': dropout10,
  'Dropout@12': dropout12,
};
