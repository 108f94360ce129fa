// A folder or list of images / WAV files as a Dataset. Opening it reads only headers: every
// file's format and size are checked against the recipe and the model input (so a bad file
// is named before fine-tuning starts, not an hour into it); read() decodes and preprocesses
// just the samples asked for. Recipes are matched to model inputs here, with defaults taken
// from the input's shape when the user gives none.

import { UsageError, UserError } from '../errors.js';
import { arrayTypeFor, floatToHalf, type ElementType, type NumericArray } from '../ir/dtype.js';
import type { Model } from '../ir/types.js';
import { numel, type HostTensor } from '../util/host-tensor.js';
import { audioDims, audioSegments, checkAudioRecipe, melOptions, preprocessAudio, targetRate, type AudioSegment } from './audio.js';
import type { Batch, Dataset, LoadDataOptions } from './dataset.js';
import { melFilters } from './dsp.js';
import { CLASS_SUBFOLDERS, indexLabels, listFile, listFolder, mediaKind, type Listing, type MediaKind } from './files.js';
import { imageGeometry, imageInfo, preprocessImage, type ImageInfo } from './image.js';
import { defaultRecipe, describeRecipe, parseRecipes, type Recipe } from './recipe.js';
import { modelInputs, type InputSpec } from './synthetic.js';
import { wavInfo } from './wav.js';

/** A file-fed input: its recipe, kind, and per-sample header facts. */
interface Feed {
  spec: InputSpec;
  recipe: Recipe;
  kind: MediaKind;
  /** Per-sample shape fed to the model (the recipe's output fitted to the input's dims). */
  dims: number[];
  column: number;
}

/** One sample: per fed input, an image (path + header size) or an audio segment. */
type Item = { file: string; image: ImageInfo } | { file: string; audio: AudioSegment };

const INTEGER_TYPES: ElementType[] = ['uint8', 'int8', 'int16', 'int32', 'int64', 'uint16'];

/** Matches recipes to model inputs: which inputs the files feed, which are constants. */
function assignRecipes(specs: InputSpec[], recipes: Recipe[]): { fed: { spec: InputSpec; recipe: Recipe }[]; fills: { spec: InputSpec; value: number }[] } {
  const names = specs.map((s) => s.name).join(', ');
  const bySpec = new Map<string, Recipe>();
  for (const r of recipes) {
    let name = r.input;
    if (name === undefined) {
      if (specs.length !== 1) throw new UsageError(`${r.origin}: the model has inputs ${names}; say which one the recipe is for with input=NAME`);
      name = specs[0]!.name;
    }
    if (!specs.some((s) => s.name === name)) throw new UsageError(`${r.origin}: input=${name} is not an input of the model (inputs: ${names})`);
    bySpec.set(name, r);
  }
  if (!recipes.length && specs.length === 1) bySpec.set(specs[0]!.name, defaultRecipe('(no --preprocess)'));
  const fed: { spec: InputSpec; recipe: Recipe }[] = [];
  const fills: { spec: InputSpec; value: number }[] = [];
  for (const s of specs) {
    const r = bySpec.get(s.name);
    if (!r) throw new UsageError(`the model's input '${s.name}' gets no data from the files: give --preprocess input=${s.name},… (or input=${s.name},fill=V for a constant)`);
    if (r.fill !== undefined) fills.push({ spec: s, value: r.fill });
    else fed.push({ spec: s, recipe: r });
  }
  if (!fed.length) throw new UsageError('--preprocess: every input is a fill= constant; at least one must come from the files');
  return { fed, fills };
}

