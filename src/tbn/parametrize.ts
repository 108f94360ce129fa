// The TBN parametrisation as a differentiable engine op: latent weights W (and optionally a
// separate α source A) → B̂ = α ⊙ tile(sign(Σ regions of W)). Forward and backward side by side:
//
//   stream s = W in tile order; t_j = sign(Σ_r s[r·q + j]) (0 → −1); α_r = mean_{k∈r} |A_k|
//   B̂[k] = α_{r(k)} · t[k mod q]
//   dW[k] = dB̂[k] · α_{r(k)}                     straight-through: dB at k flows to W at k
//   dα_r = Σ_{k∈r} dB̂[k] · t[k mod q];  dA[k] = dα_{r(k)} · sign(A_k) / |region|
//   (A = W: both terms add to dW)
//
// A backend with the fused tile kernels (the native one) runs both passes on its own buffers;
// otherwise they run here on host arrays — the reference the kernels are tested against.
// O(N) per step either way; the layer's matmul/conv around it costs N·batch·spatial.

import * as E from '../engine/index.js';
import { record } from '../engine/autograd.js';
import { fromStream, tileLength, toStream, type AlphaMode, type TileLayout } from './tile.js';

const LANES = 32;

/**
 * Σ f(j) over j < n in float64, in LANES interleaved partial sums (lane j mod LANES) added in
 * lane order: the order the native tile kernels vectorise, so both give the same α bit for bit.
 */
function laneSum(n: number, f: (j: number) => number): number {
  const acc = new Float64Array(LANES);
  for (let j = 0; j < n; j++) acc[j % LANES]! += f(j);
  let s = 0;
  for (let l = 0; l < LANES; l++) s += acc[l]!;
  return s;
}

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
  for (let r = 0; r < p; r++) alpha[mode === 'per-layer' ? 0 : r]! += laneSum(q, (j) => Math.abs(aStream[r * q + j]!));
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
    for (let j = 0; j < q; j++) dWs[r * q + j] = g[r * q + j]! * ar;
    dAlpha[ai]! += laneSum(q, (j) => g[r * q + j]! * signs[j]!);
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

/** The tile op on a backend's fused kernels: α and the signs are kept as tensors for backward. */
function tiledOnBackend(w: E.Tensor, a: E.Tensor | undefined, layout: TileLayout, mode: AlphaMode): E.Tensor {
  const be = w.backend;
  const q = tileLength(layout);
  const p = { rows: layout.shape[0]!, cols: w.size / layout.shape[0]!, p: layout.p, tileAxis: layout.tileAxis, perLayer: mode === 'per-layer' };
  const y = E.empty(layout.shape, 'float32', be);
  const alpha = E.empty([mode === 'per-layer' ? 1 : layout.p], 'float32', be);
  const signs = E.empty([q], 'float32', be);
  be.tileForward!(w.buf, a ? a.buf : null, y.buf, alpha.buf, signs.buf, p);
  describeTiling(y, alpha, signs, layout);
  record(y, 'tbnTile', a ? [w, a] : [w], [a ?? w, alpha, signs], (gy, [sa, sal, ss]) => {
    const dW = E.empty(layout.shape, 'float32', be);
    const dA = a ? E.empty(layout.shape, 'float32', be) : undefined;
    be.tileBackward!(gy.buf, sa!.buf, sal!.buf, ss!.buf, dW.buf, dA ? dA.buf : null, p);
    return a ? [dW, dA] : [dW]; // gradients of inputs that need none are dropped by backward()
  });
  alpha.dispose();
  signs.dispose();
  return y;
}

/**
 * Tells ops that y = B̂ is p blocks of rows α[r]·T (E.Tiling), when its regions run along axis 0
 * in whole rows, so that a convolution can take p× fewer multiply-adds. The tensors are copies
 * of alpha and signs owned by y.
 */
function describeTiling(y: E.Tensor, alpha: E.Tensor, signs: E.Tensor, layout: TileLayout): void {
  const rows = layout.shape[0]! / layout.p;
  if (layout.tileAxis !== 0 || !Number.isInteger(rows) || layout.shape.length < 2) return;
  y.tiling = E.noGrad(() =>
    E.tidy(() => ({
      p: layout.p,
      alpha: E.keep(alpha.size === layout.p ? E.identity(alpha) : E.mul(alpha, E.ones([layout.p]))),
      signs: E.keep(E.reshape(signs, [rows, ...layout.shape.slice(1)])),
    })),
  );
}

/**
 * B̂ from latent weights `w` (shape = layout.shape) and α source `a` (undefined: α from `w`).
 * Records the op so that backward reaches `w` and `a`.
 */
export function tiledWeight(w: E.Tensor, a: E.Tensor | undefined, layout: TileLayout, mode: AlphaMode): E.Tensor {
  if (w.backend.tileForward && w.backend.tileBackward && (!a || a.backend === w.backend)) return tiledOnBackend(w, a, layout, mode);
  return tiledWeightOnHost(w, a, layout, mode);
}

/** The reference: both passes on host arrays (what backends without tile kernels run). */
export function tiledWeightOnHost(w: E.Tensor, a: E.Tensor | undefined, layout: TileLayout, mode: AlphaMode): E.Tensor {
  const wv = w.toArray() as Float32Array;
  const av = a ? (a.toArray() as Float32Array) : wv;
  const { out, saved } = forward(wv, av, layout, mode);
  const y = E.tensor(out, layout.shape);
  E.tidy(() => describeTiling(y, E.tensor(saved.alpha, [saved.alpha.length]), E.tensor(Float32Array.from(saved.signs), [saved.signs.length]), layout));
  return record(y, 'tbnTile', a ? [w, a] : [w], [], (gy, _s, needs) => {
    const { dW, dA } = backward(gy.toArray() as Float32Array, saved, layout, mode);
    if (!a) {
      for (let i = 0; i < dW.length; i++) dW[i]! += dA[i]!;
      return [E.tensor(dW, layout.shape)];
    }
    return [needs[0] ? E.tensor(dW, layout.shape) : undefined, needs[1] ? E.tensor(dA, layout.shape) : undefined];
  });
}
