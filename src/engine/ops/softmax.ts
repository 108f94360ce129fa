// Softmax and log-softmax along one axis (one fused kernel each way), and log-sum-exp.
// The backward kernels work from the forward output alone, so only y is saved.

import { record } from '../autograd.js';
import { normAxis, splitAt } from '../shape.js';
import { empty, type Tensor } from '../tensor.js';

function softmaxOp(x: Tensor, axis: number, log: boolean): Tensor {
  if (x.dtype !== 'float32') throw new Error(`softmax of ${x.dtype}`);
  const [outer, size, inner] = splitAt(x.shape, normAxis(axis, x.rank));
  const y = empty(x.shape, 'float32', x.backend);
  x.backend.softmax(x.buf, y.buf, outer, size, inner, log);
  return record(y, log ? 'logSoftmax' : 'softmax', [x], [y], (g, [sy]) => {
    const gx = empty(g.shape, 'float32', g.backend);
    g.backend.softmaxBackward(sy!.buf, g.buf, gx.buf, outer, size, inner, log);
    return [gx];
  });
}

export const softmax = (x: Tensor, axis = -1): Tensor => softmaxOp(x, axis, false);
export const logSoftmax = (x: Tensor, axis = -1): Tensor => softmaxOp(x, axis, true);
