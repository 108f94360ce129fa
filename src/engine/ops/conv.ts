// Convolution and transposed convolution (N-D spatial; the JS backend does 1-D to 3-D), with
// groups, strides, asymmetric pads and dilations. Conv's backward is (data, filter) kernels;
// ConvTranspose is Conv's data-backward, so its own backward is Conv forward plus the filter
// kernel with the operands' roles swapped. A TBN-tiled weight (Tensor.tiling: p blocks of
// filters, block r = α[r]·T) is convolved as design.md §1 has it: y_r = α[r]·conv(x, T), and
// dx = convᵀ(Σ_r α[r]·dy_r, T), each p× fewer multiply-adds; the filter gradient stays whole
// (the tile op's backward needs it at every weight).

import { noGrad, record } from '../autograd.js';
import type { ConvParams } from '../backend.js';
import { tidy } from '../scope.js';
import { empty, numel, type Tensor, type Tiling } from '../tensor.js';
import { add, mul } from './elementwise.js';
import { sum } from './reduce.js';
import { reshape } from './shape-ops.js';

export interface ConvOptions {
  strides?: readonly number[];
  /** [begin…, end…] per spatial axis. */
  pads?: readonly number[];
  dilations?: readonly number[];
  group?: number;
}

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: readonly number[];
}

interface Geometry {
  strides: number[];
  padsBegin: number[];
  padsEnd: number[];
  dilations: number[];
  group: number;
}

function geometry(r: number, o: ConvOptions): Geometry {
  const pads = o.pads ?? new Array<number>(2 * r).fill(0);
  return {
    strides: [...(o.strides ?? new Array<number>(r).fill(1))],
    padsBegin: pads.slice(0, r),
    padsEnd: pads.slice(r, 2 * r),
    dilations: [...(o.dilations ?? new Array<number>(r).fill(1))],
    group: o.group ?? 1,
  };
}

function addBias(y: Tensor, bias: Tensor | undefined): Tensor {
  if (!bias) return y;
  return tidy(() => add(y, reshape(bias, [bias.size, ...new Array<number>(y.rank - 2).fill(1)])));
}

/** x [N, C, …], w [M, C/group, k…], bias [M]. */
export function conv(x: Tensor, w: Tensor, bias?: Tensor, opts: ConvOptions = {}): Tensor {
  const r = x.rank - 2;
  if (r < 1 || w.rank !== x.rank) throw new Error(`conv: input [${x.shape}] and weight [${w.shape}] ranks do not match`);
  const g = geometry(r, opts);
  const [n, c] = x.shape as [number, number];
  const m = w.shape[0]!;
  if (c !== w.shape[1]! * g.group || m % g.group) throw new Error(`conv: input [${x.shape}], weight [${w.shape}] and group ${g.group} do not fit`);
  const kernel = w.shape.slice(2);
  const outShape = x.shape.slice(2).map((d, i) => Math.floor((d + g.padsBegin[i]! + g.padsEnd[i]! - g.dilations[i]! * (kernel[i]! - 1) - 1) / g.strides[i]!) + 1);
  if (outShape.some((d) => d <= 0)) throw new Error(`conv: input [${x.shape}] is smaller than the kernel [${kernel}]`);
  const p: ConvParams = { batch: n, inChannels: c, outChannels: m, group: g.group, inShape: x.shape.slice(2), kernel, outShape, strides: g.strides, padsBegin: g.padsBegin, dilations: g.dilations };
  const t = w.tiling;
  if (t && g.group === 1 && t.signs.shape[0]! * t.p === m && t.signs.size * t.p === w.size) {
    const y = tiledConv(x, w, t, p);
    return bias ? withBias(y, bias) : y;
  }
  const y = empty([n, m, ...outShape], 'float32', x.backend);
  x.backend.conv(x.buf, w.buf, y.buf, p);
  const [xs, ws] = [x.shape, w.shape];
  record(y, 'conv', [x, w], [x, w], (gy, [sx, sw], need) => {
    let gx: Tensor | undefined;
    let gw: Tensor | undefined;
    if (need[0]) {
      gx = empty(xs, 'float32', gy.backend);
      gy.backend.convBackwardData(gy.buf, sw!.buf, gx.buf, p);
    }
    if (need[1]) {
      gw = empty(ws, 'float32', gy.backend);
      gy.backend.convBackwardFilter(sx!.buf, gy.buf, gw.buf, p);
    }
    return [gx, gw];
  });
  return bias ? withBias(y, bias) : y;
}

