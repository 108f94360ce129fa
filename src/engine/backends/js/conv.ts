// Convolution for the JS backend: im2col + GEMM per (image, group), 1-D/2-D/3-D through one
// 3-D code path (missing leading spatial dims are 1). The backward passes reuse the same
// pieces: data = Wᵀ·dy then col2im; filter = dy·colsᵀ accumulated over the batch.
// A 1×1 kernel with unit strides and no padding skips the im2col copy.

import type { ConvParams } from '../../backend.js';
import { gemm } from './gemm.js';

interface Geo {
  D: number; H: number; W: number;
  KD: number; KH: number; KW: number;
  OD: number; OH: number; OW: number;
  sd: number; sh: number; sw: number;
  pd: number; ph: number; pw: number;
  dd: number; dh: number; dw: number;
}

/** Leading 1s (or 0s) up to 3 spatial dims, as small integers (`| 0`: see gemm.ts). */
const pad3 = (a: readonly number[], fill: number): number[] => [...new Array<number>(3 - a.length).fill(fill), ...a].map((v) => v | 0);

export function geometry(inShape: readonly number[], kernel: readonly number[], outShape: readonly number[], strides: readonly number[], pads: readonly number[], dils: readonly number[]): Geo {
  if (inShape.length > 3) throw new Error(`convolution over ${inShape.length} spatial dimensions (the JS backend does 1 to 3)`);
  const [D, H, W] = pad3(inShape, 1) as [number, number, number];
  const [KD, KH, KW] = pad3(kernel, 1) as [number, number, number];
  const [OD, OH, OW] = pad3(outShape, 1) as [number, number, number];
  const [sd, sh, sw] = pad3(strides, 1) as [number, number, number];
  const [pd, ph, pw] = pad3(pads, 0) as [number, number, number];
  const [dd, dh, dw] = pad3(dils, 1) as [number, number, number];
  return { D, H, W, KD, KH, KW, OD, OH, OW, sd, sh, sw, pd, ph, pw, dd, dh, dw };
}

/** [ow lo, ow hi) for which iw = ow·sw + off lies in [0, W). */
function validRange(off: number, sw: number, W: number, OW: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-off / sw));
  const hi = Math.min(OW, Math.floor((W - 1 - off) / sw) + 1);
  return [lo, Math.max(lo, hi)];
}

/** cols[(c, kd, kh, kw), (od, oh, ow)] from x[c, d, h, w] starting at xo; or the reverse (col2im, accumulating). */
function im2col(x: Float32Array, xo: number, c: number, g: Geo, cols: Float32Array, reverse: boolean): void {
  const osp = g.OD * g.OH * g.OW;
  let r = 0;
  for (let ci = 0; ci < c; ci++) {
    for (let kd = 0; kd < g.KD; kd++) {
      for (let kh = 0; kh < g.KH; kh++) {
        for (let kw = 0; kw < g.KW; kw++, r++) {
          const off = kw * g.dw - g.pw;
          const [lo, hi] = validRange(off, g.sw, g.W, g.OW);
          for (let od = 0; od < g.OD; od++) {
            const id = od * g.sd - g.pd + kd * g.dd;
            for (let oh = 0; oh < g.OH; oh++) {
              const ih = oh * g.sh - g.ph + kh * g.dh;
              const o = r * osp + (od * g.OH + oh) * g.OW;
              const inside = id >= 0 && id < g.D && ih >= 0 && ih < g.H;
              if (reverse) {
                if (!inside) continue;
                const src = xo + ((ci * g.D + id) * g.H + ih) * g.W + off;
                for (let ow = lo; ow < hi; ow++) x[src + ow * g.sw] += cols[o + ow]!;
                continue;
              }
              if (!inside) {
                cols.fill(0, o, o + g.OW);
                continue;
              }
              const src = xo + ((ci * g.D + id) * g.H + ih) * g.W + off;
              if (lo > 0) cols.fill(0, o, o + lo);
              // Plain loops, not set(subarray()): subarray goes through a species lookup that
              // gets slow once any loaded library has touched typed-array prototypes.
              for (let ow = lo; ow < hi; ow++) cols[o + ow] = x[src + ow * g.sw]!;
              if (hi < g.OW) cols.fill(0, o + hi, o + g.OW);
            }
          }
        }
      }
    }
  }
}

interface Layout {
  g: Geo;
  cg: number;
  og: number;
  /** Rows of the im2col matrix: cg × kernel volume. */
  K: number;
  isp: number;
  osp: number;
  direct: boolean;
}

function layout(p: ConvParams): Layout {
  const g = geometry(p.inShape, p.kernel, p.outShape, p.strides, p.padsBegin, p.dilations);
  const cg = (p.inChannels / p.group) | 0;
  const og = (p.outChannels / p.group) | 0;
  const kvol = g.KD * g.KH * g.KW;
  const isp = g.D * g.H * g.W;
  const osp = g.OD * g.OH * g.OW;
  const direct = kvol === 1 && g.sd * g.sh * g.sw === 1 && g.pd + g.ph + g.pw === 0 && isp === osp;
  return { g, cg, og, K: cg * kvol, isp, osp, direct };
}

export function convForward(x: Float32Array, w: Float32Array, out: Float32Array, p: ConvParams): void {
  const L = layout(p);
  const cols = L.direct ? x : new Float32Array(L.K * L.osp);
  for (let n = 0; n < p.batch; n++) {
    for (let gr = 0; gr < p.group; gr++) {
      const xo = (n * p.inChannels + gr * L.cg) * L.isp;
      if (!L.direct) im2col(x, xo, L.cg, L.g, cols, false);
      gemm({
        A: w, aOff: gr * L.og * L.K, aRow: L.K, aCol: 1,
        B: cols, bOff: L.direct ? xo : 0, bT: false,
        C: out, cOff: (n * p.outChannels + gr * L.og) * L.osp,
        m: L.og, n: L.osp, k: L.K, acc: false,
      });
    }
  }
}

export function convBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, p: ConvParams): void {
  const L = layout(p);
  const dcols = L.direct ? dx : new Float32Array(L.K * L.osp);
  if (!L.direct) dx.fill(0);
  for (let n = 0; n < p.batch; n++) {
    for (let gr = 0; gr < p.group; gr++) {
      const xo = (n * p.inChannels + gr * L.cg) * L.isp;
      gemm({
        A: w, aOff: gr * L.og * L.K, aRow: 1, aCol: L.K,
        B: dy, bOff: (n * p.outChannels + gr * L.og) * L.osp, bT: false,
        C: dcols, cOff: L.direct ? xo : 0,
        m: L.K, n: L.osp, k: L.og, acc: false,
      });
      if (!L.direct) im2col(dx, xo, L.cg, L.g, dcols, true);
    }
  }
}

export function convBackwardFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, p: ConvParams): void {
  const L = layout(p);
  const cols = L.direct ? x : new Float32Array(L.K * L.osp);
  if (p.batch === 0) dw.fill(0);
  for (let n = 0; n < p.batch; n++) {
    for (let gr = 0; gr < p.group; gr++) {
      const xo = (n * p.inChannels + gr * L.cg) * L.isp;
      if (!L.direct) im2col(x, xo, L.cg, L.g, cols, false);
      gemm({
        A: dy, aOff: (n * p.outChannels + gr * L.og) * L.osp, aRow: L.osp, aCol: 1,
        B: cols, bOff: L.direct ? xo : 0, bT: true,
        C: dw, cOff: gr * L.og * L.K,
        m: L.og, n: L.K, k: L.osp, acc: n > 0,
      });
    }
  }
}