/** Fills recipe keys the user left out from the model input's shape; notes what was assumed. */
function completeRecipe(r: Recipe, spec: InputSpec, kind: MediaKind, notes: string[]): void {
  const d = spec.dims;
  const assumed: string[] = [];
  if (kind === 'image') {
    if (r.channels === 'mono' || r.channels === 'keep') throw new UsageError(`${r.origin}: channels=${r.channels} is for audio; images take channels=rgb, bgr or gray`);
    const chanFirst = d.length === 4 && (d[1] === 1 || d[1] === 3);
    const chanLast = d.length === 4 && (d[3] === 1 || d[3] === 3);
    if (!r.layout) {
      r.layout = chanLast && !chanFirst ? 'nhwc' : 'nchw';
      if (d.length === 4) assumed.push(`layout=${r.layout}`);
    }
    const c = r.layout === 'nhwc' ? d[3] : d[1];
    if (!r.channels) {
      r.channels = d.length === 3 || c === 1 ? 'gray' : 'rgb';
      assumed.push(`channels=${r.channels}`);
    }
    const [h, w] = d.length === 3 ? [d[1]!, d[2]!] : r.layout === 'nhwc' ? [d[1]!, d[2]!] : [d[2]!, d[3]!];
    if (!r.given.has('resize') && h > 0 && w > 0) {
      r.resize = { mode: 'fixed', height: h, width: w, side: 0 };
      assumed.push(`resize=${h}x${w}`);
    }
  } else {
    if (!r.channels) r.channels = 'mono';
    if (r.length === undefined && r.features === 'waveform' && d.length >= 2 && d[d.length - 1]! > 0) {
      r.length = d[d.length - 1]!;
      assumed.push(`length=${r.length}`);
    }
  }
  if (r.scale === undefined) {
    r.scale = kind === 'image' && !INTEGER_TYPES.includes(spec.dtype) ? 1 / 255 : 1;
    if (kind === 'image') assumed.push(`scale=${r.scale === 1 ? 1 : '1/255'}`);
  }
  if (r.dtype && r.dtype !== spec.dtype) throw new UsageError(`${r.origin}: dtype=${r.dtype}, but the model's input '${spec.name}' is ${spec.dtype}`);
  if (assumed.length) notes.push(`input '${spec.name}': recipe keys not given, taken from the model's input shape: ${assumed.join(',')} (give --preprocess to match how the model was trained)`);
}

/** Fits the recipe's per-sample output dims to the model input's dims (batch axis excluded). */
function fitDims(out: number[], spec: InputSpec, file: string, r: Recipe): number[] {
  const want = spec.dims.slice(1);
  const matches = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => b[i]! <= 0 || b[i] === x);
  if (matches(out, want)) return out;
  // Unit axes may differ (a [H, W] gray image for a [1, H, W] input, a waveform for [1, T]).
  const squeeze = (a: number[]) => a.filter((x) => x !== 1);
  const core = squeeze(out);
  const wantCore = want.filter((x) => x !== 1);
  if (matches(core, wantCore)) {
    let k = 0;
    return want.map((x) => (x === 1 ? 1 : core[k++]!));
  }
  const shown = spec.dims.map((x, i) => (x > 0 ? String(x) : spec.params[i] || '?')).join(', ');
  throw new UserError(`${file}: the recipe (${r.origin}) makes samples of shape (${out.join(', ')}), the model's input '${spec.name}' is (${shown})`);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Writes float values into a typed array of the model input's element type. */
function store(dst: NumericArray, at: number, values: Float64Array, dtype: ElementType): void {
  const clampRound = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    switch (dtype) {
      case 'float32':
      case 'float64':
        dst[at + i] = v;
        break;
      case 'float16':
        dst[at + i] = floatToHalf(v);
        break;
      case 'uint8':
        dst[at + i] = clampRound(v, 0, 255);
        break;
      case 'int8':
        dst[at + i] = clampRound(v, -128, 127);
        break;
      case 'int64':
        (dst as BigInt64Array)[at + i] = BigInt(Math.round(v));
        break;
      default:
        dst[at + i] = Math.round(v);
    }
  }
}

const FEEDABLE: ElementType[] = ['float32', 'float64', 'float16', 'uint8', 'int8', 'int16', 'uint16', 'int32', 'int64'];

