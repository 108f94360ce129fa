// Loading and saving .onnx files: size and format checks with one-line errors naming the file,
// external data read from the model's folder only (no absolute paths, no '..', no symlinks
// leading out), and atomic writes of the model and its external data.

import fs from 'node:fs';
import path from 'node:path';
import { OnnxFormatError, UserError, inFile } from '../errors.js';
import { validateModel } from '../ir/graph.js';
import type { KeyValue, Model, OnnxTensor } from '../ir/types.js';
import { writeFilesAtomic, type AtomicFile } from '../util/atomic.js';
import { decodeModel, encodeModel } from './proto.js';
import { readModel, type ExternalLoader } from './read.js';
import { writeModel } from './write.js';

export interface LoadedModel {
  model: Model;
  path: string;
  /** Size of the .onnx file (external data not included). */
  fileBytes: number;
  /** Bytes read from external-data files. */
  externalBytes: number;
}

const MAX_MODEL_FILE = 2 ** 31; // protobuf's own limit for one message

export function readFileChecked(file: string, what = 'file'): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError(`${file}: no such ${what}`);
  }
  if (st.isDirectory()) throw new UserError(`${file}: is a directory, expected a ${what}`);
  if (!st.isFile()) throw new UserError(`${file}: not a regular file`);
  if (st.size === 0) throw new UserError(`${file}: the file is empty`);
  return fs.readFileSync(file);
}

export function loadModel(file: string): LoadedModel {
  const bytes = readFileChecked(file, 'model file');
  if (bytes.length >= MAX_MODEL_FILE) throw new UserError(`${file}: larger than 2 GiB, which protobuf cannot hold`);
  const dir = path.dirname(path.resolve(file));
  const ext = externalReader(dir);
  try {
    const msg = decodeModel(bytes);
    const model = readModel(msg, ext.load);
    validateModel(model);
    return { model, path: file, fileBytes: bytes.length, externalBytes: ext.bytesRead() };
  } catch (e) {
    throw inFile(file, e);
  } finally {
    ext.close();
  }
}

/** Resolves an external-data location inside `dir`, refusing anything that leads out of it. */
export function resolveInside(dir: string, location: string, what: string): string {
  if (location.includes('\0')) throw new OnnxFormatError(`${what}: external data location contains a NUL byte`);
  if (path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location)) {
    throw new OnnxFormatError(`${what}: external data location '${location}' is an absolute path`);
  }
  const parts = location.split(/[\\/]+/);
  if (parts.includes('..')) throw new OnnxFormatError(`${what}: external data location '${location}' leads out of the model's folder`);
  return path.join(dir, ...parts);
}

function externalReader(dir: string): { load: ExternalLoader; close: () => void; bytesRead: () => number } {
  const fds = new Map<string, { fd: number; size: number }>();
  let realDir: string | undefined;
  let total = 0;
  const open = (location: string, what: string) => {
    const full = resolveInside(dir, location, what);
    let entry = fds.get(full);
    if (!entry) {
      let real: string;
      try {
        real = fs.realpathSync(full);
      } catch {
        throw new OnnxFormatError(`${what}: external data file '${location}' not found next to the model`);
      }
      realDir ??= fs.realpathSync(dir);
      if (path.relative(realDir, real).startsWith('..') || path.isAbsolute(path.relative(realDir, real))) {
        throw new OnnxFormatError(`${what}: external data file '${location}' is a link that leads out of the model's folder`);
      }
      const st = fs.statSync(real);
      if (!st.isFile()) throw new OnnxFormatError(`${what}: external data '${location}' is not a regular file`);
      entry = { fd: fs.openSync(real, 'r'), size: st.size };
      fds.set(full, entry);
    }
    return entry;
  };
  const load: ExternalLoader = (location, offset, length, what) => {
    const { fd, size } = open(location, what);
    const len = length ?? size - offset;
    if (offset > size || len < 0 || offset + len > size) {
      throw new OnnxFormatError(`${what}: external data wants bytes ${offset}..${offset + len} of '${location}', which has ${size}`);
    }
    const buf = new Uint8Array(len);
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, offset + got);
      if (n === 0) throw new OnnxFormatError(`${what}: '${location}' ended early`);
      got += n;
    }
    total += len;
    return buf;
  };
  const close = () => {
    for (const { fd } of fds.values()) fs.closeSync(fd);
    fds.clear();
  };
  return { load, close, bytesRead: () => total };
}

export interface SaveOptions {
  /**
   * Where external tensors go. Unset: each keeps its location, offset and entries (lossless
   * round trip). Set: all external tensors are written, one after another, into this file
   * (a name relative to the output's folder).
   */
  externalLocation?: string;
  /** Folders whose files must not be overwritten (the input model's folder). */
  protect?: string[];
}

const ALIGN = 64;

/** Encodes and writes the model atomically; returns the bytes of the .onnx file. */
export function saveModel(model: Model, file: string, opts: SaveOptions = {}): number {
  const dir = path.dirname(path.resolve(file));
  const chunks = new Map<string, { offset: number; bytes: Uint8Array }[]>();
  const ends = new Map<string, number>();
  const writeExternal = (t: OnnxTensor, bytes: Uint8Array): KeyValue[] => {
    const keep = opts.externalLocation === undefined;
    const entries = keep ? t.external?.entries ?? [] : [];
    const location = keep ? entries.find((e) => e.key === 'location')?.value ?? `${path.basename(file)}.data` : opts.externalLocation!;
    const offsetEntry = keep ? entries.find((e) => e.key === 'offset')?.value : undefined;
    const end = ends.get(location) ?? 0;
    const offset = offsetEntry !== undefined ? Number(offsetEntry) : Math.ceil(end / ALIGN) * ALIGN;
    const list = chunks.get(location) ?? [];
    list.push({ offset, bytes });
    chunks.set(location, list);
    ends.set(location, Math.max(end, offset + bytes.length));
    if (keep && entries.length) return entries;
    return [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.length) },
    ];
  };
  let encoded: Uint8Array;
  try {
    encoded = encodeModel(writeModel(model, writeExternal));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: could not encode the model (${e instanceof Error ? e.message : e})`);
  }
  const protect = (opts.protect ?? []).map((d) => realOrSelf(d));
  const files: { path: string; write: (f: AtomicFile) => void }[] = [];
  for (const [location, list] of chunks) {
    const target = resolveInside(dir, location, file);
    if (protect.includes(realOrSelf(path.dirname(target)))) {
      throw new UserError(`${file}: writing external data '${location}' would overwrite the input's; choose another output folder`);
    }
    files.push({ path: target, write: (f) => list.forEach((c) => f.write(c.bytes, c.offset)) });
  }
  files.push({ path: file, write: (f) => f.write(encoded) });
  try {
    writeFilesAtomic(files);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new UserError(`${err.path ?? file}: cannot write (${err.code ?? err.message})`);
  }
  return encoded.length;
}

/**
 * The model's bytes with every tensor held inline (external data too): what an in-memory
 * onnxruntime session needs, since it would resolve external files against the working
 * directory.
 */
export function encodeModelInline(model: Model): Uint8Array {
  const inline = (t: OnnxTensor): OnnxTensor => (t.encoding === 'external' ? { ...t, encoding: 'raw', external: undefined, dataLocation: undefined } : t);
  return encodeModel(writeModel({ ...model, graph: { ...model.graph, initializers: model.graph.initializers.map(inline) } }));
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
