// The JS backend's remaining kernels: reductions over the middle axis of [outer, size, inner],
// softmax and log-softmax, layer normalisation, gather and its scatter-add, and the Adam step.
// Accumulations run in float64 locals; results are stored once.

import type { AdamParams, ReduceOp } from '../../backend.js';
import type { HostArray } from '../../dtype.js';

export function reduce(op: ReduceOp, x: HostArray, out: HostArray, outer: number, size: number, inner: number): void {
  const init = op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' ? -Infinity : Infinity;
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(init);
    const base = o * size * inner;
    for (let s = 0; s < size; s++) {
      const row = base + s * inner;
      switch (op) {
        case 'sum':
          for (let i = 0; i < inner; i++) acc[i] += x[row + i]!;
          break;
        case 'prod':
          for (let i = 0; i < inner; i++) acc[i] *= x[row + i]!;
          break;
        case 'max':
          for (let i = 0; i < inner; i++) {
            const v = x[row + i]!;
            if (v > acc[i]! || v !== v) acc[i] = v;
          }
          break;
        case 'min':
          for (let i = 0; i < inner; i++) {
            const v = x[row + i]!;
            if (v < acc[i]! || v !== v) acc[i] = v;
          }
          break;
      }
    }
    out.set(acc, o * inner);
  }
}

export function argReduce(op: 'max' | 'min', x: HostArray, out: HostArray, outer: number, size: number, inner: number, last: boolean): void {
  const sign = op === 'max' ? 1 : -1;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let best = -Infinity;
      let at = 0;
      for (let s = 0; s < size; s++) {
        const v = sign * x[base + s * inner]!;
        if (v > best || (last && v === best)) {
          best = v;
          at = s;
        }
      }
      out[o * inner + i] = at;
    }
  }
}

export function softmax(x: Float32Array, out: Float32Array, outer: number, size: number, inner: number, log: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let max = -Infinity;
      for (let s = 0; s < size; s++) max = Math.max(max, x[base + s * inner]!);
      let sum = 0;
      for (let s = 0; s < size; s++) sum += Math.exp(x[base + s * inner]! - max);
      if (log) {
        const lse = max + Math.log(sum);
        for (let s = 0; s < size; s++) out[base + s * inner] = x[base + s * inner]! - lse;
      } else {
        for (let s = 0; s < size; s++) out[base + s * inner] = Math.exp(x[base + s * inner]! - max) / sum;
      }
    }
  }
}

/** softmax: dx = y ⊙ (dy − Σ dy·y); log-softmax: dx = dy − exp(y) · Σ dy. */
export function softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, outer: number, size: number, inner: number, log: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let dot = 0;
      for (let s = 0; s < size; s++) {
        const k = base + s * inner;
        dot += log ? dy[k]! : dy[k]! * y[k]!;
      }
      for (let s = 0; s < size; s++) {
        const k = base + s * inner;
        dx[k] = log ? dy[k]! - Math.exp(y[k]!) * dot : y[k]! * (dy[k]! - dot);
      }
    }
  }
}

export function layerNorm(x: Float32Array, out: Float32Array, invStd: Float32Array, rows: number, cols: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const b = r * cols;
    let mean = 0;
    for (let c = 0; c < cols; c++) mean += x[b + c]!;
    mean /= cols;
    let v = 0;
    for (let c = 0; c < cols; c++) {
      const d = x[b + c]! - mean;
      v += d * d;
    }
    const inv = 1 / Math.sqrt(v / cols + eps);
    invStd[r] = inv;
    for (let c = 0; c < cols; c++) out[b + c] = (x[b + c]! - mean) * inv;
  }
}

/** dx = invStd · (dy − mean(dy) − xhat · mean(dy ⊙ xhat)) per row. */
export function layerNormBackward(xhat: Float32Array, invStd: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const b = r * cols;
    let m1 = 0;
    let m2 = 0;
    for (let c = 0; c < cols; c++) {
      m1 += dy[b + c]!;
      m2 += dy[b + c]! * xhat[b + c]!;
    }
    m1 /= cols;
    m2 /= cols;
    const inv = invStd[r]!;
    for (let c = 0; c < cols; c++) dx[b + c] = inv * (dy[b + c]! - m1 - xhat[b + c]! * m2);
  }
}

function index(v: number, axisLen: number): number {
  const i = v < 0 ? v + axisLen : v;
  if (!(i >= 0 && i < axisLen)) throw new Error(`gather index ${v} out of range for an axis of ${axisLen}`);
  return i;
}

/** x·s + b as float32 arithmetic rounds it (the product, then the sum). */
const affineF32 = (x: number, s: number, b: number) => Math.fround(Math.fround(x * s) + b);

/** out = x·scale[c] + shift[c] per channel of [outer, channels, inner]; max(0, ·) with relu. */
export function channelAffine(x: Float32Array, scale: Float32Array, shift: Float32Array, out: Float32Array, outer: number, channels: number, inner: number, relu: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const [s, b, at] = [scale[c]!, shift[c]!, (o * channels + c) * inner];
      for (let i = at; i < at + inner; i++) {
        const v = affineF32(x[i]!, s, b);
        out[i] = relu && v < 0 ? 0 : v;
      }
    }
  }
}

/** dx = g·scale[c], dScale[c] = Σ g·x, dShift[c] = Σ g, with g = dy (masked by the forward sign with relu). */
export function channelAffineBackward(x: Float32Array, scale: Float32Array, shift: Float32Array, dy: Float32Array, dx: Float32Array | null, dScale: Float32Array | null, dShift: Float32Array | null, outer: number, channels: number, inner: number, relu: boolean): void {
  for (let c = 0; c < channels; c++) {
    const [s, b] = [scale[c]!, shift[c]!];
    let sumGx = 0;
    let sumG = 0;
    for (let o = 0; o < outer; o++) {
      const at = (o * channels + c) * inner;
      for (let i = at; i < at + inner; i++) {
        const g = relu && !(affineF32(x[i]!, s, b) > 0) ? 0 : dy[i]!;
        if (dx) dx[i] = g * s;
        sumGx += g * x[i]!;
        sumG += g;
      }
    }
    if (dScale) dScale[c] = sumGx;
    if (dShift) dShift[c] = sumG;
  }
}

export function gather(table: HostArray, idx: Float64Array, out: HostArray, outer: number, axisLen: number, inner: number): void {
  const n = idx.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const src = (o * axisLen + index(idx[j]!, axisLen)) * inner;
      const dst = (o * n + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] = table[src + i]!;
    }
  }
}

export function gatherBackward(dy: Float32Array, idx: Float64Array, dTable: Float32Array, outer: number, axisLen: number, inner: number): void {
  const n = idx.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const dst = (o * axisLen + index(idx[j]!, axisLen)) * inner;
      const src = (o * n + j) * inner;
      for (let i = 0; i < inner; i++) dTable[dst + i] += dy[src + i]!;
    }
  }
}

export function adam(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, p: AdamParams): void {
  const c1 = 1 - Math.pow(p.beta1, p.step);
  const c2 = 1 - Math.pow(p.beta2, p.step);
  const decay = p.decoupled ? 1 - p.lr * p.weightDecay : 1;
  const l2 = p.decoupled ? 0 : p.weightDecay;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]! + l2 * w[i]!;
    const mi = p.beta1 * m[i]! + (1 - p.beta1) * gi;
    const vi = p.beta2 * v[i]! + (1 - p.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i]! * decay - (p.lr * (mi / c1)) / (Math.sqrt(vi / c2) + p.eps);
  }
}
