// Normalisation layers. layerNorm is one fused kernel each way (normalise over the trailing
// axes from `axis`), then an ordinary broadcast affine, so scale/bias gradients come from mul/add.
// batchNorm (inference: running statistics) folds the statistics into a per-channel scale and
// shift (small [C] ops) and applies them with channelAffine, one fused kernel each way that can
// also apply the ReLU after it; batchNormTrain (batch statistics) is built from broadcast ops.
// Every input — statistics included — gets a gradient.

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

/**
 * y = x·scale[c] + shift[c] along axis 1 (x [N, C, …], scale and shift [C]), then ReLU with
 * `relu`. Backward: g = dy (masked where the output was not positive, with relu), dx = g·scale,
 * dscale = Σ g·x, dshift = Σ g over all but axis 1. Saves x only; the mask is recomputed.
 */
export function channelAffine(x: Tensor, scale: Tensor, shift: Tensor, relu = false): Tensor {
  if (x.rank < 2) throw new Error(`channelAffine: input [${x.shape}] has no channel axis`);
  const [outer, channels] = x.shape as [number, number];
  const inner = x.size / Math.max(outer * channels, 1);
  if (scale.size !== channels || shift.size !== channels) throw new Error(`channelAffine: scale [${scale.shape}] and shift [${shift.shape}] for ${channels} channels`);
  const y = empty(x.shape, 'float32', x.backend);
  x.backend.channelAffine(x.buf, scale.buf, shift.buf, y.buf, outer, channels, inner, relu);
  const [ss, bs] = [scale.shape, shift.shape];
  return record(y, relu ? 'channelAffineRelu' : 'channelAffine', [x, scale, shift], [x, scale, shift], (gy, [sx, sc, sh], need) => {
    const dx = need[0] ? empty(sx!.shape, 'float32', gy.backend) : undefined;
    const ds = need[1] ? empty(ss, 'float32', gy.backend) : undefined;
    const db = need[2] ? empty(bs, 'float32', gy.backend) : undefined;
    gy.backend.channelAffineBackward(sx!.buf, sc!.buf, sh!.buf, gy.buf, dx?.buf ?? null, ds?.buf ?? null, db?.buf ?? null, outer, channels, inner, relu);
    return [dx, ds, db];
  });
}

/** Per-channel view [C, 1, …] of a [C] vector for an input of rank r. */
const channel = (v: Tensor, r: number): Tensor => reshape(v, [v.size, ...new Array<number>(Math.max(0, r - 2)).fill(1)]);

/**
 * Inference BatchNormalization: (x − mean) / √(var + eps) · scale + bias per channel (axis 1),
 * computed as x·a + b with a = scale / √(var + eps) and b = bias − mean·a; ReLU after it with
 * `relu` (the interpreter fuses a BatchNormalization → Relu pair so).
 */
export function batchNorm(x: Tensor, scale: Tensor, bias: Tensor, runMean: Tensor, runVar: Tensor, eps = 1e-5, relu = false): Tensor {
  return tidy(() => {
    const flat = (v: Tensor) => reshape(v, [v.size]);
    const a = div(flat(scale), sqrt(add(flat(runVar), full([], eps))));
    const b = sub(flat(bias), mul(flat(runMean), a));
    return channelAffine(x, a, b, relu);
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
