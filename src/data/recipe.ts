// Preprocessing recipes for folders of images and WAV files: what turns a file into a model
// input. Given on the command line as key=value pairs separated by commas (a bare value after
// a list key continues its list: mean=0.485,0.456,0.406), or as a JSON/YAML file, once per
// model input (input=NAME picks it). Every key and value is checked here, with errors naming
// the recipe's origin and the key.

import fs from 'node:fs';
import path from 'node:path';
import { UsageError, UserError } from '../errors.js';
import { parseYaml } from './yaml.js';

export type ResizeMode = 'none' | 'fixed' | 'keep-aspect-pad' | 'fit-height-pad' | 'shorter-side';
export type Interp = 'bilinear' | 'linear' | 'bicubic' | 'nearest';

export interface Recipe {
  /** Where the recipe came from (flag text or file), for error messages. */
  origin: string;
  input?: string;
  /** A constant input, not fed from files. */
  fill?: number;
  // images
  resize: { mode: ResizeMode; height: number; width: number; side: number };
  interp: Interp;
  crop?: { height: number; width: number };
  /** Padding value in pixel units (0–255), one per channel or one for all. */
  pad: number[];
  /** Padding value in the normalised output, overriding `pad` (PaddleOCR pads after normalising). */
  padNorm?: number;
  padSide: 'end' | 'center';
  channels?: 'rgb' | 'bgr' | 'gray' | 'mono' | 'keep';
  scale?: number;
  mean: number[];
  std: number[];
  layout?: 'nchw' | 'nhwc';
  dtype?: string;
  // audio
  rate?: number;
  /** Samples at the target rate (pad with zeros or trim), or undefined to keep each file's length. */
  length?: number;
  cropMode: 'start' | 'center' | 'windows';
  /** Window step for crop=windows, in samples at the target rate. */
  stride?: number;
  features: 'waveform' | 'logmel';
  mel: { nMels: number; win: number; hop: number; nFft?: number; fmin: number; fmax?: number; scale: 'htk' | 'slaney'; power: number; center: boolean; logOffset: number; log: 'ln' | 'log10' | 'db' | 'none' };
  featureLayout: 'mels-frames' | 'frames-mels';
  /** Keys the user gave (defaults fill the rest). */
  given: Set<string>;
}

const KEYS = [
  'input', 'fill', 'resize', 'interp', 'crop', 'pad', 'pad-norm', 'pad-side', 'channels', 'scale', 'mean', 'std', 'layout', 'dtype',
  'rate', 'length', 'stride', 'features', 'n_mels', 'win', 'hop', 'n_fft', 'fmin', 'fmax', 'mel', 'power', 'center', 'log', 'log-offset',
] as const;
type Key = (typeof KEYS)[number];
const LIST_KEYS = new Set<string>(['mean', 'std', 'pad']);

export function defaultRecipe(origin: string): Recipe {
  return {
    origin,
    resize: { mode: 'none', height: 0, width: 0, side: 0 },
    interp: 'bilinear',
    pad: [0],
    padSide: 'end',
    mean: [0],
    std: [1],
    cropMode: 'start',
    features: 'waveform',
    mel: { nMels: 40, win: 400, hop: 160, fmin: 0, scale: 'htk', power: 2, center: true, logOffset: 1e-6, log: 'ln' },
    featureLayout: 'mels-frames',
    given: new Set(),
  };
}

class RecipeError extends UsageError {}

/** Parses a number, a fraction (1/255) or, with `units`, a duration (25ms, 1s) in samples. */
function num(v: string, bad: () => never, rate?: number): number {
  const t = v.trim();
  const frac = /^(-?[\d.e+-]+)\/([\d.e+-]+)$/i.exec(t);
  if (frac) {
    const x = Number(frac[1]) / Number(frac[2]);
    return Number.isFinite(x) ? x : bad();
  }
  const dur = /^([\d.]+)(ms|s)$/.exec(t);
  if (dur) {
    if (rate === undefined) bad();
    return Math.round((Number(dur[1]) * (dur[2] === 'ms' ? 1e-3 : 1)) * rate);
  }
  const x = Number(t);
  return t !== '' && Number.isFinite(x) ? x : bad();
}

function size(v: string, bad: () => never): { height: number; width: number } {
  const m = /^(\d+)x(\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) bad();
  return { height: Number(m[1]), width: Number(m[2]) };
}

function oneOf<T extends string>(v: string, options: readonly T[], bad: () => never): T {
  return (options as readonly string[]).includes(v) ? (v as T) : bad();
}

const HINTS: Partial<Record<Key, string>> = {
  resize: 'HxW, fixed:HxW, keep-aspect-pad:HxW, fit-height-pad:HxW, shorter-side:S or none',
  interp: 'bilinear (antialiased, as PIL and torchvision), linear (as OpenCV), bicubic or nearest',
  crop: 'HxW or center:HxW (images); start, center or windows (audio)',
  'pad-side': 'end (right/bottom) or center',
  channels: 'rgb, bgr or gray (images); mono, keep (audio)',
  layout: 'nchw or nhwc (images); mels-frames or frames-mels (log-mel features)',
  features: 'waveform or logmel',
  mel: 'htk or slaney',
  log: 'ln, log10, db or none',
  center: 'true or false',
};

