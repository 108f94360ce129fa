// Image resampling of 8-bit interleaved pixels (H × W × C), separable, as the libraries that
// models were trained with do it:
//   bilinear / bicubic — PIL's Image.resize (and torchvision's default on PIL images): the filter
//     widens by the scale factor when shrinking (antialiased); horizontal pass first, each pass
//     rounded to 8 bits as PIL does.
//   linear — OpenCV's INTER_LINEAR (PaddleOCR, YOLO pipelines): two taps at (x + 0.5)·s − 0.5,
//     edge pixels repeated, no antialiasing; one rounding at the end.
//   nearest — PIL's NEAREST: source pixel ⌊(x + 0.5)·s⌋ (accumulated as PIL does).

import type { Interp } from './recipe.js';

interface Taps {
  /** First source index of each output position. */
  start: Int32Array;
  /** Number of taps of each output position. */
  count: Int32Array;
  /** Weights, `max` per output position. */
  weights: Float64Array;
  max: number;
}

function triangle(x: number): number {
  x = Math.abs(x);
  return x < 1 ? 1 - x : 0;
}

function cubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** PIL's precompute_coeffs: a filter of `support` widened by the scale when shrinking. */
function pilTaps(inSize: number, outSize: number, filter: (x: number) => number, support: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const reach = support * filterScale;
  const max = Math.ceil(reach) * 2 + 1;
  const taps: Taps = { start: new Int32Array(outSize), count: new Int32Array(outSize), weights: new Float64Array(outSize * max), max };
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - reach + 0.5), 0);
    const n = Math.min(Math.trunc(center + reach + 0.5), inSize) - lo;
    let sum = 0;
    for (let k = 0; k < n; k++) sum += taps.weights[o * max + k] = filter((k + lo - center + 0.5) / filterScale);
    for (let k = 0; k < n; k++) taps.weights[o * max + k]! /= sum || 1;
    taps.start[o] = lo;
    taps.count[o] = n;
  }
  return taps;
}

function linearTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const taps: Taps = { start: new Int32Array(outSize), count: new Int32Array(outSize), weights: new Float64Array(outSize * 2), max: 2 };
  for (let o = 0; o < outSize; o++) {
    let f = (o + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    f -= s;
    if (s < 0) {
      s = 0;
      f = 0;
    }
    if (s >= inSize - 1) {
      s = inSize - 1;
      f = 0;
    }
    taps.start[o] = s;
    taps.count[o] = f > 0 ? 2 : 1;
    taps.weights[o * 2] = 1 - f;
    taps.weights[o * 2 + 1] = f;
  }
  return taps;
}

function nearestTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const taps: Taps = { start: new Int32Array(outSize), count: new Int32Array(outSize).fill(1), weights: new Float64Array(outSize).fill(1), max: 1 };
  // PIL's ImagingScaleAffine steps the source position by repeated addition: so do we, to
  // pick the same pixel where (o + 0.5)·s lands on an integer.
  let at = scale * 0.5;
  for (let o = 0; o < outSize; o++, at += scale) taps.start[o] = Math.min(Math.trunc(at), inSize - 1);
  return taps;
}

function tapsFor(interp: Interp, inSize: number, outSize: number): Taps {
  switch (interp) {
    case 'bilinear':
      return pilTaps(inSize, outSize, triangle, 1);
    case 'bicubic':
      return pilTaps(inSize, outSize, cubic, 2);
    case 'linear':
      return linearTaps(inSize, outSize);
    case 'nearest':
      return nearestTaps(inSize, outSize);
  }
}

const clamp8 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/**
 * One pass along an axis: `lines` lines of `inSize` pixels with `stride` elements between
 * successive pixels of a line and `lineStep` between lines; output likewise with outSize.
 */
function pass(src: ArrayLike<number>, dst: Float64Array, taps: Taps, lines: number, c: number, inPixStride: number, inLineStride: number, outPixStride: number, outLineStride: number, outSize: number): void {
  for (let l = 0; l < lines; l++) {
    for (let o = 0; o < outSize; o++) {
      const s0 = taps.start[o]!;
      const n = taps.count[o]!;
      for (let ch = 0; ch < c; ch++) {
        let v = 0;
        for (let k = 0; k < n; k++) v += taps.weights[o * taps.max + k]! * src[l * inLineStride + (s0 + k) * inPixStride + ch]!;
        dst[l * outLineStride + o * outPixStride + ch] = v;
      }
    }
  }
}

/** Resizes H × W × C 8-bit pixels to outH × outW × C. */
export function resizeImage(src: Uint8Array, h: number, w: number, c: number, outH: number, outW: number, interp: Interp): Uint8Array {
  if (h === outH && w === outW) return src;
  const perPass = interp === 'bilinear' || interp === 'bicubic';
  // Horizontal: h lines of w pixels → h × outW.
  const mid = new Float64Array(h * outW * c);
  pass(src, mid, tapsFor(interp, w, outW), h, c, c, w * c, c, outW * c, outW);
  if (perPass) for (let i = 0; i < mid.length; i++) mid[i] = clamp8(mid[i]!);
  // Vertical: outW lines (columns) of h pixels → outH.
  const out = new Float64Array(outH * outW * c);
  pass(mid, out, tapsFor(interp, h, outH), outW, c, outW * c, c, outW * c, c, outH);
  return Uint8Array.from(out, clamp8);
}
