// Array data (.npz, .npy, ONNX .pb) matched against a model's inputs: keys, dtypes and shapes
// are checked when the file is opened, from the headers alone, with errors naming the key and
// the shape the model expects; values are read and converted per batch.

import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { floatsAs, halfToFloat, type ElementType } from '../ir/dtype.js';
import type { Model } from '../ir/types.js';
import type { HostTensor } from '../util/host-tensor.js';
import type { Batch, Dataset } from './dataset.js';
import { NPY_HEAD_BYTES, npyLayout, parseNpy } from './npy.js';
import { openNpz } from './npz.js';
import { readPb, readPbFolder } from './pb.js';
import { fileRows, memoryRows, readAllRows, type RowSource } from './rows.js';
import { modelInputs, modelOutputs, type InputSpec } from './synthetic.js';
import { takeTextLabels, TEXT_KEY } from './text-labels.js';

/** Opens a data file or .pb folder as named row sources (nothing but headers is read). */
export async function openArrays(file: string): Promise<{ arrays: Map<string, RowSource>; positional: boolean }> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError(`${file}: no such data file or folder`);
  }
  if (st.isDirectory()) return { arrays: readPbFolder(file), positional: false };
  if (!st.isFile()) throw new UserError(`${file}: not a regular file`);
  if (st.size === 0) throw new UserError(`${file}: the file is empty`);
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npz') return { arrays: await openNpz(file), positional: false };
  if (ext === '.npy') return { arrays: new Map([['', openNpy(file, st.size)]]), positional: true };
  if (ext === '.pb') {
    const { name, rows } = readPb(file);
    return { arrays: new Map([[name ?? '', rows]]), positional: true };
  }
  throw new UserError(`${file}: unknown data format '${ext || '(no extension)'}'; use .npz, .npy, a folder of .pb tensors, or a folder or list of images or WAV files`);
}

function openNpy(file: string, size: number): RowSource {
  const fd = fs.openSync(file, 'r');
  const head = new Uint8Array(Math.min(size, NPY_HEAD_BYTES));
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const l = npyLayout(head, size, file);
  if (!l.shape.length || (l.fortran && l.shape.length > 1)) {
    // Rows of a Fortran-order array are strided through the file: read it whole.
    return memoryRows(parseNpy(fs.readFileSync(file), file));
  }
  return fileRows({ file, offset: l.dataStart, dtype: l.dtype, size: l.size, dims: l.shape, bigEndian: l.bigEndian, what: file });
}

const FLOATS: ElementType[] = ['float64', 'float16', 'float32'];
const INTS: ElementType[] = ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32'];

/** Whether `from` data can feed a `want` input (widening-safe conversions). */
function convertible(from: ElementType, want: ElementType): boolean {
  if (from === want) return true;
  if (want === 'float32') return FLOATS.includes(from) || from === 'uint8';
  if (want === 'float16' || want === 'bfloat16') return ['float64', 'float32', 'uint8'].includes(from);
  if (want === 'int64' || want === 'int32') return INTS.includes(from);
  return false;
}

/** Converts one batch to the element type the model input wants (checked by convertible). */
export function convertBatch(t: HostTensor, want: ElementType, what: string): HostTensor {
  if (t.dtype === want) return t;
  if (want === 'float32') {
    const out = new Float32Array(t.data.length);
    if (t.dtype === 'float16') {
      for (let i = 0; i < out.length; i++) out[i] = halfToFloat((t.data as Uint16Array)[i]!);
    } else for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
    return { dtype: 'float32', dims: t.dims, data: out };
  }
  if (want === 'float16' || want === 'bfloat16') {
    // A model computing in float16/bfloat16 takes the data rounded to its input type.
    const values = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
    return { dtype: want, dims: t.dims, data: floatsAs(values, want) };
  }
  if (t.dtype === 'int64' && want === 'int32') {
    for (const v of t.data as BigInt64Array) if (v > 2147483647n || v < -2147483648n) throw new UserError(`${what}: value ${v} does not fit int32`);
  }
  const data = want === 'int64' ? BigInt64Array.from(t.data as ArrayLike<number>, (v) => BigInt(v)) : Int32Array.from(t.data as ArrayLike<number>, Number);
  return { dtype: want, dims: t.dims, data };
}

function checkShape(dims: number[], spec: InputSpec, what: string): void {
  const want = spec.dims.map((d, i) => (d > 0 ? String(d) : spec.params[i] || '?')).join(', ');
  if (dims.length !== spec.dims.length || spec.dims.some((d, i) => d > 0 && i > 0 && d !== dims[i])) {
    throw new UserError(`${what}: shape (${dims.join(', ')}), the model's input '${spec.name}' is (${want})`);
  }
  if (spec.dims[0]! > 0 && spec.dims[0] !== dims[0] && spec.dims.length > 0) {
    throw new UserError(`${what}: the model's input '${spec.name}' has a fixed first dimension ${spec.dims[0]}, so tbn cannot batch it; the data has ${dims[0]} rows`);
  }
  if (!dims.length || dims[0] === 0) throw new UserError(`${what}: no samples (shape (${dims.join(', ')}))`);
}

