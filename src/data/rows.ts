// Arrays read by rows along their first axis, without holding the whole array: in memory
// (small arrays), at an offset in a file (a .npy, a stored .npz member, a .pb's raw_data, an
// inflated member in a temporary file) or a concatenation of those (ONNX test-data sets).
// A read returns a new tensor of the rows asked for, in the order asked; contiguous runs of
// rows are read with one positioned read.

import fs from 'node:fs';
import { UserError } from '../errors.js';
import type { ElementType, NumericArray } from '../ir/dtype.js';
import { numel, type HostTensor } from '../util/host-tensor.js';
import { checkBool, typedFromBytes } from './npy.js';

export interface RowSource {
  /** Element type as stored. */
  dtype: ElementType;
  /** Full shape, [rows, ...]. */
  dims: number[];
  /** The rows at `indices` (each < dims[0]), in that order: a new tensor [indices.length, ...]. */
  read(indices: ArrayLike<number>): HostTensor;
}

function rowShape(dims: number[], n: number): number[] {
  return [n, ...dims.slice(1)];
}

/** Rows of a tensor held in memory. */
export function memoryRows(t: HostTensor): RowSource {
  const row = numel(t.dims.slice(1));
  return {
    dtype: t.dtype,
    dims: t.dims,
    read(indices) {
      const out = new (t.data.constructor as new (n: number) => NumericArray)(indices.length * row);
      for (let i = 0; i < indices.length; i++) {
        const r = indices[i]!;
        (out as Float32Array).set((t.data as Float32Array).subarray(r * row, (r + 1) * row), i * row);
      }
      return { dtype: t.dtype, dims: rowShape(t.dims, indices.length), data: out };
    },
  };
}

export interface FileRowsSpec {
  file: string;
  /** Byte offset of row 0. */
  offset: number;
  dtype: ElementType;
  /** Bytes per element. */
  size: number;
  dims: number[];
  bigEndian: boolean;
  /** Names the array in errors. */
  what: string;
}

/** Rows of a C-order array stored at an offset in a file, read with positioned reads. */
export function fileRows(spec: FileRowsSpec): RowSource {
  const rowBytes = numel(spec.dims.slice(1)) * spec.size;
  return {
    dtype: spec.dtype,
    dims: spec.dims,
    read(indices) {
      const bytes = new Uint8Array(indices.length * rowBytes);
      let fd: number;
      try {
        fd = fs.openSync(spec.file, 'r');
      } catch (e) {
        throw new UserError(`${spec.what}: cannot read the data file any more (${(e as NodeJS.ErrnoException).code ?? e})`);
      }
      try {
        for (let i = 0; i < indices.length; ) {
          // One read for each run of consecutive rows.
          let j = i + 1;
          while (j < indices.length && indices[j] === indices[j - 1]! + 1) j++;
          const want = (j - i) * rowBytes;
          const at = spec.offset + indices[i]! * rowBytes;
          let got = 0;
          while (got < want) {
            const n = fs.readSync(fd, bytes, i * rowBytes + got, want - got, at + got);
            if (n === 0) throw new UserError(`${spec.what}: the file ended early (was it changed while tbn read it?)`);
            got += n;
          }
          i = j;
        }
      } finally {
        fs.closeSync(fd);
      }
      const data = typedFromBytes(bytes, spec.dtype, spec.size, spec.bigEndian);
      if (spec.dtype === 'bool') checkBool(data, spec.what);
      return { dtype: spec.dtype, dims: rowShape(spec.dims, indices.length), data };
    },
  };
}

/** Several sources with the same row shape, one after another. */
export function concatRows(parts: RowSource[]): RowSource {
  const starts: number[] = [];
  let total = 0;
  for (const p of parts) {
    starts.push(total);
    total += p.dims[0]!;
  }
  const first = parts[0]!;
  const dims = [total, ...first.dims.slice(1)];
  return {
    dtype: first.dtype,
    dims,
    read(indices) {
      const row = numel(dims.slice(1));
      const out = new (arrayCtor(first) as new (n: number) => NumericArray)(indices.length * row);
      for (let i = 0; i < indices.length; i++) {
        const r = indices[i]!;
        let k = parts.length - 1;
        while (starts[k]! > r) k--;
        (out as Float32Array).set(parts[k]!.read([r - starts[k]!]).data as Float32Array, i * row);
      }
      return { dtype: first.dtype, dims: rowShape(dims, indices.length), data: out };
    },
  };
}

function arrayCtor(s: RowSource): new (n: number) => NumericArray {
  return s.read([]).data.constructor as new (n: number) => NumericArray;
}

/** Every row (for small arrays: labels, reference vectors, tests). */
export function readAllRows(s: RowSource): HostTensor {
  return s.read(Uint32Array.from({ length: s.dims[0] ?? 0 }, (_, i) => i));
}
