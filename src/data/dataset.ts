// --data files matched against a model's inputs: .npz (arrays keyed by input name, plus
// labels), .npy (a model with one input), or a folder of ONNX TensorProto .pb files (the
// ONNX test-data layout). Every key, dtype and shape is checked, with an error naming the key
// and the shape the model expects.

import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { halfToFloat, type DType, type NumericArray } from '../ir/dtype.js';
import type { Model } from '../ir/types.js';
import { readFileChecked } from '../onnx/file.js';
import { decodeTensor } from '../onnx/proto.js';
import { readTensor } from '../onnx/read.js';
import { sliceBatch, type HostTensor } from '../util/host-tensor.js';
import { parseNpy } from './npy.js';
import { parseNpz } from './npz.js';
import { takeTextLabels } from './text-labels.js';
import { modelInputs, modelOutputs, type InputSpec } from './synthetic.js';

export interface Dataset {
  source: string;
  /** Samples along the first axis. */
  count: number;
  /** Model input name → all samples. */
  inputs: Record<string, HostTensor>;
  /** Integer class labels [count], when the data has them. */
  labels?: HostTensor;
  /** Expected values of model outputs (keys named like an output), e.g. regression targets. */
  targets: Record<string, HostTensor>;
  /** Text labels [count] for sequence outputs (text-labels.ts), when the data has them. */
  texts?: string[];
  notes: string[];
}

export interface LoadDataOptions {
  labelKey?: string;
}

/** Reads a data file into named arrays (no model checks). */
export function readArrays(file: string): { arrays: Map<string, HostTensor>; positional: boolean } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError(`${file}: no such data file or folder`);
  }
  if (st.isDirectory()) return { arrays: readPbFolder(file), positional: false };
  const bytes = readFileChecked(file, 'data file');
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npz') return { arrays: parseNpz(bytes, file), positional: false };
  if (ext === '.npy') return { arrays: new Map([['', parseNpy(bytes, file)]]), positional: true };
  if (ext === '.pb') return { arrays: new Map([[pbName(bytes, file) ?? '', readPb(bytes, file)]]), positional: true };
  throw new UserError(`${file}: unknown data format '${ext || '(no extension)'}'; use .npz, .npy or a folder of .pb tensors`);
}

function readPb(bytes: Uint8Array, file: string): HostTensor {
  let t;
  try {
    t = readTensor(decodeTensor(bytes), {}, 'tensor');
  } catch (e) {
    throw new UserError(`${file}: not an ONNX TensorProto (${e instanceof Error ? e.message : e})`);
  }
  if (Array.isArray(t.data)) throw new UserError(`${file}: string tensors are not model inputs tbn can feed`);
  return { dtype: t.dtype, dims: t.dims, data: t.data as NumericArray };
}

function pbName(bytes: Uint8Array, file: string): string | undefined {
  try {
    const name = decodeTensor(bytes).name as string | undefined;
    return name || undefined;
  } catch {
    throw new UserError(`${file}: not an ONNX TensorProto`);
  }
}

/** input_0.pb, input_1.pb … in one folder, or in test_data_set_* subfolders (concatenated). */
function readPbFolder(dir: string): Map<string, HostTensor> {
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
    if (!files.length) throw new UserError(`${f}: no input_<n>.pb files`);
    return files.map((n) => {
      const bytes = readFileChecked(path.join(f, n), 'tensor file');
      return { key: pbName(bytes, path.join(f, n)) ?? `#${n.match(/\d+/)![0]}`, t: readPb(bytes, path.join(f, n)) };
    });
  });
  const out = new Map<string, HostTensor>();
  perSet[0]!.forEach((first, i) => {
    const parts = perSet.map((s, k) => {
      const e = s[i];
      if (!e || e.key !== first.key) throw new UserError(`${folders[k]}: inputs differ from ${folders[0]}`);
      return e.t;
    });
    out.set(first.key, parts.length === 1 ? parts[0]! : concatBatch(parts, `${dir} (${first.key})`));
  });
  return out;
}

