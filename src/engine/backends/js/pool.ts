// Pooling for the JS backend over planes (batch × channels), 1-D/2-D/3-D through one 3-D
// loop nest. MaxPool records the flat index (over the whole input tensor, as ONNX's Indices
// output defines it) of each maximum; its backward scatters dy there.

import type { PoolParams } from '../../backend.js';
import { geometry } from './conv.js';

function geo(p: PoolParams) {
  const g = geometry(p.inShape, p.kernel, p.outShape, p.strides, p.padsBegin, p.dilations);
  const ends = [...new Array<number>(3 - p.padsEnd.length).fill(0), ...p.padsEnd].map((v) => v | 0);
  return { ...g, ed: ends[0]!, eh: ends[1]!, ew: ends[2]!, isp: g.D * g.H * g.W, osp: g.OD * g.OH * g.OW };
}

export function maxPool(x: Float32Array, out: Float32Array, argmax: Float64Array | null, p: PoolParams): void {
  const g = geo(p);
  let o = 0;
  for (let pl = 0; pl < p.planes; pl++) {
    const base = pl * g.isp;
    for (let od = 0; od < g.OD; od++) {
      for (let oh = 0; oh < g.OH; oh++) {
        for (let ow = 0; ow < g.OW; ow++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let kd = 0; kd < g.KD; kd++) {
            const id = od * g.sd - g.pd + kd * g.dd;
            if (id < 0 || id >= g.D) continue;
            for (let kh = 0; kh < g.KH; kh++) {
              const ih = oh * g.sh - g.ph + kh * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              const row = base + (id * g.H + ih) * g.W;
              for (let kw = 0; kw < g.KW; kw++) {
                const iw = ow * g.sw - g.pw + kw * g.dw;
                if (iw < 0 || iw >= g.W) continue;
                const v = x[row + iw]!;
                if (v > best || at < 0 || v !== v) {
                  best = v;
                  at = row + iw;
                  if (v !== v) break;
                }
              }
            }
          }
          out[o] = best;
          if (argmax) argmax[o] = at;
        }
      }
    }
  }
}

export function maxPoolBackward(dy: Float32Array, argmax: Float64Array, dx: Float32Array): void {
  dx.fill(0);
  for (let o = 0; o < dy.length; o++) {
    const at = argmax[o]!;
    if (at >= 0) dx[at] += dy[o]!;
  }
}

/** Count of window taps inside [lo, hi) along one axis. */
function taps(o: number, s: number, pad: number, k: number, dil: number, lo: number, hi: number): number {
  let c = 0;
  for (let t = 0; t < k; t++) {
    const i = o * s - pad + t * dil;
    if (i >= lo && i < hi) c++;
  }
  return c;
}

/**
 * Average pooling forward (src = x, dst = out) or backward (src = dy, dst = dx, zeroed here):
 * one loop nest for both, so the divisor rule (count_include_pad) lives in one place.
 */
function avgPass(src: Float32Array, dst: Float32Array, p: PoolParams, backward: boolean): void {
  const g = geo(p);
  if (backward) dst.fill(0);
  const inc = p.countIncludePad;
  let o = 0;
  for (let pl = 0; pl < p.planes; pl++) {
    const base = pl * g.isp;
    for (let od = 0; od < g.OD; od++) {
      const cd = inc ? taps(od, g.sd, g.pd, g.KD, g.dd, -g.pd, g.D + g.ed) : taps(od, g.sd, g.pd, g.KD, g.dd, 0, g.D);
      for (let oh = 0; oh < g.OH; oh++) {
        const ch = inc ? taps(oh, g.sh, g.ph, g.KH, g.dh, -g.ph, g.H + g.eh) : taps(oh, g.sh, g.ph, g.KH, g.dh, 0, g.H);
        for (let ow = 0; ow < g.OW; ow++, o++) {
          const cw = inc ? taps(ow, g.sw, g.pw, g.KW, g.dw, -g.pw, g.W + g.ew) : taps(ow, g.sw, g.pw, g.KW, g.dw, 0, g.W);
          const div = cd * ch * cw;
          const share = backward && div ? src[o]! / div : 0;
          let sum = 0;
          for (let kd = 0; kd < g.KD; kd++) {
            const id = od * g.sd - g.pd + kd * g.dd;
            if (id < 0 || id >= g.D) continue;
            for (let kh = 0; kh < g.KH; kh++) {
              const ih = oh * g.sh - g.ph + kh * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              const row = base + (id * g.H + ih) * g.W;
              for (let kw = 0; kw < g.KW; kw++) {
                const iw = ow * g.sw - g.pw + kw * g.dw;
                if (iw < 0 || iw >= g.W) continue;
                if (backward) dst[row + iw] += share;
                else sum += src[row + iw]!;
              }
            }
          }
          if (!backward) dst[o] = div ? sum / div : 0;
        }
      }
    }
  }
}

export const avgPool = (x: Float32Array, out: Float32Array, p: PoolParams): void => avgPass(x, out, p, false);
export const avgPoolBackward = (dy: Float32Array, dx: Float32Array, p: PoolParams): void => avgPass(dy, dx, p, true);
