// Max and average pooling (N-D spatial), with pads, strides, dilations, ceil mode and
// count_include_pad, and global average/max pooling as reductions. maxPool can also return
// ONNX's Indices output (flat, row-major), which is what its backward scatters through.

import { record } from '../autograd.js';
import type { PoolParams } from '../backend.js';
import { empty, type Tensor } from '../tensor.js';
import { max, mean } from './reduce.js';

export interface PoolOptions {
  kernel: readonly number[];
  strides?: readonly number[];
  /** [begin…, end…] per spatial axis. */
  pads?: readonly number[];
  dilations?: readonly number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

/** Output length of one axis; in ceil mode a window must start inside the input or its begin pad. */
export function poolOutSize(len: number, k: number, s: number, pb: number, pe: number, d: number, ceil: boolean): number {
  const span = (k - 1) * d + 1;
  const raw = (len + pb + pe - span) / s;
  let out = (ceil ? Math.ceil(raw) : Math.floor(raw)) + 1;
  if (ceil && (out - 1) * s >= len + pb) out--;
  return out;
}

function params(x: Tensor, o: PoolOptions): PoolParams {
  const r = x.rank - 2;
  if (r < 1 || o.kernel.length !== r) throw new Error(`pool: kernel [${o.kernel}] for input [${x.shape}]`);
  const strides = o.strides ?? new Array<number>(r).fill(1);
  const pads = o.pads ?? new Array<number>(2 * r).fill(0);
  const dilations = o.dilations ?? new Array<number>(r).fill(1);
  const inShape = x.shape.slice(2);
  const outShape = inShape.map((d, i) => poolOutSize(d, o.kernel[i]!, strides[i]!, pads[i]!, pads[i + r]!, dilations[i]!, !!o.ceilMode));
  if (outShape.some((d) => d <= 0)) throw new Error(`pool: input [${x.shape}] is smaller than the window [${o.kernel}]`);
  return { planes: x.shape[0]! * x.shape[1]!, inShape, kernel: o.kernel, outShape, strides, padsBegin: pads.slice(0, r), padsEnd: pads.slice(r), dilations, countIncludePad: !!o.countIncludePad };
}

/** Max pooling; `indices` (int64, flat over the input) when asked for. */
export function maxPool(x: Tensor, o: PoolOptions, withIndices = false): { y: Tensor; indices?: Tensor } {
  const p = params(x, o);
  const shape = [x.shape[0]!, x.shape[1]!, ...p.outShape];
  const y = empty(shape, 'float32', x.backend);
  const idx = empty(shape, 'int64', x.backend);
  x.backend.maxPool(x.buf, y.buf, idx.buf, p);
  const xs = x.shape;
  record(y, 'maxPool', [x], [idx], (g, [si]) => {
    const gx = empty(xs, 'float32', g.backend);
    g.backend.maxPoolBackward(g.buf, si!.buf, gx.buf, p);
    return [gx];
  });
  if (withIndices) return { y, indices: idx };
  idx.dispose();
  return { y };
}

export function avgPool(x: Tensor, o: PoolOptions): Tensor {
  const p = params(x, o);
  const y = empty([x.shape[0]!, x.shape[1]!, ...p.outShape], 'float32', x.backend);
  x.backend.avgPool(x.buf, y.buf, p);
  const xs = x.shape;
  return record(y, 'avgPool', [x], [], (g) => {
    const gx = empty(xs, 'float32', g.backend);
    g.backend.avgPoolBackward(g.buf, gx.buf, p);
    return [gx];
  });
}

const spatial = (x: Tensor) => x.shape.slice(2).map((_, i) => i + 2);
export const globalAvgPool = (x: Tensor): Tensor => mean(x, spatial(x), true);
export const globalMaxPool = (x: Tensor): Tensor => max(x, spatial(x), true);