/** Applies one key=value to the recipe. Durations (ms, s) need the rate, so they are resolved later. */
function setKey(r: Recipe, key: string, value: string, where: string, raw: Record<string, string>): void {
  const bad = (): never => {
    throw new RecipeError(`${where}: ${key}=${value} is not valid${HINTS[key as Key] ? ` (expected ${HINTS[key as Key]})` : ''}`);
  };
  if (!(KEYS as readonly string[]).includes(key)) throw new RecipeError(`${where}: unknown key '${key}' (keys: ${KEYS.join(', ')})`);
  r.given.add(key);
  raw[key] = value;
  switch (key as Key) {
    case 'input':
      r.input = value || bad();
      break;
    case 'fill':
      r.fill = num(value, bad);
      break;
    case 'resize': {
      if (value === 'none') break;
      const m = /^(?:(fixed|keep-aspect-pad|fit-height-pad|shorter-side):)?(.+)$/.exec(value)!;
      const mode = (m[1] ?? 'fixed') as ResizeMode;
      if (mode === 'shorter-side') {
        const s = num(m[2]!, bad);
        if (!Number.isInteger(s) || s < 1) bad();
        r.resize = { mode, height: 0, width: 0, side: s };
      } else r.resize = { mode, ...size(m[2]!, bad), side: 0 };
      break;
    }
    case 'interp':
      r.interp = oneOf(value, ['bilinear', 'linear', 'bicubic', 'nearest'] as const, bad);
      break;
    case 'crop': {
      if (value === 'start' || value === 'center' || value === 'windows') r.cropMode = value;
      else r.crop = size(value.replace(/^center:/, ''), bad);
      break;
    }
    case 'pad':
    case 'mean':
    case 'std': {
      const list = value.split(',').map((x) => num(x, bad));
      if (key === 'std' && list.some((x) => x === 0)) bad();
      if (key === 'pad') r.pad = list;
      else if (key === 'mean') r.mean = list;
      else r.std = list;
      break;
    }
    case 'pad-norm':
      r.padNorm = num(value, bad);
      break;
    case 'pad-side':
      r.padSide = oneOf(value, ['end', 'center'] as const, bad);
      break;
    case 'channels':
      r.channels = oneOf(value, ['rgb', 'bgr', 'gray', 'mono', 'keep'] as const, bad);
      break;
    case 'scale':
      r.scale = num(value, bad);
      break;
    case 'layout': {
      const l = oneOf(value.toLowerCase(), ['nchw', 'nhwc', 'chw', 'hwc', 'mels-frames', 'frames-mels'] as const, bad);
      if (l === 'mels-frames' || l === 'frames-mels') r.featureLayout = l;
      else r.layout = l === 'chw' ? 'nchw' : l === 'hwc' ? 'nhwc' : l;
      break;
    }
    case 'dtype':
      r.dtype = oneOf(value, ['float32', 'float16', 'float64', 'uint8', 'int8', 'int32', 'int64'] as const, bad);
      break;
    case 'rate': {
      const x = num(value.replace(/hz$/i, ''), bad);
      if (!Number.isInteger(x) || x < 1) bad();
      r.rate = x;
      break;
    }
    case 'features':
      r.features = oneOf(value, ['waveform', 'logmel'] as const, bad);
      break;
    case 'mel':
      r.mel.scale = oneOf(value, ['htk', 'slaney'] as const, bad);
      break;
    case 'log':
      r.mel.log = oneOf(value, ['ln', 'log10', 'db', 'none'] as const, bad);
      break;
    case 'center':
      r.mel.center = oneOf(value, ['true', 'false'] as const, bad) === 'true';
      break;
    case 'power': {
      const p = num(value, bad);
      if (p !== 1 && p !== 2) bad();
      r.mel.power = p;
      break;
    }
    case 'log-offset':
      r.mel.logOffset = num(value, bad);
      if (!(r.mel.logOffset > 0)) bad();
      break;
    case 'fmin':
    case 'fmax': {
      const f = num(value.replace(/hz$/i, ''), bad);
      if (f < 0) bad();
      if (key === 'fmin') r.mel.fmin = f;
      else r.mel.fmax = f;
      break;
    }
    case 'length':
    case 'stride':
    case 'n_mels':
    case 'win':
    case 'hop':
    case 'n_fft':
      // Resolved once the rate is known (they may be durations).
      if (!/^[\d.]+(ms|s)?$/.test(value.trim())) bad();
      break;
  }
}

