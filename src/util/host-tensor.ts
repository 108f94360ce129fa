// A tensor in host memory as it travels between data files, onnxruntime and reports:
// element type, shape and a typed array (int64 as BigInt64Array, bool as Uint8Array).

import { bfloat16ToFloat, halfToFloat, type ElementType, type NumericArray } from '../ir/dtype.js';

export interface HostTensor {
  dtype: ElementType;
  dims: number[];
  data: NumericArray;
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Rows [start, end) along the first axis, sharing memory with `t`. */
export function sliceBatch(t: HostTensor, start: number, end: number): HostTensor {
  const row = numel(t.dims.slice(1));
  return { dtype: t.dtype, dims: [end - start, ...t.dims.slice(1)], data: t.data.subarray(start * row, end * row) as NumericArray };
}

/** Values as float64 numbers, whatever the element type. */
export function toFloat64(t: HostTensor): Float64Array {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]!);
  return out;
}

/** A float16/bfloat16/float64 tensor as float32 (float16/bfloat16 held as bit patterns); others as they are. */
export function widenToFloat32(t: HostTensor): HostTensor {
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    return { dtype: 'float32', dims: t.dims, data: Float32Array.from(t.data as Uint16Array, t.dtype === 'float16' ? halfToFloat : bfloat16ToFloat) };
  }
  if (t.dtype === 'float64') return { dtype: 'float32', dims: t.dims, data: Float32Array.from(t.data as Float64Array) };
  return t;
}

/** widenToFloat32 of every tensor of a record (model outputs, targets). */
export function widenAllToFloat32(r: Record<string, HostTensor>): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, widenToFloat32(v)]));
}