function concatBatch(parts: HostTensor[], what: string): HostTensor {
  const rest = parts[0]!.dims.slice(1).join(',');
  if (parts.some((p) => p.dtype !== parts[0]!.dtype || p.dims.slice(1).join(',') !== rest || !p.dims.length)) {
    throw new UserError(`${what}: test data sets have different shapes or types`);
  }
  const total = parts.reduce((a, p) => a + p.dims[0]!, 0);
  const data = new (parts[0]!.data.constructor as new (n: number) => NumericArray)(parts.reduce((a, p) => a + p.data.length, 0));
  let off = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, off);
    off += p.data.length;
  }
  return { dtype: parts[0]!.dtype, dims: [total, ...parts[0]!.dims.slice(1)], data };
}

/** Converts widening-safe dtypes to what the model input wants; refuses the rest. */
function coerce(t: HostTensor, want: DType, what: string): { t: HostTensor; note?: string } {
  if (t.dtype === want) return { t };
  const floats = ['float64', 'float16', 'float32'];
  const ints = ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32'];
  if (want === 'float32' && (floats.includes(t.dtype) || t.dtype === 'uint8')) {
    const out = new Float32Array(t.data.length);
    if (t.dtype === 'float16') {
      for (let i = 0; i < out.length; i++) out[i] = halfToFloat((t.data as Uint16Array)[i]!);
    } else for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
    return { t: { dtype: 'float32', dims: t.dims, data: out }, note: `${what}: ${t.dtype} converted to float32` };
  }
  if ((want === 'int64' || want === 'int32') && ints.includes(t.dtype)) {
    const data = want === 'int64' ? BigInt64Array.from(t.data as ArrayLike<number>, (v) => BigInt(v)) : Int32Array.from(t.data as ArrayLike<number>, Number);
    if (t.dtype === 'int64' && want === 'int32') {
      for (const v of t.data as BigInt64Array) if (v > 2147483647n || v < -2147483648n) throw new UserError(`${what}: value ${v} does not fit int32`);
    }
    return { t: { dtype: want, dims: t.dims, data } };
  }
  throw new UserError(`${what}: ${t.dtype} data, the model input wants ${want}`);
}

function checkShape(t: HostTensor, spec: InputSpec, what: string): void {
  const want = spec.dims.map((d, i) => (d > 0 ? String(d) : spec.params[i] || '?')).join(', ');
  if (t.dims.length !== spec.dims.length || spec.dims.some((d, i) => d > 0 && i > 0 && d !== t.dims[i])) {
    throw new UserError(`${what}: shape (${t.dims.join(', ')}), the model's input '${spec.name}' is (${want})`);
  }
  if (spec.dims[0]! > 0 && spec.dims[0] !== t.dims[0] && spec.dims.length > 0) {
    throw new UserError(`${what}: the model's input '${spec.name}' has a fixed first dimension ${spec.dims[0]}, so tbn cannot batch it; the data has ${t.dims[0]} rows`);
  }
  if (!t.dims.length || t.dims[0] === 0) throw new UserError(`${what}: no samples (shape (${t.dims.join(', ')}))`);
}

