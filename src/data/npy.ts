// numpy .npy arrays: header parsing with every size checked against the bytes present,
// little- and big-endian data, C and Fortran order (Fortran is reordered to C order).

import { failIn } from '../errors.js';
import type { ElementType, NumericArray } from '../ir/dtype.js';
import { numel, type HostTensor } from '../util/host-tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, { dtype: ElementType; size: number }> = {
  f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 },
  f2: { dtype: 'float16', size: 2 },
  i8: { dtype: 'int64', size: 8 },
  i4: { dtype: 'int32', size: 4 },
  i2: { dtype: 'int16', size: 2 },
  i1: { dtype: 'int8', size: 1 },
  u8: { dtype: 'uint64', size: 8 },
  u4: { dtype: 'uint32', size: 4 },
  u2: { dtype: 'uint16', size: 2 },
  u1: { dtype: 'uint8', size: 1 },
  b1: { dtype: 'bool', size: 1 },
};

const CTORS: Partial<Record<ElementType, new (b: ArrayBuffer, o: number, n: number) => NumericArray>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint64: BigUint64Array,
  uint32: Uint32Array,
  uint16: Uint16Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};


interface Header {
  descr: string;
  fortran: boolean;
  shape: number[];
}

function parseHeader(text: string, what: string): Header {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) failIn(what, 'not a valid .npy header');
  const parts = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const shape = parts.map((s) => {
    if (!/^\d+L?$/.test(s)) failIn(what, `shape (${shapeText}) is not a tuple of non-negative integers`);
    const n = Number(s.replace('L', ''));
    if (!Number.isSafeInteger(n)) failIn(what, `dimension ${s} is too large`);
    return n;
  });
  return { descr, fortran: fortran === 'True', shape };
}

/** Where an .npy array's data lies and how to read it (the header alone, no data). */
export interface NpyLayout {
  dtype: ElementType;
  /** Bytes per element. */
  size: number;
  shape: number[];
  fortran: boolean;
  bigEndian: boolean;
  /** Offset of the first data byte. */
  dataStart: number;
}

/** Enough leading bytes of any .npy for npyLayout: the longest (version 2+) header. */
export const NPY_HEAD_BYTES = 65536 + 12;

/**
 * Reads an .npy header from its first bytes (`head`: at least the header) and checks that the
 * data fills exactly `totalBytes` bytes. `what` names the array in errors (file or file:key).
 */
export function npyLayout(head: Uint8Array, totalBytes: number, what: string): NpyLayout {
  if (head.length < 10 || MAGIC.some((b, i) => head[i] !== b)) failIn(what, 'not a .npy array (bad magic)');
  const major = head[6]!;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (head.length < 12) failIn(what, 'truncated .npy header');
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    failIn(what, `.npy format version ${major} is not supported`);
  }
  if (start + headerLen > head.length || start + headerLen > totalBytes) failIn(what, 'truncated .npy header');
  const header = parseHeader(new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(head.subarray(start, start + headerLen)), what);
  const m = /^([<>|=])?([a-z])(\d+)$/.exec(header.descr);
  const kind = m ? DESCR[`${m[2]}${m[3]}`] : undefined;
  if (!m || !kind) failIn(what, `numpy dtype '${header.descr}' is not supported (use float32, float64, float16, int8–64, uint8–64 or bool)`);
  const dataStart = start + headerLen;
  const want = numel(header.shape) * kind.size;
  if (!Number.isSafeInteger(want) || totalBytes - dataStart !== want) {
    failIn(what, `shape (${header.shape.join(', ')}) ${header.descr} needs ${want} bytes of data, the file has ${totalBytes - dataStart}`);
  }
  return { dtype: kind.dtype, size: kind.size, shape: header.shape, fortran: header.fortran, bigEndian: m[1] === '>', dataStart };
}

/** Typed array of `count` elements of `dtype` over a copy of `bytes` (byte-swapped when big-endian). */
export function typedFromBytes(bytes: Uint8Array, dtype: ElementType, size: number, bigEndian: boolean): NumericArray {
  const buf = new ArrayBuffer(bytes.length);
  const raw = new Uint8Array(buf);
  raw.set(bytes);
  if (bigEndian && size > 1) {
    for (let i = 0; i < raw.length; i += size) raw.subarray(i, i + size).reverse();
  }
  return new CTORS[dtype]!(buf, 0, bytes.length / size);
}

/** Throws unless a bool array holds only 0 and 1. */
export function checkBool(data: NumericArray, what: string): void {
  if (data.some((v) => v !== 0 && v !== 1)) failIn(what, 'bool array holds values other than 0 and 1');
}

/** Parses one .npy file's bytes. `what` names it in errors (file, or file:key in an .npz). */
export function parseNpy(bytes: Uint8Array, what: string): HostTensor {
  const l = npyLayout(bytes, bytes.length, what);
  let data = typedFromBytes(bytes.subarray(l.dataStart), l.dtype, l.size, l.bigEndian);
  if (l.dtype === 'bool') checkBool(data, what);
  if (l.fortran && l.shape.length > 1) data = fortranToC(data, l.shape);
  return { dtype: l.dtype, dims: l.shape, data };
}

/** Reorders column-major data into row-major. */
function fortranToC(src: NumericArray, shape: number[]): NumericArray {
  const n = src.length;
  const dst = new (src.constructor as new (n: number) => NumericArray)(n);
  const rank = shape.length;
  const fStride = new Array<number>(rank);
  let s = 1;
  for (let d = 0; d < rank; d++) {
    fStride[d] = s;
    s *= shape[d]!;
  }
  const idx = new Array<number>(rank).fill(0);
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let d = 0; d < rank; d++) f += idx[d]! * fStride[d]!;
    (dst as Float64Array)[c] = (src as Float64Array)[f]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return dst;
}

/** Encodes a tensor as .npy (version 1.0, little-endian, C order). */
export function encodeNpy(t: HostTensor): Uint8Array {
  const code = Object.entries(DESCR).find(([, v]) => v.dtype === t.dtype)?.[0];
  if (!code) throw new Error(`cannot write ${t.dtype} as .npy`);
  const descr = code === 'b1' || code.endsWith('1') ? `|${code}` : `<${code}`;
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const body = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}
