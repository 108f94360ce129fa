// Element types of ONNX tensors: names, TensorProto.DataType codes, byte sizes and the typed
// array each one is held in. Sub-byte and 8-bit float types are held as their packed bytes.

export const DTYPES = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  complex64: 14,
  complex128: 15,
  bfloat16: 16,
  float8e4m3fn: 17,
  float8e4m3fnuz: 18,
  float8e5m2: 19,
  float8e5m2fnuz: 20,
  uint4: 21,
  int4: 22,
  float4e2m1: 23,
  float8e8m0: 24,
  uint2: 25,
  int2: 26,
} as const;

export type ElementType = keyof typeof DTYPES;

const BY_CODE = new Map<number, ElementType>(Object.entries(DTYPES).map(([k, v]) => [v, k as ElementType]));

export function dtypeFromCode(code: number): ElementType | undefined {
  return BY_CODE.get(code);
}

export function dtypeCode(dtype: ElementType): number {
  return DTYPES[dtype];
}

/** Bits one element takes in raw_data. */
export function dtypeBits(dtype: ElementType): number {
  switch (dtype) {
    case 'uint2':
    case 'int2':
      return 2;
    case 'uint4':
    case 'int4':
    case 'float4e2m1':
      return 4;
    case 'uint8':
    case 'int8':
    case 'bool':
    case 'float8e4m3fn':
    case 'float8e4m3fnuz':
    case 'float8e5m2':
    case 'float8e5m2fnuz':
    case 'float8e8m0':
      return 8;
    case 'uint16':
    case 'int16':
    case 'float16':
    case 'bfloat16':
      return 16;
    case 'float32':
    case 'int32':
    case 'uint32':
      return 32;
    case 'int64':
    case 'uint64':
    case 'float64':
    case 'complex64':
      return 64;
    case 'complex128':
      return 128;
    case 'string':
      return 0;
  }
}

/** Bytes that `count` elements take in raw_data (sub-byte types are packed, rounded up). */
export function rawByteLength(dtype: ElementType, count: number): number {
  return Math.ceil((count * dtypeBits(dtype)) / 8);
}

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Strings are kept as their bytes: ONNX does not promise UTF-8 and we must not alter them. */
export type TensorData = NumericArray | Uint8Array[];

/**
 * The typed array that holds `dtype`. float16/bfloat16 keep their bit patterns (Uint16Array),
 * complex types interleave real and imaginary parts, packed sub-byte types keep raw bytes.
 */
export function arrayTypeFor(dtype: ElementType): {
  ctor: { new (n: number): NumericArray; new (b: ArrayBuffer, o: number, n: number): NumericArray; BYTES_PER_ELEMENT: number };
  perElement: number;
} | null {
  switch (dtype) {
    case 'float32':
      return { ctor: Float32Array, perElement: 1 };
    case 'complex64':
      return { ctor: Float32Array, perElement: 2 };
    case 'float64':
      return { ctor: Float64Array, perElement: 1 };
    case 'complex128':
      return { ctor: Float64Array, perElement: 2 };
    case 'int8':
      return { ctor: Int8Array, perElement: 1 };
    case 'int16':
      return { ctor: Int16Array, perElement: 1 };
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return { ctor: Uint16Array, perElement: 1 };
    case 'int32':
      return { ctor: Int32Array, perElement: 1 };
    case 'uint32':
      return { ctor: Uint32Array, perElement: 1 };
    case 'int64':
      return { ctor: BigInt64Array, perElement: 1 };
    case 'uint64':
      return { ctor: BigUint64Array, perElement: 1 };
    case 'uint8':
    case 'bool':
    case 'float8e4m3fn':
    case 'float8e4m3fnuz':
    case 'float8e5m2':
    case 'float8e5m2fnuz':
    case 'float8e8m0':
      return { ctor: Uint8Array, perElement: 1 };
    case 'uint4':
    case 'int4':
    case 'float4e2m1':
    case 'uint2':
    case 'int2':
      return null; // packed: held as raw bytes
    case 'string':
      return null;
  }
}

export function isFloatType(dtype: ElementType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** IEEE half → float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float → IEEE half, round to nearest even. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function bfloat16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

/** float → bfloat16 bits, round to nearest even (NaN stays NaN). */
export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7fffffff) > 0x7f800000) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 values held in a float element type's array (float16/bfloat16 as bit patterns). */
export function floatsAs(values: Float32Array, dtype: 'float32' | 'float16' | 'bfloat16' | 'float64'): NumericArray {
  if (dtype === 'float32') return values;
  if (dtype === 'float64') return Float64Array.from(values);
  return Uint16Array.from(values, dtype === 'float16' ? floatToHalf : floatToBfloat16);
}
