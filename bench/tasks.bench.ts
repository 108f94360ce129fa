// Output-aware distillation on the production-like fixtures (scripts/fixtures/production.py),
// as a user with a folder of samples runs it: `tbn compress -p 4 --data DIR --preprocess RECIPE`
// (PNG/WAV folders, labels from labels.txt or class subfolders) with the default fine-tune,
// then `tbn verify` with each output's task metric on the committed test set — fp32 and
// compressed against the truth (CER, accuracy, IoU, MSE) and against each other (CER, cosine,
// IoU) — with the file sizes, the compress wall time and peak memory (/usr/bin/time -v).
// Calibration: folders of 512 seeded samples written by `production.py --samples` and cached
// under the OS temp dir (keyed by the script's hash; the committed folders are small, for the
// tests); without python3 + torch + espeak-ng, the committed folders. The recognizer and
// keyword model are verified on the committed test folders, the U-Net on seg-test.npz (the
// folder has no targets, the .npz has the true masks). The regression forecaster (tcn-1d,
// .npz only) is also run with --loss kl (the old classifier treatment) for comparison.
// TBN_BENCH_TASKS=crnn,kws limits the cases; TBN_BENCH_FEATURES=1 runs each with --features on
// and off instead (and adds mnist-cnn); TBN_BENCH_EPOCHS=N shortens the fine-tune.
// `npm run bench -- tasks`.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData, readRange } from '../src/data/dataset.js';
import { encodeNpz } from '../src/data/npz.js';
import { loadModel } from '../src/onnx/file.js';
import { formatBytes } from '../src/tbn/sizes.js';
import { ensureDist } from './cli.js';
import type { BenchSection } from './run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = (kind: 'models' | 'data', name: string) => path.join(root, 'fixtures', kind, name);

interface Case {
  name: string;
  model: string;
  /** Committed calibration data under fixtures/data: a sample folder, or an .npz. */
  calib: string;
  /** The larger calibration folder, relative to the directory production.py --samples writes. */
  generated?: string;
  /** Test data under fixtures/data (a folder is read with `recipe`). */
  test: string;
  /** The --preprocess recipe of the folders (fixtures/README.md). */
  recipe?: string;
  args: string[];
}

const CRNN_RECIPE = 'resize=fit-height-pad:32x100,pad-norm=0,channels=bgr,scale=1/255,mean=0.5,std=0.5,layout=nchw';
const KWS_RECIPE = 'rate=8000,channels=mono,length=8000';
const SEG_RECIPE = 'resize=none,channels=rgb,scale=1/255,mean=0.5,std=0.25,layout=nchw';

const CASES: Case[] = [
  { name: 'crnn', model: 'crnn-ctc.onnx', calib: 'crnn/calib', generated: 'crnn', test: 'crnn/test', recipe: CRNN_RECIPE, args: ['--min-params', '13000'] },
  { name: 'kws', model: 'kws-embed.onnx', calib: 'kws/calib', generated: 'kws', test: 'kws/test', recipe: KWS_RECIPE, args: ['--min-params', '5000'] },
  { name: 'seg', model: 'seg-unet.onnx', calib: 'seg/calib/images', generated: 'seg/images', test: 'seg-test.npz', recipe: SEG_RECIPE, args: ['--min-params', '4000'] },
  { name: 'tcn', model: 'tcn-1d.onnx', calib: 'tcn-calib-192.npz', test: 'tcn-test-64.npz', args: [] },
  { name: 'tcn --loss kl', model: 'tcn-1d.onnx', calib: 'tcn-calib-192.npz', test: 'tcn-test-64.npz', args: ['--loss', 'kl'] },
];

const SAMPLES = 512;

/** Also run with TBN_BENCH_FEATURES=1: a classifier, to see whether feature matching helps there. */
const FEATURE_CASES: Case[] = [{ name: 'mnist-cnn', model: 'mnist-cnn.onnx', calib: 'mnist-calib.npz', test: 'mnist-test.npz', args: [] }];

interface Timed {
  stdout: string;
  wallSeconds: number;
  peakMiB: number;
}

