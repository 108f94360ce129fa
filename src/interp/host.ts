// Conversions between the outside world's tensors (HostTensor, IR initializers in any ONNX
// element type) and engine tensors, which hold float32, int64 (as float64 numbers) or bool.
// Wider or narrower types map to the nearest engine type: float16/bfloat16/float64 → float32,
// every integer type → int64. Going back, values are written in the dtype asked for.

import { tensor as engineTensor, type Tensor } from '../engine/index.js';
import type { DType, HostArray } from '../engine/dtype.js';
import { bfloat16ToFloat, halfToFloat, floatToHalf, type ElementType, type NumericArray } from '../ir/dtype.js';
import type { OnnxTensor } from '../ir/types.js';
import type { HostTensor } from '../util/host-tensor.js';

const INT_TYPES = new Set<ElementType>(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'int4', 'uint4']);
const FLOAT_TYPES = new Set<ElementType>(['float32', 'float16', 'bfloat16', 'float64']);

/** The engine type an ONNX element type is computed in, or undefined when it has none. */
export function engineType(dtype: ElementType): DType | undefined {
  if (FLOAT_TYPES.has(dtype)) return 'float32';
  if (INT_TYPES.has(dtype)) return 'int64';
  if (dtype === 'bool') return 'bool';
  return undefined;
}

/** Values of an ONNX-typed array as numbers in the engine's layout (4-bit types: packed, low nibble first). */
function toEngineValues(dtype: ElementType, data: NumericArray, count: number): ArrayLike<number> {
  if (dtype === 'int4' || dtype === 'uint4') {
    return Float64Array.from({ length: count }, (_, i) => {
      const v = ((data as Uint8Array)[i >> 1]! >> ((i & 1) * 4)) & 15;
      return dtype === 'int4' && v > 7 ? v - 16 : v;
    });
  }
  if (dtype === 'float16') return Float32Array.from(data as Uint16Array, halfToFloat);
  if (dtype === 'bfloat16') return Float32Array.from(data as Uint16Array, bfloat16ToFloat);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, Number);
  return data as ArrayLike<number>;
}

export function fromHost(h: HostTensor): Tensor {
  const t = engineType(h.dtype);
  if (!t) throw new Error(`${h.dtype} tensors cannot be computed on`);
  return engineTensor(toEngineValues(h.dtype, h.data, h.dims.reduce((a, b) => a * b, 1)), h.dims, t);
}

export function fromIr(t: OnnxTensor, what: string): Tensor {
  if (Array.isArray(t.data)) throw new Error(`${what} is a string tensor`);
  const et = engineType(t.dtype);
  if (!et) throw new Error(`${what} is of type ${t.dtype}, which tbn cannot compute on`);
  return engineTensor(toEngineValues(t.dtype, t.data as NumericArray, t.dims.reduce((a, b) => a * b, 1)), t.dims, et);
}

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

/** Writes the engine tensor in `dtype` (default: its own engine type's ONNX type). */
export function toHost(t: Tensor, dtype?: ElementType): HostTensor {
  const values: HostArray = t.toArray();
  const target: ElementType = dtype ?? (t.dtype === 'int64' ? 'int64' : t.dtype === 'bool' ? 'bool' : 'float32');
  return { dtype: target, dims: [...t.shape], data: convert(values, target) };
}

function convert(v: HostArray, dtype: ElementType): NumericArray {
  switch (dtype) {
    case 'float32':
      return v instanceof Float32Array ? v : Float32Array.from(v);
    case 'float64':
      return Float64Array.from(v);
    case 'float16':
      return Uint16Array.from(v, floatToHalf);
    case 'bool':
    case 'uint8':
      return v instanceof Uint8Array ? v : Uint8Array.from(v);
    case 'int8':
      return Int8Array.from(v);
    case 'int16':
      return Int16Array.from(v);
    case 'uint16':
      return Uint16Array.from(v);
    case 'int32':
      return Int32Array.from(v);
    case 'uint32':
      return Uint32Array.from(v);
    case 'int64':
      return BigInt64Array.from(v, (x) => clampBig(x, I64_MIN, I64_MAX));
    case 'uint64':
      return BigUint64Array.from(v, (x) => clampBig(x, 0n, 2n ** 64n - 1n));
    default:
      throw new Error(`cannot write ${dtype} tensors`);
  }
}

function clampBig(x: number, lo: bigint, hi: bigint): bigint {
  if (Number.isNaN(x)) return 0n;
  if (x === Infinity) return hi;
  if (x === -Infinity) return lo;
  const b = BigInt(Math.trunc(x));
  return b > hi ? hi : b < lo ? lo : b;
}

/** A small int tensor's values as numbers (shapes, axes, pads…). */
export function intsOf(t: Tensor): number[] {
  return Array.from(t.toArray());
}
