// Softmax, LogSoftmax and Hardmax at 13: `axis` used to mean "flatten to 2-D at axis and
// normalise each row" (default 1); from 13 it is the one axis normalised (default -1). On the
// last axis the two agree; elsewhere the old meaning is Flatten(axis) → op(axis = -1) → Reshape
// back to the input's shape (what onnx's version converter writes).

import { attr, node } from '../../build.js';
import { int, stem, without, type Adapter } from './common.js';

const normalise13: Adapter = (n, ctx) => {
  const x = n.inputs[0]!;
  const rank = ctx.rank(x);
  let axis = int(n, 'axis') ?? 1;
  if (rank !== undefined && axis < 0) axis += rank;
  const rest = without(n, 'axis');
  if (rank !== undefined && axis === rank - 1) return [{ ...n, attributes: [...rest, attr.int('axis', -1)] }];
  const base = stem(n);
  const shape = ctx.fresh(`${base}_shape`);
  const flat = ctx.fresh(`${base}_2d`);
  const y2 = ctx.fresh(`${base}_2d_out`);
  return [
    node('Shape', [x], [shape], [], { name: ctx.fresh(`${base}/Shape`) }),
    node('Flatten', [x], [flat], [attr.int('axis', axis)], { name: ctx.fresh(`${base}/Flatten`) }),
    { ...n, inputs: [flat], outputs: [y2], attributes: [...rest, attr.int('axis', -1)] },
    node('Reshape', [y2, shape], [n.outputs[0]!], [], { name: ctx.fresh(`${base}/Reshape`) }),
  ];
};

export const SOFTMAX_ADAPTERS: Record<string, Adapter> = {
  'Softmax@13': normalise13,
  'LogSoftmax@13': normalise13,
  'Hardmax@13': normalise13,
};
