// ONNX TensorProto .pb files (the ONNX test-data layout: input_0.pb … in a folder, or in
// test_data_set_* subfolders that are concatenated). A tensor whose values sit in raw_data is
// read by rows at raw_data's offset in the file (found by walking the protobuf wire format,
// without reading the values); tensors in the typed fields (float_data …) are decoded whole.

import fs from 'node:fs';
import path from 'node:path';
import { failIn } from '../errors.js';
import { arrayTypeFor, dtypeBits, dtypeFromCode, type NumericArray } from '../ir/dtype.js';
import { readFileChecked } from '../onnx/file.js';
import { decodeTensor, longToInt } from '../onnx/proto.js';
import { readTensor } from '../onnx/read.js';
import { numel } from '../util/host-tensor.js';
import { concatRows, fileRows, memoryRows, type RowSource } from './rows.js';

const RAW_DATA_FIELD = 9;


/** A .pb tensor whole (typed fields, or a small file). */
function readPbWhole(file: string): { name?: string; rows: RowSource } {
  const bytes = readFileChecked(file, 'tensor file');
  let t;
  let name: string | undefined;
  try {
    const msg = decodeTensor(bytes);
    name = (msg.name as string | undefined) || undefined;
    t = readTensor(msg, {}, 'tensor');
  } catch (e) {
    failIn(file, `not an ONNX TensorProto (${e instanceof Error ? e.message : e})`);
  }
  if (Array.isArray(t.data)) failIn(file, 'string tensors are not model inputs tbn can feed');
  return { name, rows: memoryRows({ dtype: t.dtype, dims: t.dims, data: t.data as NumericArray }) };
}

/** Reads a varint at `pos` from a positioned reader; returns [value, next position]. */
function varint(read: (pos: number, n: number) => Uint8Array, pos: number, file: string): [number, number] {
  const b = read(pos, 10);
  let v = 0;
  let mul = 1;
  for (let i = 0; i < b.length; i++) {
    v += (b[i]! & 0x7f) * mul;
    if (!(b[i]! & 0x80)) return [v, pos + i + 1];
    mul *= 128;
  }
  failIn(file, 'not an ONNX TensorProto (broken varint)');
}

/** Top-level fields of the message: raw_data's place, and the other fields' bytes. */
function walk(fd: number, size: number, file: string): { raw?: { at: number; len: number }; meta: Uint8Array } {
  const read = (pos: number, n: number) => {
    const out = new Uint8Array(Math.max(0, Math.min(n, size - pos)));
    const got = out.length ? fs.readSync(fd, out, 0, out.length, pos) : 0;
    return out.subarray(0, got);
  };
  const parts: Uint8Array[] = [];
  let raw: { at: number; len: number } | undefined;
  for (let pos = 0; pos < size; ) {
    const [key, afterKey] = varint(read, pos, file);
    const wire = key & 7;
    let end: number;
    if (wire === 0) end = varint(read, afterKey, file)[1];
    else if (wire === 1) end = afterKey + 8;
    else if (wire === 5) end = afterKey + 4;
    else if (wire === 2) {
      const [len, at] = varint(read, afterKey, file);
      end = at + len;
      if (Math.floor(key / 8) === RAW_DATA_FIELD) raw = { at, len };
    } else failIn(file, `not an ONNX TensorProto (wire type ${wire})`);
    if (end > size) failIn(file, 'not an ONNX TensorProto (truncated)');
    if (!(wire === 2 && Math.floor(key / 8) === RAW_DATA_FIELD)) {
      if (end - pos > 1024 ** 2) return { meta: new Uint8Array(0) }; // big typed field: decode whole
      parts.push(read(pos, end - pos));
    }
    pos = end;
  }
  return { raw, meta: Buffer.concat(parts) };
}

/** One .pb tensor as rows; its name when the file names it. */
export function readPb(file: string): { name?: string; rows: RowSource } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    failIn(file, 'no such tensor file');
  }
  if (!st.isFile() || st.size === 0) return readPbWhole(file);
  const fd = fs.openSync(file, 'r');
  let found;
  try {
    found = walk(fd, st.size, file);
  } finally {
    fs.closeSync(fd);
  }
  if (!found.raw) return readPbWhole(file);
  let msg;
  try {
    msg = decodeTensor(found.meta);
  } catch (e) {
    failIn(file, `not an ONNX TensorProto (${e instanceof Error ? e.message : e})`);
  }
  const dtype = dtypeFromCode((msg.dataType as number) ?? 0);
  const dims = ((msg.dims as unknown[]) ?? []).map(longToInt);
  if (!dtype || dtype === 'string' || !arrayTypeFor(dtype) || dtypeBits(dtype) % 8) failIn(file, `tensor data_type ${msg.dataType} is not one tbn can feed`);
  if (dims.some((d) => typeof d === 'bigint' || d < 0)) failIn(file, `tensor has dimension ${dims.find((d) => typeof d === 'bigint' || d < 0)}`);
  const shape = dims as number[];
  const size = dtypeBits(dtype) / 8;
  if (numel(shape) * size !== found.raw.len) failIn(file, `raw_data holds ${found.raw.len} bytes, shape [${shape}] ${dtype} needs ${numel(shape) * size}`);
  if (msg.dataLocation === 1) failIn(file, 'external tensor data in a data file is not supported');
  const name = (msg.name as string | undefined) || undefined;
  if (!shape.length) return readPbWhole(file);
  return { name, rows: fileRows({ file, offset: found.raw.at, dtype, size, dims: shape, bigEndian: false, what: file }) };
}

/** input_0.pb, input_1.pb … in one folder, or in test_data_set_* subfolders (concatenated). */
export function readPbFolder(dir: string): Map<string, RowSource> {
  const sets = fs
    .readdirSync(dir)
    .filter((d) => /^test_data_set_\d+$/.test(d))
    .sort((a, b) => Number(a.split('_').pop()) - Number(b.split('_').pop()))
    .map((d) => path.join(dir, d));
  const folders = sets.length ? sets : [dir];
  const perSet = folders.map((f) => {
    const files = fs
      .readdirSync(f)
      .filter((n) => /^input_\d+\.pb$/.test(n))
      .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]));
    if (!files.length) failIn(f, 'no input_<n>.pb files');
    return files.map((n) => {
      const { name, rows } = readPb(path.join(f, n));
      return { key: name ?? `#${n.match(/\d+/)![0]}`, rows };
    });
  });
  const out = new Map<string, RowSource>();
  perSet[0]!.forEach((first, i) => {
    const parts = perSet.map((s, k) => {
      const e = s[i];
      if (!e || e.key !== first.key) failIn(folders[k]!, `inputs differ from ${folders[0]}`);
      return e.rows;
    });
    const rest = parts[0]!.dims.slice(1).join(',');
    if (parts.some((p) => p.dtype !== parts[0]!.dtype || p.dims.slice(1).join(',') !== rest || !p.dims.length)) {
      failIn(`${dir} (${first.key})`, 'test data sets have different shapes or types');
    }
    out.set(first.key, parts.length === 1 ? parts[0]! : concatRows(parts));
  });
  return out;
}

/** True when `dir` holds ONNX test data (input_<n>.pb files or test_data_set_* folders). */
export function isPbFolder(dir: string): boolean {
  return fs.readdirSync(dir).some((n) => /^test_data_set_\d+$/.test(n) || /^input_\d+\.pb$/.test(n));
}

