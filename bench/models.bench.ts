// npm run bench -- models: whole models as a user times them — onnxruntime fp32 against the
// compressed model with the ai.tbn kernel library (the native host: same process, same native
// timing loop, no JavaScript per run), at p = 2 and 4 with the epilogues folded (and p = 4
// without the fold, to show what it adds, and p = 4 without the library: its ONNX functions,
// what a user of stock onnxruntime runs), batch 1 and 64, 1 and 2 threads. All variants of one
// (model, batch, threads) are interleaved: each keeps the best median of 3 rounds. Then the
// resident memory a session adds (fp32 against p = 4), each measured in a fresh process.
// Compression here is tiles from random/trained weights (no fine-tuning): speed and memory do not
// depend on the tile values. TBN_BENCH_ONLY=<regex> filters models; TBN_BENCH_BATCHES=1,64;
// TBN_BENCH_THREADS=1,2; TBN_BENCH_BASELINE=<another build of libtbn_ort_ops> adds p = 2 and 4
// run by that library to the same interleaved rounds (a before/after of a kernel change);
// TBN_BENCH_MEMORY=0 skips the session-memory part.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelInputs } from '../src/data/synthetic.js';
import type { Model } from '../src/ir/types.js';
import { loadModel } from '../src/onnx/file.js';
import { encodeModel } from '../src/onnx/proto.js';
import { writeModel } from '../src/onnx/write.js';
import { customOpsStatus } from '../src/runtime/custom-ops.js';
import { fuseEpilogues } from '../src/tbn/fuse-epilogue.js';
import { tileChoices } from '../src/tbn/method.js';
import { rewriteModel } from '../src/tbn/rewrite.js';
import { selectLayers } from '../src/tbn/select.js';
import type { HostTensor } from '../src/util/host-tensor.js';
import { Rng } from '../src/util/random.js';
import type { BenchSection } from './run.js';
import { measure, nativeTimer, type Timer } from './timers.js';
import { transformerBlock } from './transformer-block.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Spec {
  label: string;
  source: () => Model;
  /** λ: layers with fewer parameters stay fp32 (the stems and heads of the small fixtures). */
  minParams: number;
}

const fixture = (file: string) => () => loadModel(path.join(root, 'fixtures', 'models', file)).model;
export const MODELS: Spec[] = [
  { label: 'mnist-mlp', source: fixture('mnist-mlp.onnx'), minParams: 4096 },
  { label: 'mnist-cnn', source: fixture('mnist-cnn.onnx'), minParams: 4096 },
  { label: 'mnist-resnet', source: fixture('mnist-resnet.onnx'), minParams: 4096 },
  { label: 'tcn-1d', source: fixture('tcn-1d.onnx'), minParams: 4096 },
  { label: 'transformer-encoder', source: fixture('transformer-encoder.onnx'), minParams: 4096 },
  { label: 'convnet', source: fixture('convnet.onnx'), minParams: 1024 },
  { label: 'convnet-nhwc', source: fixture('convnet-nhwc.onnx'), minParams: 1024 },
  { label: 'encoder block d=768 T=32', source: () => transformerBlock(768, 12, 32), minParams: 64000 },
];

export const modelBytes = (m: Model) => encodeModel(writeModel(m));
const numel = (d: number[]) => d.reduce((a, b) => a * b, 1);

interface Compressed {
  bytes: Uint8Array;
  tiledParams: number;
  tiledLayers: number;
  /** Initializers of the tiled weights in the original model. */
  tiledWeights: string[];
  fused: number;
}

export async function compressForBench(m: Model, p: number, minParams: number, fold: boolean): Promise<Compressed> {
  const chosen = selectLayers(m, { p, minParams }).chosen;
  const tiled = tileChoices(chosen, 'per-tile');
  let out = rewriteModel(m, tiled, { format: 'custom' });
  let fused = 0;
  if (fold) {
    const r = await fuseEpilogues(out);
    out = r.model;
    fused = r.report.reduce((a, x) => a + x.fused.length, 0);
  }
  const tiledWeights = tiled.filter((t) => t.layer.source.kind === 'initializer').map((t) => t.layer.source.name);
  return { bytes: modelBytes(out), tiledParams: tiled.reduce((a, t) => a + t.layer.params, 0), tiledLayers: tiled.length, tiledWeights, fused };
}