/** `tbn <args>` under /usr/bin/time -v: stdout, wall time and peak resident memory. */
function timed(args: string[]): Timed {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, path.join(root, 'bin', 'tbn.js'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tbn ${args.join(' ')} failed (${r.status}): ${r.stderr.split('\n').find((l) => l.startsWith('tbn')) ?? r.stderr.slice(0, 500)}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const wallSeconds = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  return { stdout: r.stdout, wallSeconds, peakMiB: rss ? Number(rss[1]) / 1024 : NaN };
}

/** tcn-calib.npz split 192 / 64 into calibration and test files in `dir`. */
async function splitTcn(dir: string): Promise<void> {
  const ds = await loadData(fixture('data', 'tcn-calib.npz'), loadModel(fixture('models', 'tcn-1d.onnx')).model);
  const write = async (name: string, from: number, to: number) => {
    const part = await readRange(ds, from, to);
    fs.writeFileSync(path.join(dir, name), encodeNpz({ ...part.feeds, ...part.targets }));
  };
  await write('tcn-calib-192.npz', 0, 192);
  await write('tcn-test-64.npz', 192, 256);
}

/**
 * The calibration folders of production.py --samples, or undefined when it cannot run here.
 * Cached under the OS temp dir by the script's hash (a few MB; it takes a minute to render and
 * synthesise), written to a scratch directory and renamed so a killed run leaves no half set.
 */
function generatedCalibration(): string | undefined {
  const script = path.join(root, 'scripts', 'fixtures', 'production.py');
  const key = createHash('sha256').update(fs.readFileSync(script)).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), 'tbn-bench-cache', `production-${key}-${SAMPLES}`);
  if (fs.existsSync(dir)) return dir;
  const scratch = `${dir}.partial-${process.pid}`;
  try {
    execFileSync('/usr/bin/python3', [script, '--samples', scratch, '--count', String(SAMPLES)], { stdio: 'ignore' });
    fs.renameSync(scratch, dir);
    return dir;
  } catch {
    fs.rmSync(scratch, { recursive: true, force: true });
    return undefined;
  }
}

