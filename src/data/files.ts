// Which files make the samples of a folder or list file, and their labels. A folder is walked
// recursively (hidden entries skipped) and sorted by path, so the order is the same on every
// machine. Labels come from a labels file (labels.txt / labels.csv in the folder, or --labels),
// from class subfolders (sorted names → indices 0, 1, …), or from a list file's last column.
// Names that are not integers become classes in sorted order; integers are used as they are.

import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.jpe', '.jfif', '.webp', '.tif', '.tiff', '.gif', '.avif'];
export const AUDIO_EXTENSIONS = ['.wav', '.wave'];

export type MediaKind = 'image' | 'audio';

export function mediaKind(file: string): MediaKind | undefined {
  const ext = path.extname(file).toLowerCase();
  return IMAGE_EXTENSIONS.includes(ext) ? 'image' : AUDIO_EXTENSIONS.includes(ext) ? 'audio' : undefined;
}

export interface Listing {
  /** Per sample: one path per file-fed input. */
  paths: string[][];
  /** Per sample, the raw label text (when the data has labels). */
  labels?: string[];
  /** Where the labels came from, for the report. */
  labelSource?: string;
  /** Files that were skipped (not images or WAVs). */
  ignored: string[];
}

const byCodepoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function walk(dir: string, rel = '', out: string[] = [], ignored: string[] = []): { files: string[]; ignored: string[] } {
  const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => byCodepoint(a.name, b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    const isDir = e.isDirectory() || (e.isSymbolicLink() && fs.statSync(path.join(dir, r)).isDirectory());
    if (isDir) walk(dir, r, out, ignored);
    else if (mediaKind(e.name)) out.push(r);
    else ignored.push(r);
  }
  return { files: out, ignored };
}

/** Listing.labelSource of labels named by the class subfolders. */
export const CLASS_SUBFOLDERS = 'class subfolders';

/** The samples of a folder: its images/WAVs, with labels when the folder has them. */
export function listFolder(dir: string, labelsOpt?: string): Listing {
  const { files, ignored } = walk(dir);
  if (!files.length) throw new UserError(`${dir}: no images (${IMAGE_EXTENSIONS.join(' ')}) or WAV files in the folder`);
  const listing: Listing = { paths: files.map((f) => [path.join(dir, f)]), ignored };
  if (labelsOpt === 'none') return listing;
  const own = ['labels.txt', 'labels.csv'].map((n) => path.join(dir, n)).find((f) => fs.existsSync(f));
  const labelsFile = labelsOpt ?? own;
  if (labelsFile) {
    listing.labels = labelsFromFile(labelsFile, files);
    listing.labelSource = labelsFile;
    listing.ignored = ignored.filter((f) => path.join(dir, f) !== labelsFile);
  } else if (files.every((f) => f.includes('/'))) {
    listing.labels = files.map((f) => f.slice(0, f.indexOf('/')));
    listing.labelSource = CLASS_SUBFOLDERS;
  }
  return listing;
}

function splitRow(line: string, csv: boolean): string[] {
  if (line.includes('\t')) return line.split('\t').map((s) => s.trim());
  if (csv) return line.split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
  return line.trim().split(/\s+/);
}