/** conv(x, w) for a tiled w (Tiling): the product with T only, then each block scaled by its α. */
function tiledConv(x: Tensor, w: Tensor, t: Tiling, p: ConvParams): Tensor {
  const rows = p.outChannels / t.p;
  const small: ConvParams = { ...p, outChannels: rows };
  const n = p.batch;
  const space = numel(p.outShape);
  const blocks = (v: Tensor) => reshape(v, [n, t.p, rows, space]);
  const perBlock = (a: Tensor) => reshape(a, [1, t.p, 1, 1]);
  const y = noGrad(() =>
    tidy(() => {
      const ys = empty([n, 1, rows, space], 'float32', x.backend);
      x.backend.conv(x.buf, t.signs.buf, ys.buf, small);
      return reshape(mul(ys, perBlock(t.alpha)), [n, p.outChannels, ...p.outShape]);
    }),
  );
  const [xs, ws] = [x.shape, w.shape];
  return record(y, 'conv', [x, w], [x, t.signs, t.alpha], (gy, [sx, ss, sa], need) => {
    let gx: Tensor | undefined;
    let gw: Tensor | undefined;
    if (need[0]) {
      const dys = sum(mul(blocks(gy), perBlock(sa!)), [1]);
      gx = empty(xs, 'float32', gy.backend);
      gy.backend.convBackwardData(dys.buf, ss!.buf, gx.buf, small);
    }
    if (need[1]) {
      gw = empty(ws, 'float32', gy.backend);
      gy.backend.convBackwardFilter(sx!.buf, gy.buf, gw.buf, p);
    }
    return [gx, gw];
  });
}

function withBias(y: Tensor, bias: Tensor): Tensor {
  const out = addBias(y, bias);
  y.dispose();
  return out;
}

/** x [N, C, …], w [C, M/group, k…], bias [M]; output size from strides, pads and outputPadding. */
export function convTranspose(x: Tensor, w: Tensor, bias?: Tensor, opts: ConvTransposeOptions = {}): Tensor {
  const r = x.rank - 2;
  if (r < 1 || w.rank !== x.rank) throw new Error(`convTranspose: input [${x.shape}] and weight [${w.shape}] ranks do not match`);
  const g = geometry(r, opts);
  const [n, c] = x.shape as [number, number];
  if (w.shape[0] !== c || c % g.group) throw new Error(`convTranspose: input [${x.shape}], weight [${w.shape}] and group ${g.group} do not fit`);
  const m = w.shape[1]! * g.group;
  const kernel = w.shape.slice(2);
  const outPad = opts.outputPadding ?? new Array<number>(r).fill(0);
  const outShape = x.shape.slice(2).map((d, i) => g.strides[i]! * (d - 1) + outPad[i]! + (kernel[i]! - 1) * g.dilations[i]! + 1 - g.padsBegin[i]! - g.padsEnd[i]!);
  if (outShape.some((d) => d <= 0)) throw new Error(`convTranspose: empty output [${outShape}]`);
  // The convolution whose data-gradient this is: it maps the output back onto x.
  const p: ConvParams = { batch: n, inChannels: m, outChannels: c, group: g.group, inShape: outShape, kernel, outShape: x.shape.slice(2), strides: g.strides, padsBegin: g.padsBegin, dilations: g.dilations };
  const y = empty([n, m, ...outShape], 'float32', x.backend);
  x.backend.convBackwardData(x.buf, w.buf, y.buf, p);
  const [xs, ws] = [x.shape, w.shape];
  record(y, 'convTranspose', [x, w], [x, w], (gy, [sx, sw], need) => {
    let gx: Tensor | undefined;
    let gw: Tensor | undefined;
    if (need[0]) {
      gx = empty(xs, 'float32', gy.backend);
      gy.backend.conv(gy.buf, sw!.buf, gx.buf, p);
    }
    if (need[1]) {
      gw = empty(ws, 'float32', gy.backend);
      gy.backend.convBackwardFilter(gy.buf, sx!.buf, gw.buf, p);
    }
    return [gx, gw];
  });
  return bias ? withBias(y, bias) : y;
}

/** Sum of dy over batch and space: the bias gradient, exposed for fused callers. */
export const biasGrad = (dy: Tensor): Tensor => sum(dy, [0, ...dy.shape.slice(2).map((_, i) => i + 2)]);