interface Output {
  name: string;
  task: { kind: string };
  top1Agreement: number | null;
  accuracy: { original: number; compressed: number } | null;
  sequence: { cer: number; agreement: number; truth: { cerOriginal: number; cerCompressed: number; exactOriginal: number; exactCompressed: number } | null } | null;
  embedding: { meanCosine: number; nearestNeighbourAgreement: number | null } | null;
  dense: { iou: number; truth: { iouOriginal: number; iouCompressed: number } | null } | null;
  regression: { relativeMse: number; target: { mseOriginal: number; mseCompressed: number } | null } | null;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/** [metric, fp32 vs truth, compressed vs truth, compressed vs fp32]. */
function metricCells(o: Output): string[] {
  const s = o.sequence;
  if (s) return ['CER', s.truth ? pct(s.truth.cerOriginal) : '-', s.truth ? pct(s.truth.cerCompressed) : '-', `CER ${pct(s.cer)}, lines ${pct(s.agreement)} same`];
  if (o.embedding) return ['cosine', '-', '-', `cosine ${o.embedding.meanCosine.toFixed(4)}, NN ${o.embedding.nearestNeighbourAgreement === null ? '-' : pct(o.embedding.nearestNeighbourAgreement)}`];
  if (o.dense) return ['IoU', o.dense.truth?.iouOriginal.toFixed(4) ?? '-', o.dense.truth?.iouCompressed.toFixed(4) ?? '-', `IoU ${o.dense.iou.toFixed(4)}`];
  if (o.regression) return ['MSE', o.regression.target?.mseOriginal.toFixed(4) ?? '-', o.regression.target?.mseCompressed.toFixed(4) ?? '-', `relative MSE ${o.regression.relativeMse.toFixed(4)}`];
  return ['top-1', o.accuracy ? pct(o.accuracy.original) : '-', o.accuracy ? pct(o.accuracy.compressed) : '-', o.top1Agreement === null ? '-' : `agreement ${pct(o.top1Agreement)}`];
}

export default async function tasksBench(): Promise<BenchSection[]> {
  ensureDist();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-bench-tasks-'));
  const only = process.env.TBN_BENCH_TASKS?.split(',');
  const featureRuns = process.env.TBN_BENCH_FEATURES === '1' ? ['on', 'off'] : [undefined];
  const epochs = process.env.TBN_BENCH_EPOCHS ? ['--epochs', process.env.TBN_BENCH_EPOCHS] : [];
  const cases = [...CASES.filter((c) => !featureRuns[0] || c.name !== 'tcn --loss kl'), ...(featureRuns[0] ? FEATURE_CASES : [])].filter(
    (x) => !only || only.some((o) => x.name.startsWith(o)),
  );
  const generated = cases.some((c) => c.generated) ? generatedCalibration() : undefined;
  await splitTcn(dir);
  const dataFile = (name: string) => (fs.existsSync(path.join(dir, name)) ? path.join(dir, name) : fixture('data', name));
  const calibration = (c: Case) => (generated && c.generated ? path.join(generated, c.generated) : dataFile(c.calib));
  /** --preprocess for a sample folder (an .npz holds the recipe's output already). */
  const recipe = (c: Case, data: string) => (c.recipe && fs.statSync(data).isDirectory() ? ['--preprocess', c.recipe] : []);
  const rows: (string | number)[][] = [];
  const data: unknown[] = [];
  try {
    for (const c of cases) {
      const calib = calibration(c);
      const test = dataFile(c.test);
      for (const features of featureRuns) {
        const out = path.join(dir, `${c.name.replace(/\W+/g, '-')}-${features ?? 'auto'}.onnx`);
        const extra = features ? ['--features', features] : [];
        const compress = timed(['compress', fixture('models', c.model), '--data', calib, ...recipe(c, calib), '-p', '4', ...c.args, ...epochs, ...extra, '-o', out, '--json', '--quiet']);
        const report = JSON.parse(compress.stdout);
        const verify = JSON.parse(timed(['verify', fixture('models', c.model), out, '--data', test, ...recipe(c, test), '--latency-runs', '3', '--json']).stdout);
        for (const o of verify.outputs as Output[]) {
          rows.push([
            `${c.name}${features ? ` (features ${features})` : ''}`,
            o.name,
            o.task.kind,
            ...metricCells(o),
            `${formatBytes(verify.original.bytes)} → ${formatBytes(verify.compressed.bytes)}`,
            `${formatBytes(report.sizes.tiledBytesBefore)} → ${formatBytes(report.sizes.tiledBytesAfter)}`,
            report.finetune?.steps ?? 0,
            compress.wallSeconds.toFixed(1),
            compress.peakMiB.toFixed(0),
          ]);
        }
        data.push({ case: c.name, features: features ?? 'auto', calibration: calib, test, recipe: c.recipe, args: c.args, compress: { report, wallSeconds: compress.wallSeconds, peakMiB: compress.peakMiB }, verify });
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return [
    {
      title: `Output-aware distillation: tbn compress -p 4 (${epochs.length ? `${epochs[1]} epochs` : 'default fine-tune'}${featureRuns[0] ? ', --features on/off' : ''}) and tbn verify with the task metric`,
      columns: ['case', 'output', 'task', 'metric', 'fp32 vs truth', 'tbn vs truth', 'tbn vs fp32', 'file', 'tiled weights', 'steps', 'compress s', 'peak MiB'],
      rows,
      notes: [
        `Calibration: ${generated ? `folders of ${SAMPLES} generated samples (production.py --samples, seeded; PNG + labels.txt, WAV class subfolders, PNG)` : 'the committed sample folders'} read with each fixture's --preprocess recipe; test: the committed test folders (crnn, kws) and seg-test.npz (its true masks); tcn: its .npz split 192 calibration / 64 test.`,
        'crnn is opset 11: the custom format converts it to opset 12 first (checked in onnxruntime).',
        'Wall time and peak memory: /usr/bin/time -v around the whole tbn compress process.',
      ],
      data,
    },
  ];
}
