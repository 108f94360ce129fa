// Input augmentation for distillation: the teacher labels any input, so a small calibration
// set goes further when each pass sees shifted, rotated, noisy and mixed versions of it.
// Images ([N, C, H, W] with H and W ≥ 8, or TensorFlow's [N, H, W, C] with C ≤ 4) get shifts
// and small rotations; every float input gets noise; mixup blends pairs of samples. Seeded: the
// same seed gives the same batches.

import type { HostTensor } from '../util/host-tensor.js';
import type { Rng } from '../util/random.js';
import { transpose } from './layers.js';

export interface AugmentOptions {
  /** Max shift in pixels (images). */
  shift: number;
  /** Max rotation in degrees (images). */
  rotate: number;
  /** Gaussian noise, as a fraction of the input's standard deviation. */
  noise: number;
  /** Probability that a batch is mixed (mixup); such batches carry no hard labels. */
  mixup: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = { shift: 2, rotate: 10, noise: 0.05, mixup: 0.3 };

export interface AugmentedBatch {
  feeds: Record<string, HostTensor>;
  /** False when samples were mixed: the batch's hard labels no longer apply. */
  labelsValid: boolean;
}

/** Channels-first images, channels-last ones (a tf2onnx export's input), or not an image. */
function imageLayout(t: HostTensor): 'nchw' | 'nhwc' | undefined {
  if (t.dtype !== 'float32' || t.dims.length !== 4) return undefined;
  const [, d1, d2, d3] = t.dims as [number, number, number, number];
  if (d2 >= 8 && d3 >= 8) return 'nchw';
  if (d1 >= 8 && d2 >= 8 && d3 <= 4) return 'nhwc';
  return undefined;
}

function warp(t: HostTensor, rng: Rng, opts: AugmentOptions): Float32Array {
  if (imageLayout(t) === 'nchw') return warpImages(t, rng, opts);
  const [n, h, w, c] = t.dims as [number, number, number, number];
  const first = { ...t, dims: [n, c, h, w], data: transpose(t.data as Float32Array, t.dims, [0, 3, 1, 2]) };
  return transpose(warpImages(first, rng, opts), first.dims, [0, 2, 3, 1]);
}

/** Bilinear resample of each plane by a rotation about the centre and a translation. */
function warpImages(t: HostTensor, rng: Rng, opts: AugmentOptions): Float32Array {
  const [n, c, h, w] = t.dims as [number, number, number, number];
  const src = t.data as Float32Array;
  const out = new Float32Array(src.length);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const plane = h * w;
  // Per output pixel: the four source offsets (−1 when outside) and their weights.
  const idx = new Int32Array(plane * 4);
  const wt = new Float32Array(plane * 4);
  for (let i = 0; i < n; i++) {
    const angle = ((rng.next() * 2 - 1) * opts.rotate * Math.PI) / 180;
    const dy = (rng.next() * 2 - 1) * opts.shift;
    const dx = (rng.next() * 2 - 1) * opts.shift;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // Inverse map: where in the source does output pixel (y, x) come from?
        const ry = y - cy - dy;
        const rx = x - cx - dx;
        const sy = cos * ry - sin * rx + cy;
        const sx = sin * ry + cos * rx + cx;
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const fy = sy - y0;
        const fx = sx - x0;
        const k = (y * w + x) * 4;
        for (let q = 0; q < 4; q++) {
          const yy = y0 + (q >> 1);
          const xx = x0 + (q & 1);
          const weight = (q >> 1 ? fy : 1 - fy) * (q & 1 ? fx : 1 - fx);
          const inside = yy >= 0 && yy < h && xx >= 0 && xx < w;
          idx[k + q] = inside ? yy * w + xx : -1;
          wt[k + q] = inside ? weight : 0;
        }
      }
    }
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      for (let p = 0; p < plane; p++) {
        let v = 0;
        for (let q = 0; q < 4; q++) {
          const s = idx[p * 4 + q]!;
          if (s >= 0) v += wt[p * 4 + q]! * src[base + s]!;
        }
        out[base + p] = v;
      }
    }
  }
  return out;
}

function addNoise(data: Float32Array, rng: Rng, fraction: number): void {
  let s = 0;
  let s2 = 0;
  for (const v of data) {
    s += v;
    s2 += v * v;
  }
  const std = Math.sqrt(Math.max(0, s2 / data.length - (s / data.length) ** 2)) || 1;
  for (let i = 0; i < data.length; i++) data[i]! += rng.normal() * fraction * std;
}

function mix(data: Float32Array, dims: number[], partner: Uint32Array, lambda: Float32Array): void {
  const row = data.length / dims[0]!;
  const copy = Float32Array.from(data);
  for (let i = 0; i < dims[0]!; i++) {
    const j = partner[i]!;
    const l = lambda[i]!;
    for (let k = 0; k < row; k++) data[i * row + k] = l * copy[i * row + k]! + (1 - l) * copy[j * row + k]!;
  }
}

export function augmentBatch(feeds: Record<string, HostTensor>, rng: Rng, opts: AugmentOptions = DEFAULT_AUGMENT): AugmentedBatch {
  const out: Record<string, HostTensor> = {};
  const n = Object.values(feeds)[0]?.dims[0] ?? 0;
  const mixed = n > 1 && rng.next() < opts.mixup;
  const partner = rng.permutation(n);
  const lambda = Float32Array.from({ length: n }, () => 0.5 + 0.5 * rng.next());
  for (const [name, t] of Object.entries(feeds)) {
    if (t.dtype !== 'float32') {
      out[name] = t;
      continue;
    }
    const data = imageLayout(t) && (opts.shift > 0 || opts.rotate > 0) ? warp(t, rng, opts) : Float32Array.from(t.data as Float32Array);
    if (opts.noise > 0) addNoise(data, rng, opts.noise);
    if (mixed) mix(data, t.dims, partner, lambda);
    out[name] = { dtype: 'float32', dims: t.dims, data };
  }
  const floatInputs = Object.values(feeds).some((t) => t.dtype === 'float32');
  return { feeds: out, labelsValid: !(mixed && floatInputs) };
}