export function feedsFor(m: Model, batch: number, rng: Rng): Record<string, HostTensor> {
  return Object.fromEntries(
    modelInputs(m).map((s) => {
      const dims = s.dims.map((d, i) => (d > 0 ? d : i === 0 ? batch : 1));
      if (s.dtype === 'int64') return [s.name, { dtype: 'int64' as const, dims, data: BigInt64Array.from({ length: numel(dims) }, () => BigInt(rng.int(256))) }];
      return [s.name, { dtype: 'float32' as const, dims, data: Float32Array.from({ length: numel(dims) }, () => rng.normal()) }];
    }),
  );
}

/** RSS a fresh process gains from one session of `bytes` (written to a temp file) run once at batch 1. */
function sessionRss(bytes: Uint8Array, m: Model): number {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-bench-mem-')), 'model.onnx');
  fs.writeFileSync(file, bytes);
  const spec = JSON.stringify(modelInputs(m).map((s) => ({ name: s.name, dtype: s.dtype, dims: s.dims.map((d) => (d > 0 ? d : 1)) })));
  const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  try {
    const out = execFileSync(process.execPath, [tsx, path.join(root, 'bench', 'session-memory.ts'), file, spec], { encoding: 'utf8' });
    return (JSON.parse(out.trim().split('\n').at(-1)!) as { rss: number }).rss;
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

/** The fp32 model with the tiled layers' weights as graph inputs: a session that holds
 * everything but those weights (the caller feeds them), to subtract from the other two. */
function withoutWeights(m: Model, names: string[]): Model {
  const moved = m.graph.initializers.filter((t) => t.name && names.includes(t.name));
  return {
    ...m,
    graph: {
      ...m.graph,
      initializers: m.graph.initializers.filter((t) => !moved.includes(t)),
      inputs: [...m.graph.inputs, ...moved.map((t) => ({ name: t.name, type: { kind: 'tensor' as const, elemType: t.dtype, shape: t.dims.map((d) => ({ value: d })) } }))],
    },
  };
}

const ms = (s: number) => Number((s * 1e3).toFixed(s < 1e-3 ? 3 : 2));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const mib = (b: number) => (b / 2 ** 20).toFixed(2);

export default async function (): Promise<BenchSection[]> {
  const status = customOpsStatus();
  if (!status.available) return [{ title: 'whole models: ai.tbn kernels vs onnxruntime fp32', columns: ['note'], rows: [[status.reason]], data: { skipped: status.reason } }];
  const only = process.env.TBN_BENCH_ONLY ? new RegExp(process.env.TBN_BENCH_ONLY) : undefined;
  const batches = (process.env.TBN_BENCH_BATCHES ?? '1,64').split(',').map(Number);
  const threadCounts = (process.env.TBN_BENCH_THREADS ?? '1,2').split(',').map(Number);
  const baseline = process.env.TBN_BENCH_BASELINE;
  const rows: (string | number)[][] = [];
  const memRows: (string | number)[][] = [];
  const data: Record<string, unknown>[] = [];
  const memory: Record<string, unknown>[] = [];
  const rng = new Rng(5);
  for (const spec of MODELS) {
    if (only && !only.test(spec.label)) continue;
    const m = spec.source();
    const fp32 = modelBytes(m);
    const p2 = await compressForBench(m, 2, spec.minParams, true);
    const p4 = await compressForBench(m, 4, spec.minParams, true);
    const p4raw = await compressForBench(m, 4, spec.minParams, false);
    const variants: [string, Uint8Array, (string | null)?][] = [['onnxruntime fp32', fp32], ['tbn p=2', p2.bytes], ['tbn p=4', p4.bytes], ['tbn p=4, not folded', p4raw.bytes], ['tbn p=4, function form', p4.bytes, null]];
    if (baseline) variants.push(['baseline p=2', p2.bytes, baseline], ['baseline p=4', p4.bytes, baseline]);
    for (const batch of batches) {
      const feeds = feedsFor(m, batch, rng);
      for (const threads of threadCounts) {
        const timers: Timer[] = [];
        for (const [, b, lib] of variants) timers.push(await nativeTimer(b, feeds, threads, 1000, lib));
        const times = await measure(timers, 3);
        const cpu = timers.map((t) => t.cpu);
        const base = times[0]!;
        const cpuRatio = threads === 1 ? ratio(cpu[0]!, cpu[2]!) : '';
        rows.push([spec.label, batch, threads, ms(base), ...times.slice(1).flatMap((t) => [ms(t), ratio(base, t)]), cpuRatio]);
        data.push({
          model: spec.label, batch, threads, tiledLayers: p4.tiledLayers, foldedNodes: p4.fused,
          seconds: Object.fromEntries(variants.map(([v], i) => [v, times[i]])),
          speedup: Object.fromEntries(variants.slice(1).map(([v], i) => [v, base / times[i + 1]!])),
          ...(threads === 1 ? { cpuSeconds: Object.fromEntries(variants.map(([v], i) => [v, cpu[i]])) } : {}),
        });
      }
    }
    if (process.env.TBN_BENCH_MEMORY === '0') continue;
    const bare = withoutWeights(m, p4.tiledWeights);
    const [fp32Rss, tbnRss, bareRss] = [sessionRss(fp32, m), sessionRss(p4.bytes, m), sessionRss(modelBytes(bare), bare)];
    const tiledFp32 = 4 * p4.tiledParams;
    const [fp32Held, tbnHeld] = [fp32Rss - bareRss, tbnRss - bareRss];
    memRows.push([spec.label, p4.tiledLayers, mib(tiledFp32), mib(fp32Rss), mib(tbnRss), mib(bareRss), mib(fp32Held), mib(tbnHeld), tbnHeld > 0 ? `1/${(fp32Held / tbnHeld).toFixed(0)}` : '≈ 0']);
    memory.push({ model: spec.label, tiledLayers: p4.tiledLayers, tiledFp32Bytes: tiledFp32, fp32SessionRss: fp32Rss, tbnSessionRss: tbnRss, withoutTiledWeightsRss: bareRss, fp32TiledHeld: fp32Held, tbnTiledHeld: tbnHeld });
  }
  const cpu = os.cpus()[0]?.model ?? 'cpu';
  return [
    {
      title: 'whole models: ai.tbn kernels vs onnxruntime fp32',
      columns: [
        'model', 'batch', 'threads', 'fp32 ms',
        ...['p=2', 'p=4', 'p=4 unfolded', 'p=4 function form', ...(baseline ? ['baseline p=2', 'baseline p=4'] : [])].flatMap((v) => [`${v} ms`, `${v} speed-up`]),
        'p=4 CPU-time speed-up',
      ],
      rows,
      notes: [
        `onnxruntime ${status.version}, kernel path ${status.kernelPaths.at(-1)}, ${cpu}; best median of 3 interleaved rounds, native loop. Last column (1 thread): the ratio of CPU time per run, which a loaded machine disturbs less than wall time.`,
        'Layers under λ (4 096 parameters; 1 024 for the conv nets; 64 000 for the encoder block) stay fp32. "folded": BatchNorm, activations and residual Adds in the fused ops (tbn compress does this). "function form": the same p = 4 file without the op library, as stock onnxruntime runs it (the decode folded into fp32 weights at load).',
      ],
      data,
    },
    {
      title: 'whole models: resident memory of one session (p = 4)',
      columns: ['model', 'tiled layers', 'their weights fp32 MiB', 'fp32 session MiB', 'tbn session MiB', 'session without them MiB', 'fp32 holds for them MiB', 'tbn holds for them MiB', 'tbn / fp32'],
      rows: memRows,
      notes: [
        'RSS a fresh process gains from creating the session and running it once (batch 1), after onnxruntime started. "Without them": the fp32 model with the tiled layers\' weights fed as inputs; each session minus that one is what it holds for those weights (onnxruntime also pre-packs fp32 weights). The tbn session holds onnxruntime\'s copy of the tile bits and the kernels\' repacked copy (1/16p of fp32 in all). Models under a few MiB are within allocator noise.',
      ],
      data: memory,
    },
  ];
}