function typedArray(dtype: ElementType, n: number): NumericArray {
  const t = FEEDABLE.includes(dtype) ? arrayTypeFor(dtype) : null;
  if (!t) throw new UserError(`inputs of type ${dtype} cannot be made from images or WAV files`);
  return new t.ctor(n);
}

export async function openMedia(file: string, isDir: boolean, model: Model, opts: LoadDataOptions): Promise<Dataset> {
  const specs = modelInputs(model);
  const { fed, fills } = assignRecipes(specs, parseRecipes(opts.preprocess));
  const listing: Listing = isDir ? listFolder(file, opts.labels) : mediaKind(file) ? { paths: [[file]], ignored: [] } : listFile(file, fed.length);
  if (isDir && fed.length > 1) throw new UsageError(`${file}: a folder feeds one input; the model takes ${fed.length} from files (${fed.map((f) => f.spec.name).join(', ')}): use a list file with one path column per input`);
  const notes: string[] = [];
  const feeds: Feed[] = fed.map((f, column) => {
    const kinds = new Set(listing.paths.map((p) => mediaKind(p[column]!)));
    if (kinds.size > 1) {
      const odd = listing.paths.find((p) => mediaKind(p[column]!) !== mediaKind(listing.paths[0]![column]!))!;
      throw new UserError(`${odd[column]}: images and WAV files are mixed in the data for input '${f.spec.name}'`);
    }
    const kind = [...kinds][0]!;
    completeRecipe(f.recipe, f.spec, kind, notes);
    return { spec: f.spec, recipe: f.recipe, kind, dims: [], column };
  });
  // Headers of every file: sizes, formats, WAV lengths; samples (windows) per file.
  const items: Item[][] = [];
  const sampleOf: number[] = []; // sample → row of the listing (for labels)
  let checked = 0;
  const headers = await mapLimit(listing.paths, 8, async (row) => {
    const out = await Promise.all(
      feeds.map(async (f): Promise<Item[]> => {
        const p = row[f.column]!;
        if (f.kind === 'image') return [{ file: p, image: await imageInfo(p) }];
        const info = wavInfo(p);
        checkAudioRecipe(info, f.recipe);
        return audioSegments(info, f.recipe).map((seg) => ({ file: p, audio: seg }));
      }),
    );
    if (++checked % 1000 === 0) opts.onProgress?.(`checking ${checked}/${listing.paths.length} files`);
    return out;
  });
  headers.forEach((perFeed, row) => {
    const n = perFeed[0]!.length;
    if (perFeed.some((x) => x.length !== n)) throw new UserError(`${listing.paths[row]!.join(', ')}: the inputs give different numbers of windows`);
    for (let k = 0; k < n; k++) {
      items.push(perFeed.map((x) => x[k]!));
      sampleOf.push(row);
    }
  });
  // Every sample of an input must come out with the same shape, fitting the model's input.
  for (const f of feeds) {
    const dimsOf = (it: Item): number[] => {
      if ('image' in it) {
        const g = imageGeometry(it.image.height, it.image.width, f.recipe);
        const c = f.recipe.channels === 'gray' ? 1 : 3;
        return f.recipe.layout === 'nhwc' ? [g.outH, g.outW, c] : [c, g.outH, g.outW];
      }
      return audioDims(it.audio, f.recipe);
    };
    const first = dimsOf(items[0]![f.column]!);
    for (const it of items) {
      const d = dimsOf(it[f.column]!);
      if (d.join('x') !== first.join('x')) {
        const fix = f.kind === 'image' ? 'resize=' : 'length=';
        throw new UserError(`${it[f.column]!.file}: the recipe makes a sample of shape (${d.join(', ')}), ${items[0]![f.column]!.file} gives (${first.join(', ')}); add ${fix}… so that every sample has the same shape`);
      }
    }
    f.dims = fitDims(first, f.spec, items[0]![f.column]!.file, f.recipe);
    notes.push(`input '${f.spec.name}': ${items.length} ${f.kind === 'image' ? 'images' : 'audio samples'} from ${file}, ${describeRecipe(f.recipe, f.kind)} → (${f.dims.join(', ')}) ${f.spec.dtype}`);
  }
  if (listing.ignored.length) notes.push(`${file}: ${listing.ignored.length} file(s) that are not images or WAVs skipped (${listing.ignored.slice(0, 3).join(', ')}${listing.ignored.length > 3 ? ', …' : ''})`);
  let labels: BigInt64Array | undefined;
  let classes: string[] | undefined;
  if (listing.labels) {
    const indexed = indexLabels(listing.labels, listing.labelSource ?? file);
    labels = BigInt64Array.from(sampleOf, (row) => indexed.labels[row]!);
    classes = indexed.classes;
    const shown = classes ? `: ${classes.slice(0, 10).map((c, i) => `${c}=${i}`).join(', ')}${classes.length > 10 ? `, … (${classes.length} classes)` : ''}` : '';
    notes.push(`labels from ${listing.labelSource}${shown}`);
  }
  // A labels file's rows are also the samples' text, the truth of sequence (CTC) outputs;
  // class subfolder names are not.
  const texts = listing.labels && listing.labelSource !== CLASS_SUBFOLDERS ? listing.labels : undefined;
  const filters = feeds.map((f) => {
    const first = items[0]![f.column]!;
    if (f.kind !== 'audio' || f.recipe.features !== 'logmel' || !('audio' in first)) return undefined;
    return melFilters(melOptions(f.recipe, targetRate(f.recipe, first.audio.info)));
  });
  const count = items.length;
  const read = async (indices: ArrayLike<number>): Promise<Batch> => {
    const n = indices.length;
    const out: Record<string, HostTensor> = {};
    for (const f of feeds) {
      const per = numel(f.dims);
      const data = typedArray(f.spec.dtype, n * per);
      await mapLimit(Array.from(indices as ArrayLike<number>), 16, async (idx, i) => {
        if (!(idx >= 0 && idx < count)) throw new RangeError(`sample ${idx} of ${count}`);
        const it = items[idx]![f.column]!;
        const values = 'image' in it ? (await preprocessImage(it.file, f.recipe, it.image)).values : preprocessAudio(it.audio, f.recipe, filters[f.column]);
        store(data, i * per, values, f.spec.dtype);
      });
      out[f.spec.name] = { dtype: f.spec.dtype, dims: [n, ...f.dims], data };
    }
    for (const { spec, value } of fills) {
      const dims = spec.dims.slice(1);
      if (dims.some((d) => d <= 0)) throw new UsageError(`input=${spec.name},fill=${value}: the input has dynamic dimensions; give them with --input-shape`);
      const data = typedArray(spec.dtype, n * numel(dims));
      store(data, 0, new Float64Array(data.length).fill(value), spec.dtype);
      out[spec.name] = { dtype: spec.dtype, dims: [n, ...dims], data };
    }
    const batchLabels = labels && { dtype: 'int64' as const, dims: [n], data: BigInt64Array.from(indices as ArrayLike<number>, (i) => labels![i]!) };
    const batchTexts = texts && Array.from(indices as ArrayLike<number>, (i) => texts[sampleOf[i]!]!);
    return { feeds: out, labels: batchLabels, targets: {}, texts: batchTexts };
  };
  const shapes: Dataset['shapes'] = Object.fromEntries([
    ...feeds.map((f) => [f.spec.name, { dtype: f.spec.dtype, dims: f.dims }]),
    ...fills.map((f) => [f.spec.name, { dtype: f.spec.dtype, dims: f.spec.dims.slice(1) }]),
  ]);
  return { source: file, count, shapes, labelled: !!labels, classes, targetNames: [], hasTexts: !!texts, notes, read };
}