function lines(file: string): { n: number; text: string }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${file}: cannot read the file`);
  }
  return text
    .split(/\r?\n/)
    .map((t, i) => ({ n: i + 1, text: t.replace(/^\uFEFF/, '') }))
    .filter((l) => l.text.trim() && !l.text.trimStart().startsWith('#'));
}

/**
 * Labels for `files` (relative paths, sorted) from a labels file: rows of `file label`
 * (whitespace, tab or comma separated; a header row is skipped), or one label per row in the
 * files' sorted order.
 */
export function labelsFromFile(labelsFile: string, files: string[]): string[] {
  const rows = lines(labelsFile);
  const csv = path.extname(labelsFile).toLowerCase() === '.csv';
  const split = rows.map((r) => ({ n: r.n, cols: splitRow(r.text, csv) }));
  if (split.every((r) => r.cols.length === 1)) {
    if (split.length !== files.length) throw new UserError(`${labelsFile}: ${split.length} labels for ${files.length} files (one label per line, in sorted file order)`);
    return split.map((r) => r.cols[0]!);
  }
  const byPath = new Map(files.map((f) => [f, f]));
  const byBase = new Map<string, string | null>();
  for (const f of files) byBase.set(path.basename(f), byBase.has(path.basename(f)) ? null : f);
  const found = new Map<string, string>();
  split.forEach((r, i) => {
    if (r.cols.length < 2) throw new UserError(`${labelsFile}:${r.n}: expected 'file label'`);
    const key = r.cols[0]!.replace(/\\/g, '/').replace(/^\.\//, '');
    const f = byPath.get(key) ?? byBase.get(path.basename(key)) ?? undefined;
    if (!f) {
      if (i === 0) return; // a header row
      return; // a file that is not in the folder: labels may cover more than the data
    }
    found.set(f, r.cols[r.cols.length - 1]!);
  });
  return files.map((f) => {
    const l = found.get(f);
    if (l === undefined) throw new UserError(`${labelsFile}: no label for ${f}`);
    return l;
  });
}

/**
 * A list file: one sample per line, `path` or `path<TAB>label` (or `path,label` in a .csv);
 * with several file-fed inputs, one path column per input. Relative paths are relative to the
 * list file's folder.
 */
export function listFile(file: string, inputs: number): Listing {
  const rows = lines(file);
  const csv = path.extname(file).toLowerCase() === '.csv';
  const base = path.dirname(file);
  const paths: string[][] = [];
  const labels: string[] = [];
  let withLabels: boolean | undefined;
  rows.forEach((r, i) => {
    const cols = r.text.includes('\t') || csv ? splitRow(r.text, csv) : [r.text.trim()];
    if (i === 0 && cols.length > 0 && !mediaKind(cols[0]!) && /^(file|filename|path|image|audio)$/i.test(cols[0]!)) return; // header
    if (cols.length !== inputs && cols.length !== inputs + 1) {
      throw new UserError(`${file}:${r.n}: ${cols.length} column(s); expected ${inputs} path(s)${inputs > 1 ? ' (one per input)' : ''}, optionally followed by a label`);
    }
    const labelled = cols.length === inputs + 1;
    if (withLabels !== undefined && labelled !== withLabels) throw new UserError(`${file}:${r.n}: some rows have a label and others do not`);
    withLabels = labelled;
    const ps = cols.slice(0, inputs).map((p) => path.resolve(base, p));
    for (const p of ps) {
      if (!mediaKind(p)) throw new UserError(`${file}:${r.n}: ${p} is not an image (${IMAGE_EXTENSIONS.join(' ')}) or a WAV file`);
      if (!fs.existsSync(p)) throw new UserError(`${file}:${r.n}: ${p}: no such file`);
    }
    paths.push(ps);
    if (labelled) labels.push(cols[inputs]!);
  });
  if (!paths.length) throw new UserError(`${file}: the list names no files`);
  return { paths, labels: withLabels ? labels : undefined, labelSource: withLabels ? file : undefined, ignored: [] };
}

/** Label texts → class indices: integers as they are, names by their sorted order. */
export function indexLabels(raw: string[], source: string): { labels: BigInt64Array; classes?: string[] } {
  if (raw.every((l) => /^-?\d+$/.test(l))) {
    const labels = BigInt64Array.from(raw, (l) => BigInt(l));
    const neg = labels.findIndex((v) => v < 0n);
    if (neg >= 0) throw new UserError(`${source}: label ${labels[neg]} is negative; labels are class indices`);
    return { labels };
  }
  const classes = [...new Set(raw)].sort(byCodepoint);
  const index = new Map(classes.map((c, i) => [c, i]));
  return { labels: BigInt64Array.from(raw, (l) => BigInt(index.get(l)!)), classes };
}