/** Resolves the sample-count keys (which may be durations) against the target rate. */
function resolveCounts(r: Recipe, raw: Record<string, string>, where: string): void {
  const count = (key: string, rateNeeded: boolean): number | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    const bad = (): never => {
      throw new RecipeError(`${where}: ${key}=${v} is not valid (expected a positive whole number${rateNeeded ? ' of samples, or a duration like 25ms or 1s with rate=' : ''})`);
    };
    const n = num(v, bad, r.rate);
    if (!Number.isInteger(n) || n < 1) bad();
    return n;
  };
  r.length = count('length', true);
  r.stride = count('stride', true);
  r.mel.nMels = count('n_mels', false) ?? r.mel.nMels;
  r.mel.win = count('win', true) ?? r.mel.win;
  r.mel.hop = count('hop', true) ?? r.mel.hop;
  r.mel.nFft = count('n_fft', false);
  if (r.mel.nFft !== undefined && r.mel.nFft < r.mel.win) throw new RecipeError(`${where}: n_fft=${r.mel.nFft} is shorter than win=${r.mel.win}`);
  if (r.cropMode === 'windows' && r.length === undefined) throw new RecipeError(`${where}: crop=windows needs length= (the window length)`);
}

/** Splits `a=1,b=2,3` into pairs; a bare value continues the previous list key. */
function pairs(text: string, where: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      const last = out[out.length - 1];
      if (!last || !LIST_KEYS.has(last[0])) throw new RecipeError(`${where}: '${part}' is not key=value`);
      last[1] += `,${part}`;
    } else out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}

function build(entries: [string, string][], origin: string): Recipe {
  const r = defaultRecipe(origin);
  const raw: Record<string, string> = {};
  for (const [k, v] of entries) setKey(r, k, v, origin, raw);
  resolveCounts(r, raw, origin);
  return r;
}

function fromObject(obj: unknown, origin: string): Recipe {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new UserError(`${origin}: a recipe is a mapping of keys to values`);
  const entries = Object.entries(obj as Record<string, unknown>).map(([k, v]): [string, string] => {
    if (Array.isArray(v)) return [k, v.map(String).join(',')];
    if (v !== null && typeof v === 'object') throw new UserError(`${origin}: key ${k}: expected a value or a list`);
    return [k, String(v)];
  });
  return build(entries, origin);
}

/** Recipes from a JSON or YAML file: one recipe, or a mapping of input name → recipe. */
function fromFile(file: string): Recipe[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${file}: cannot read the recipe file`);
  }
  let doc: unknown;
  const ext = path.extname(file).toLowerCase();
  try {
    doc = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new UserError(`${file}: not valid ${ext === '.json' ? 'JSON' : 'YAML'} (${e instanceof Error ? e.message : e})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UserError(`${file}: expected a mapping (recipe keys, or input names → recipes)`);
  const values = Object.values(doc as object);
  const nested = values.length > 0 && values.every((v) => v && typeof v === 'object' && !Array.isArray(v));
  if (!nested) return [fromObject(doc, file)];
  return Object.entries(doc as Record<string, unknown>).map(([name, r]) => {
    const recipe = fromObject(r, `${file}: ${name}`);
    recipe.input = name;
    return recipe;
  });
}

/** Parses --preprocess values: inline recipes, or paths of .json/.yaml/.yml recipe files. */
export function parseRecipes(specs: readonly string[] | undefined): Recipe[] {
  const out: Recipe[] = [];
  for (const spec of specs ?? []) {
    const file = spec.startsWith('@') ? spec.slice(1) : spec;
    if (spec.startsWith('@') || (/\.(json|ya?ml)$/i.test(spec) && !spec.includes('='))) out.push(...fromFile(file));
    else out.push(build(pairs(spec, `--preprocess '${spec}'`), `--preprocess '${spec}'`));
  }
  const names = out.map((r) => r.input ?? '');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`--preprocess: two recipes for ${dup ? `input '${dup}'` : 'the same input (say which with input=NAME)'}`);
  return out;
}

/** The recipe as key=value text (reported in notes). */
export function describeRecipe(r: Recipe, kind: 'image' | 'audio'): string {
  const parts: string[] = [];
  if (kind === 'image') {
    const z = r.resize;
    if (z.mode === 'shorter-side') parts.push(`resize=shorter-side:${z.side}`);
    else if (z.mode !== 'none') parts.push(`resize=${z.mode === 'fixed' ? '' : `${z.mode}:`}${z.height}x${z.width}`);
    if (r.crop) parts.push(`crop=${r.crop.height}x${r.crop.width}`);
    parts.push(`channels=${r.channels}`);
  } else {
    if (r.rate) parts.push(`rate=${r.rate}`);
    parts.push(`channels=${r.channels}`);
    if (r.length) parts.push(`length=${r.length}`);
    if (r.features === 'logmel') parts.push(`features=logmel,n_mels=${r.mel.nMels},win=${r.mel.win},hop=${r.mel.hop}`);
  }
  if (r.scale !== undefined && r.scale !== 1) parts.push(`scale=${r.scale === 1 / 255 ? '1/255' : r.scale}`);
  if (r.mean.some((m) => m !== 0)) parts.push(`mean=${r.mean.join(',')}`);
  if (r.std.some((s) => s !== 1)) parts.push(`std=${r.std.join(',')}`);
  if (kind === 'image' && r.layout) parts.push(`layout=${r.layout}`);
  return parts.join(',');
}