/** Loads `file` and matches it against the model's inputs (and labels). */
export function loadData(file: string, model: Model, opts: LoadDataOptions = {}): Dataset {
  const labelKey = opts.labelKey ?? 'label';
  const specs = modelInputs(model);
  const { arrays, positional } = readArrays(file);
  const notes: string[] = [];
  const inputs: Record<string, HostTensor> = {};
  let labels: HostTensor | undefined;
  const label = arrays.get(labelKey);
  if (label) {
    if (!['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16'].includes(label.dtype) || label.dims.length !== 1) {
      throw new UserError(`${file}:${labelKey}: labels must be integer class indices of shape (N,), found ${label.dtype} (${label.dims.join(', ')})`);
    }
    labels = coerce(label, 'int64', `${file}:${labelKey}`).t;
    arrays.delete(labelKey);
  }
  const texts = takeTextLabels(arrays, file, [...specs, ...modelOutputs(model)].map((s) => s.name));
  const targets: Record<string, HostTensor> = {};
  for (const out of modelOutputs(model)) {
    const t = arrays.get(out.name);
    if (!t || specs.some((s) => s.name === out.name)) continue;
    targets[out.name] = coerce(t, out.dtype, `${file}:${out.name}`).t;
    arrays.delete(out.name);
  }
  const unnamed = positional || [...arrays.keys()].every((k) => k.startsWith('#'));
  if (unnamed) {
    const list = [...arrays.values()];
    if (list.length !== specs.length) {
      throw new UserError(`${file}: ${list.length} array(s) without input names, the model has ${specs.length} input(s) (${specs.map((s) => s.name).join(', ')})`);
    }
    specs.forEach((s, i) => (inputs[s.name] = list[i]!));
  } else {
    for (const key of arrays.keys()) {
      if (!specs.some((s) => s.name === key)) {
        throw new UserError(
          `${file}: key '${key}' is not an input or output of the model (inputs: ${specs.map((s) => s.name).join(', ')}; labels: '${labelKey}')`,
        );
      }
    }
    for (const s of specs) {
      const t = arrays.get(s.name);
      if (!t) throw new UserError(`${file}: no array for the model's input '${s.name}' (keys: ${[...arrays.keys()].join(', ')})`);
      inputs[s.name] = t;
    }
  }
  let count = -1;
  for (const s of specs) {
    const what = `${file}${unnamed ? '' : `:${s.name}`}`;
    const { t, note } = coerce(inputs[s.name]!, s.dtype, what);
    if (note) notes.push(note);
    checkShape(t, s, what);
    if (count >= 0 && t.dims[0] !== count) throw new UserError(`${what}: ${t.dims[0]} samples, other inputs have ${count}`);
    count = t.dims[0]!;
    inputs[s.name] = t;
  }
  if (labels && labels.dims[0] !== count) {
    throw new UserError(`${file}:${labelKey}: ${labels.dims[0]} labels for ${count} samples`);
  }
  for (const [name, t] of Object.entries(targets)) {
    if (t.dims[0] !== count) throw new UserError(`${file}:${name}: ${t.dims[0]} rows for ${count} samples`);
  }
  if (texts && texts.length !== count) throw new UserError(`${file}:text: ${texts.length} text labels for ${count} samples`);
  return { source: file, count, inputs, labels, targets, texts, notes };
}

/** Samples [start, end) of every input (and the labels), sharing memory. */
export function batchOf(ds: Dataset, start: number, end: number): { feeds: Record<string, HostTensor>; labels?: HostTensor; targets: Record<string, HostTensor>; texts?: string[] } {
  const feeds: Record<string, HostTensor> = {};
  for (const [k, v] of Object.entries(ds.inputs)) feeds[k] = sliceBatch(v, start, end);
  const targets = Object.fromEntries(Object.entries(ds.targets).map(([k, v]) => [k, sliceBatch(v, start, end)]));
  return { feeds, labels: ds.labels && sliceBatch(ds.labels, start, end), targets, texts: ds.texts?.slice(start, end) };
}

/** The samples at `indices` (copied), e.g. a calibration/holdout split. */
export function subsetData(ds: Dataset, indices: ArrayLike<number>, source = ds.source): Dataset {
  const take = (t: HostTensor): HostTensor => {
    const row = t.data.length / t.dims[0]!;
    const data = new (t.data.constructor as new (n: number) => HostTensor['data'])(indices.length * row);
    for (let i = 0; i < indices.length; i++) (data as Float32Array).set((t.data as Float32Array).subarray(indices[i]! * row, (indices[i]! + 1) * row), i * row);
    return { dtype: t.dtype, dims: [indices.length, ...t.dims.slice(1)], data };
  };
  const map = (r: Record<string, HostTensor>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, take(v)]));
  return { source, count: indices.length, inputs: map(ds.inputs), labels: ds.labels && take(ds.labels), targets: map(ds.targets), texts: ds.texts && Array.from(indices, (i) => ds.texts![i]!), notes: ds.notes };
}