const LABEL_TYPES: ElementType[] = ['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16'];

/** Matches named arrays to the model's inputs, labels and output targets. */
export function arrayDataset(file: string, arrays: Map<string, RowSource>, positional: boolean, model: Model, labelKey: string): Dataset {
  const specs = modelInputs(model);
  const notes: string[] = [];
  let labels: HostTensor | undefined;
  const label = arrays.get(labelKey);
  if (label) {
    if (!LABEL_TYPES.includes(label.dtype) || label.dims.length !== 1) {
      throw new UserError(`${file}:${labelKey}: labels must be integer class indices of shape (N,), found ${label.dtype} (${label.dims.join(', ')})`);
    }
    // Labels are small (8 bytes a sample): read once.
    labels = convertBatch(readAllRows(label), 'int64', `${file}:${labelKey}`);
    arrays.delete(labelKey);
  }
  const texts = takeTextLabels(arrays, file, [...specs, ...modelOutputs(model)].map((s) => s.name));
  const targets = new Map<string, { rows: RowSource; dtype: ElementType }>();
  for (const out of modelOutputs(model)) {
    const t = arrays.get(out.name);
    if (!t || specs.some((s) => s.name === out.name)) continue;
    if (!convertible(t.dtype, out.dtype)) throw new UserError(`${file}:${out.name}: ${t.dtype} data, the model output is ${out.dtype}`);
    targets.set(out.name, { rows: t, dtype: out.dtype });
    arrays.delete(out.name);
  }
  const inputs = new Map<string, RowSource>();
  const unnamed = positional || [...arrays.keys()].every((k) => k.startsWith('#'));
  if (unnamed) {
    const list = [...arrays.values()];
    if (list.length !== specs.length) {
      throw new UserError(`${file}: ${list.length} array(s) without input names, the model has ${specs.length} input(s) (${specs.map((s) => s.name).join(', ')})`);
    }
    specs.forEach((s, i) => inputs.set(s.name, list[i]!));
  } else {
    for (const key of arrays.keys()) {
      if (!specs.some((s) => s.name === key)) {
        throw new UserError(`${file}: key '${key}' is not an input or output of the model (inputs: ${specs.map((s) => s.name).join(', ')}; labels: '${labelKey}'; text labels: '${TEXT_KEY}')`);
      }
    }
    for (const s of specs) {
      const t = arrays.get(s.name);
      if (!t) throw new UserError(`${file}: no array for the model's input '${s.name}' (keys: ${[...arrays.keys()].join(', ')})`);
      inputs.set(s.name, t);
    }
  }
  let count = -1;
  const what = (name: string) => `${file}${unnamed ? '' : `:${name}`}`;
  for (const s of specs) {
    const t = inputs.get(s.name)!;
    if (!convertible(t.dtype, s.dtype)) throw new UserError(`${what(s.name)}: ${t.dtype} data, the model input wants ${s.dtype}`);
    if (t.dtype !== s.dtype) notes.push(`${what(s.name)}: ${t.dtype} ${s.dtype === 'float16' || s.dtype === 'bfloat16' ? 'rounded' : 'converted'} to ${s.dtype}`);
    checkShape(t.dims, s, what(s.name));
    if (count >= 0 && t.dims[0] !== count) throw new UserError(`${what(s.name)}: ${t.dims[0]} samples, other inputs have ${count}`);
    count = t.dims[0]!;
  }
  if (labels && labels.dims[0] !== count) throw new UserError(`${file}:${labelKey}: ${labels.dims[0]} labels for ${count} samples`);
  for (const [name, t] of targets) if (t.rows.dims[0] !== count) throw new UserError(`${file}:${name}: ${t.rows.dims[0]} rows for ${count} samples`);
  if (texts && texts.rows !== count) throw new UserError(`${file}:${TEXT_KEY}: ${texts.rows} text labels for ${count} samples`);
  const shapes = Object.fromEntries(specs.map((s) => [s.name, { dtype: s.dtype, dims: inputs.get(s.name)!.dims.slice(1) }]));
  const read = async (indices: ArrayLike<number>): Promise<Batch> => {
    for (let i = 0; i < indices.length; i++) if (!(indices[i]! >= 0 && indices[i]! < count)) throw new RangeError(`sample ${indices[i]} of ${count}`);
    const feeds: Record<string, HostTensor> = {};
    for (const s of specs) feeds[s.name] = convertBatch(inputs.get(s.name)!.read(indices), s.dtype, what(s.name));
    const tg: Record<string, HostTensor> = {};
    for (const [name, t] of targets) tg[name] = convertBatch(t.rows.read(indices), t.dtype, `${file}:${name}`);
    return { feeds, labels: labels && memoryRows(labels).read(indices), targets: tg, texts: texts?.read(indices) };
  };
  return { source: file, count, shapes, labelled: !!labels, targetNames: [...targets.keys()], hasTexts: !!texts, notes, read };
}
