// Calibration and test data as a source of batches: the data set is never held whole. A
// Dataset knows its sample count and per-sample shapes and reads the samples at given indices
// on demand — from an .npz/.npy/.pb (row reads at file offsets), or from a folder or list of
// images/WAVs decoded and preprocessed per batch (src/data/media.ts). Consumers shuffle an
// index and read a batch at a time, so memory is bounded by the batch, not the set.

import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { ElementType } from '../ir/dtype.js';
import type { Model } from '../ir/types.js';
import type { HostTensor } from '../util/host-tensor.js';
import { arrayDataset, openArrays } from './arrays.js';
import { mediaKind } from './files.js';
import { readAllRows } from './rows.js';

export interface Batch {
  /** Model input name → [n, ...] */
  feeds: Record<string, HostTensor>;
  /** Integer class labels [n] (int64), when the data has them. */
  labels?: HostTensor;
  /** Expected values of model outputs (keys named like an output), e.g. regression targets. */
  targets: Record<string, HostTensor>;
  /** Text labels [n] for sequence (CTC) outputs, when the data has them (text-labels.ts). */
  texts?: string[];
}

export interface Dataset {
  source: string;
  /** Number of samples. */
  count: number;
  /** Per-sample shape (without the batch axis) and element type of each model input fed. */
  shapes: Record<string, { dtype: ElementType; dims: number[] }>;
  /** Whether read() returns labels. */
  labelled: boolean;
  /** Class names by label index, when labels came from names (class folders, a CSV). */
  classes?: string[];
  /** Output names that read() returns targets for. */
  targetNames: string[];
  /** Whether read() returns text labels (an .npz `text` key, or a folder's text labels). */
  hasTexts: boolean;
  notes: string[];
  /** The samples at `indices` (each in [0, count)), in that order. */
  read(indices: ArrayLike<number>): Promise<Batch>;
}

export interface LoadDataOptions {
  labelKey?: string;
  /** Preprocessing recipes for folders/lists of images or WAVs (src/data/recipe.ts). */
  preprocess?: string[];
  /** Labels for a folder/list: a labels.txt/CSV file, or 'none' to ignore class folders. */
  labels?: string;
  /** Dynamic dimensions given by --input-shape. */
  shapes?: Map<string, number[]>;
  onProgress?: (message: string) => void;
}

function range(start: number, end: number): Uint32Array {
  return Uint32Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}

/** Samples [start, end). */
export function readRange(ds: Dataset, start: number, end: number): Promise<Batch> {
  return ds.read(range(start, end));
}

/** Every sample at once: for small sets only (tests, reference vectors). */
export function readAll(ds: Dataset): Promise<Batch> {
  return readRange(ds, 0, ds.count);
}

/** The samples at `indices` as a data set of their own (a view: nothing is copied). */
export function subsetData(ds: Dataset, indices: ArrayLike<number>, source = ds.source): Dataset {
  const map = Uint32Array.from(indices as ArrayLike<number>);
  return {
    ...ds,
    source,
    count: map.length,
    read: (idx) => ds.read(Uint32Array.from(idx as ArrayLike<number>, (i) => map[i]!)),
  };
}

/** Reads a .npz/.npy/.pb file or .pb folder into named arrays, whole (no model checks; small files). */
export async function readArrays(file: string): Promise<{ arrays: Map<string, HostTensor>; positional: boolean }> {
  const { arrays, positional } = await openArrays(file);
  return { arrays: new Map([...arrays].map(([k, v]) => [k, readAllRows(v)])), positional };
}

const ARRAY_EXTENSIONS = ['.npz', '.npy', '.pb'];
const LIST_EXTENSIONS = ['.txt', '.tsv', '.csv', '.lst', '.list'];

/** Opens `file` (arrays, an ONNX test-data folder, or a folder/list of images or WAVs) for `model`. */
export async function loadData(file: string, model: Model, opts: LoadDataOptions = {}): Promise<Dataset> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError(`${file}: no such data file or folder`);
  }
  const ext = path.extname(file).toLowerCase();
  const { isPbFolder } = await import('./pb.js');
  const arrays = st.isDirectory() ? isPbFolder(file) : ARRAY_EXTENSIONS.includes(ext);
  if (arrays) {
    if (opts.preprocess?.length) throw new UserError(`${file}: --preprocess applies to folders or lists of images and WAV files, not to array data`);
    const { arrays: rows, positional } = await openArrays(file);
    return arrayDataset(file, rows, positional, model, opts.labelKey ?? 'label');
  }
  if (!st.isDirectory() && !LIST_EXTENSIONS.includes(ext) && !mediaKind(file)) {
    throw new UserError(`${file}: unknown data format '${ext || '(no extension)'}'; use .npz, .npy, a folder of .pb tensors, a folder of images or WAV files, or a list of them (${LIST_EXTENSIONS.join(' ')})`);
  }
  const { openMedia } = await import('./media.js');
  return openMedia(file, st.isDirectory(), model, opts);
}
