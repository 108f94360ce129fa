// Normalisation layers. layerNorm is one fused kernel each way (normalise over the trailing
// axes from `axis`), then an ordinary broadcast affine, so scale/bias gradients come from mul/add.
// batchNorm (inference: running statistics) and batchNormTrain (batch statistics) are built
// from differentiable ops, so every input — statistics included — gets a gradient.

import { record } from '../autograd.js';
import { normAxis } from '../shape.js';
import { tidy } from '../scope.js';
import { empty, full, type Tensor } from '../tensor.js';
import { add, div, mul, sqrt, sub } from './elementwise.js';
import { mean } from './reduce.js';
import { reshape } from './shape-ops.js';

export function layerNorm(x: Tensor, scale: Tensor | undefined, bias: Tensor | undefined, axis = -1, eps = 1e-5): Tensor {
  const a = normAxis(axis, x.rank);
  const rows = x.shape.slice(0, a).reduce((p, q) => p * q, 1);
  const cols = x.size / Math.max(rows, 1);
  const xhat = empty(x.shape, 'float32', x.backend);
  const inv = empty([rows], 'float32', x.backend);
  x.backend.layerNorm(x.buf, xhat.buf, inv.buf, rows, cols, eps);
  record(xhat, 'layerNorm', [x], [xhat, inv], (g, [sh, si]) => {
    const gx = empty(g.shape, 'float32', g.backend);
    g.backend.layerNormBackward(sh!.buf, si!.buf, g.buf, gx.buf, rows, cols);
    return [gx];
  });
  inv.dispose();
  if (!scale && !bias) return xhat;
  const out = tidy(() => {
    let y = scale ? mul(xhat, scale) : xhat;
    if (bias) y = add(y, bias);
    return y;
  });
  xhat.dispose();
  return out;
}

/** Per-channel view [C, 1, …] of a [C] vector for an input of rank r. */
const channel = (v: Tensor, r: number): Tensor => reshape(v, [v.size, ...new Array<number>(Math.max(0, r - 2)).fill(1)]);

/** Inference BatchNormalization: (x − mean) / √(var + eps) · scale + bias, per channel (axis 1). */
export function batchNorm(x: Tensor, scale: Tensor, bias: Tensor, runMean: Tensor, runVar: Tensor, eps = 1e-5): Tensor {
  return tidy(() => {
    const r = x.rank;
    const inv = div(channel(scale, r), sqrt(add(channel(runVar, r), full([], eps))));
    return add(mul(sub(x, channel(runMean, r)), inv), channel(bias, r));
  });
}

/** BatchNormalization with the batch's own statistics (biased variance, as used to normalise). */
export function batchNormTrain(x: Tensor, scale: Tensor, bias: Tensor, eps = 1e-5): { y: Tensor; mean: Tensor; var: Tensor } {
  return tidy(() => {
    const r = x.rank;
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const mu = mean(x, axes, true);
    const centred = sub(x, mu);
    const v = mean(mul(centred, centred), axes, true);
    const inv = div(channel(scale, r), sqrt(add(v, full([], eps))));
    const y = add(mul(centred, inv), channel(bias, r));
    return { y, mean: reshape(mu, [mu.size]), var: reshape(v, [v.size]) };
  });
}
