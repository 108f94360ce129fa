// The TBN parametrisation as a differentiable engine op: latent weights W (and optionally a
// separate α source A) → B̂ = α ⊙ tile(sign(Σ regions of W)). Forward and backward side by side:
//
//   stream s = W in tile order; t_j = sign(Σ_r s[r·q + j]) (0 → −1); α_r = mean_{k∈r} |A_k|
//   B̂[k] = α_{r(k)} · t[k mod q]
//   dW[k] = dB̂[k] · α_{r(k)}                     straight-through: dB at k flows to W at k
//   dα_r = Σ_{k∈r} dB̂[k] · t[k mod q];  dA[k] = dα_{r(k)} · sign(A_k) / |region|
//   (A = W: both terms add to dW)
//
// O(N) per step on the host; the layer's matmul/conv around it costs N·batch·spatial.

import * as E from '../engine/index.js';
import { record } from '../engine/autograd.js';
import { fromStream, tileLength, toStream, type AlphaMode, type TileLayout } from './tile.js';

interface Saved {
  alpha: Float32Array;
  signs: Int8Array;
  aStream: Float32Array;
}

function forward(w: Float32Array, a: Float32Array, layout: TileLayout, mode: AlphaMode): { out: Float32Array; saved: Saved } {
  const q = tileLength(layout);
  const p = layout.p;
  const s = toStream(w, layout);
  const aStream = a === w ? s : toStream(a, layout);
  const sum = new Float64Array(q);
  for (let r = 0; r < p; r++) for (let j = 0; j < q; j++) sum[j]! += s[r * q + j]!;
  const signs = new Int8Array(q);
  for (let j = 0; j < q; j++) signs[j] = sum[j]! > 0 ? 1 : -1;
  const alpha = new Float32Array(mode === 'per-layer' ? 1 : p);
  for (let r = 0; r < p; r++) {
    let acc = 0;
    for (let j = 0; j < q; j++) acc += Math.abs(aStream[r * q + j]!);
    alpha[mode === 'per-layer' ? 0 : r]! += acc;
  }
  for (let i = 0; i < alpha.length; i++) alpha[i]! /= mode === 'per-layer' ? q * p : q;
  const outStream = new Float32Array(q * p);
  for (let r = 0; r < p; r++) {
    const ar = alpha[mode === 'per-layer' ? 0 : r]!;
    for (let j = 0; j < q; j++) outStream[r * q + j] = ar * signs[j]!;
  }
  return { out: fromStream(outStream, layout), saved: { alpha, signs, aStream } };
}

function backward(gy: Float32Array, saved: Saved, layout: TileLayout, mode: AlphaMode): { dW: Float32Array; dA: Float32Array } {
  const q = tileLength(layout);
  const p = layout.p;
  const g = toStream(gy, layout);
  const { alpha, signs, aStream } = saved;
  const dWs = new Float32Array(q * p);
  const dAlpha = new Float64Array(alpha.length);
  for (let r = 0; r < p; r++) {
    const ai = mode === 'per-layer' ? 0 : r;
    const ar = alpha[ai]!;
    let acc = 0;
    for (let j = 0; j < q; j++) {
      const gk = g[r * q + j]!;
      dWs[r * q + j] = gk * ar;
      acc += gk * signs[j]!;
    }
    dAlpha[ai]! += acc;
  }
  const region = mode === 'per-layer' ? q * p : q;
  const dAs = new Float32Array(q * p);
  for (let r = 0; r < p; r++) {
    const da = dAlpha[mode === 'per-layer' ? 0 : r]! / region;
    for (let j = 0; j < q; j++) {
      const v = aStream[r * q + j]!;
      dAs[r * q + j] = v > 0 ? da : v < 0 ? -da : 0;
    }
  }
  return { dW: fromStream(dWs, layout), dA: fromStream(dAs, layout) };
}

/**
 * B̂ from latent weights `w` (shape = layout.shape) and α source `a` (undefined: α from `w`).
 * Records the op so that backward reaches `w` and `a`.
 */
export function tiledWeight(w: E.Tensor, a: E.Tensor | undefined, layout: TileLayout, mode: AlphaMode): E.Tensor {
  const wv = w.toArray() as Float32Array;
  const av = a ? (a.toArray() as Float32Array) : wv;
  const { out, saved } = forward(wv, av, layout, mode);
  const y = E.tensor(out, layout.shape);
  return record(y, 'tbnTile', a ? [w, a] : [w], [], (gy, _s, needs) => {
    const { dW, dA } = backward(gy.toArray() as Float32Array, saved, layout, mode);
    if (!a) {
      for (let i = 0; i < dW.length; i++) dW[i]! += dA[i]!;
      return [E.tensor(dW, layout.shape)];
    }
    return [needs[0] ? E.tensor(dW, layout.shape) : undefined, needs[1] ? E.tensor(dA, layout.shape) : undefined];
  });
}
