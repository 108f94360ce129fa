// Element types the engine computes in, and the host arrays that hold them. int64 values are
// held as float64 numbers: exact within ±2^53, which covers every shape, index and count a
// model computes; larger sentinels (INT64_MAX as a Slice end) survive as huge, clamped values.

export type DType = 'float32' | 'int64' | 'bool';

export type HostArray = Float32Array | Float64Array | Uint8Array;

export function hostArray(dtype: DType, n: number): HostArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'int64':
      return new Float64Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

export function bytesPer(dtype: DType): number {
  return dtype === 'float32' ? 4 : dtype === 'int64' ? 8 : 1;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32';
}
