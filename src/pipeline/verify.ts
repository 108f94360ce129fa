// `tbn verify`: runs the original and the compressed model on the same inputs and reports
// agreement, accuracy, sizes and latency; thresholds the user set decide pass or fail.
// Data is streamed batch by batch; only running sums are kept.

import { UserError } from '../errors.js';
import { loadData, readRange } from '../data/dataset.js';
import { parseInputShapes, syntheticInputs } from '../data/synthetic.js';
import type { Model, ValueInfo } from '../ir/types.js';
import { loadModel } from '../onnx/file.js';
import { createOrtSession, type OrtSession } from '../runtime/ort.js';
import { TBN_DOMAIN, tileInputs } from '../tbn/format.js';
import { withDefaults } from './option-spec.js';
import { VERIFY_OPTIONS, type VerifySettings } from './verify-options.js';
import { parseTaskFlags } from '../tbn/tasks.js';
import { constantWeights, modelBitsPerWeight } from '../tbn/sizes.js';
import { compareSessions, type OutputAgreement } from '../verify/compare.js';
import type { HostTensor } from '../util/host-tensor.js';
import { checkTaskThresholds, type TaskThresholdFlag } from '../verify/task-thresholds.js';

export type RuntimeName = VerifySettings['runtime'];

/** What verifyModels takes: the declared options of `tbn verify` (verify-options.ts) and what only a program passes. */
export type VerifyOptions = { original: string; compressed: string } & Partial<VerifySettings> & {
  seed?: number;
  onProgress?: (done: number, total: number, phase: 'compare' | 'latency') => void;
};

export interface ThresholdResult {
  flag: '--max-drop' | '--min-agreement' | '--max-mse' | TaskThresholdFlag;
  output: string;
  limit: number;
  value: number;
  passed: boolean;
}

export interface VerifyReport {
  original: { file: string; bytes: number; params: number };
  compressed: { file: string; bytes: number; tiledLayers: number; tiledParams: number; bitsPerTiledWeight: number | null; bitsPerWeight: number | null };
  runtime: RuntimeName;
  data: { source: string | null; samples: number; synthetic: boolean; labelled: boolean };
  outputs: OutputAgreement[];
  /** Medians of interleaved runs; functionFormMs: the compressed model without the op library
   * (its ONNX functions, as stock onnxruntime runs it), measured with --runtime custom-ops. */
  latency: { batchSize: number; runs: number; threads: number; originalMs: number; compressedMs: number; speedup: number; functionFormMs?: number };
  thresholds: ThresholdResult[];
  passed: boolean;
  warnings: string[];
}

/** functionsOnly: without the ai.tbn kernels (their ONNX functions run, as in stock onnxruntime). */
type SessionFactory = (model: string, opts: { threads: number; functionsOnly?: boolean }) => Promise<OrtSession>;

const RUNTIMES: Record<RuntimeName, () => Promise<SessionFactory>> = {
  ort: async () => (m, o) => createOrtSession(m, o),
  'custom-ops': async () => {
    const { createCustomOpSession, customOpsStatus } = await import('../runtime/custom-ops.js');
    const status = customOpsStatus();
    if (!status.available) throw new UserError(`--runtime custom-ops: the ai.tbn custom-op library is not available (${status.reason})`);
    return (m, o) => createCustomOpSession(m, { threads: o.threads, ...(o.functionsOnly ? { opsLibrary: null } : {}) });
  },
};

function describeValue(v: ValueInfo): string {
  const t = v.type?.kind === 'tensor' ? v.type : undefined;
  const dims = t?.shape?.map((d) => d.value ?? d.param ?? '?').join(',');
  return `${t?.elemType ?? '?'}[${dims ?? '?'}]`;
}

/** Throws a UserError naming every difference in the two models' inputs and outputs. */
export function checkComparable(a: Model, b: Model, aFile: string, bFile: string): void {
  const problems: string[] = [];
  const inits = (m: Model) => new Set(m.graph.initializers.map((t) => t.name));
  for (const kind of ['inputs', 'outputs'] as const) {
    const listA = a.graph[kind].filter((v) => kind === 'outputs' || !inits(a).has(v.name));
    const listB = b.graph[kind].filter((v) => kind === 'outputs' || !inits(b).has(v.name));
    const byName = new Map(listB.map((v) => [v.name, v]));
    for (const va of listA) {
      const vb = byName.get(va.name);
      if (!vb) problems.push(`${kind.slice(0, -1)} '${va.name}' is missing from ${bFile}`);
      else if (describeValue(va) !== describeValue(vb)) problems.push(`${kind.slice(0, -1)} '${va.name}' is ${describeValue(va)} in ${aFile} but ${describeValue(vb)} in ${bFile}`);
      byName.delete(va.name);
    }
    for (const extra of byName.keys()) problems.push(`${kind.slice(0, -1)} '${extra}' of ${bFile} is not in ${aFile}`);
  }
  if (problems.length) throw new UserError(`the models are not comparable: ${problems.join('; ')}`);
}

/** Bytes of the tile bits and scales the model's ai.tbn nodes read. */
function tileBytes(m: Model): number {
  const tiles = tileInputs(m);
  return m.graph.initializers.reduce((a, t) => a + (t.name && tiles.has(t.name) ? (t.data as Uint8Array).byteLength : 0), 0);
}

/** Parameter counts of the layers the model's ai.tbn nodes hold. */
function tbnLayers(m: Model): { params: number }[] {
  return m.graph.nodes
    .filter((n) => n.domain === TBN_DOMAIN)
    .map((n) => ({ params: (n.attributes.find((a) => a.name === 'weight_shape')?.ints ?? []).reduce<number>((a, b) => a * Number(b), 1) }));
}

/** Median milliseconds per run of each session on `feeds`, the sessions' runs interleaved one
 * by one (after 3 warm-up runs each), so that a machine's drift or a neighbour's burst falls on
 * all of them alike. */
async function medianLatencies(sessions: OrtSession[], feeds: Record<string, HostTensor>, runs: number): Promise<number[]> {
  for (const s of sessions) for (let i = 0; i < 3; i++) await s.run(feeds);
  const times = sessions.map((): number[] => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, s] of sessions.entries()) {
      const t0 = performance.now();
      await s.run(feeds);
      times[k]!.push(performance.now() - t0);
    }
  }
  return times.map((t) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)]!);
}

function checkThresholds(opts: VerifyOptions & VerifySettings, outputs: OutputAgreement[]): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const o of outputs) {
    if (opts.maxDrop !== undefined) {
      if (!o.accuracy && o.top1Agreement !== null) {
        throw new UserError(`--max-drop needs labelled data (a '${opts.labelKey}' array in --data)`);
      }
      if (o.accuracy) {
        const drop = 100 * (o.accuracy.original - o.accuracy.compressed);
        results.push({ flag: '--max-drop', output: o.name, limit: opts.maxDrop, value: drop, passed: drop <= opts.maxDrop });
      }
    }
    if (opts.minAgreement !== undefined && o.top1Agreement !== null) {
      results.push({ flag: '--min-agreement', output: o.name, limit: opts.minAgreement, value: o.top1Agreement, passed: o.top1Agreement >= opts.minAgreement });
    }
    if (opts.maxMse !== undefined) {
      results.push({ flag: '--max-mse', output: o.name, limit: opts.maxMse, value: o.mse, passed: o.mse <= opts.maxMse });
    }
  }
  return [...results, ...checkTaskThresholds(opts, outputs)];
}

export async function verifyModels(given: VerifyOptions): Promise<VerifyReport> {
  const opts = withDefaults(VERIFY_OPTIONS, given);
  const runtime = opts.runtime;
  const a = loadModel(opts.original);
  const b = loadModel(opts.compressed);
  checkComparable(a.model, b.model, opts.original, opts.compressed);
  parseTaskFlags(opts.task, a.model.graph.outputs.map((o) => o.name!));
  const shapes = parseInputShapes(opts.inputShape);
  const data = opts.data ? await loadData(opts.data, a.model, { labelKey: opts.labelKey, preprocess: opts.preprocess, labels: opts.labels, shapes }) : undefined;
  const warnings = [...(data?.notes ?? [])];
  if (!data) warnings.push('no --data: synthetic inputs, so agreement and error are measured but accuracy is not');
  const batchSize = opts.batchSize;
  const samples = data ? Math.min(opts.samples ?? data.count, data.count) : opts.samples ?? 256;
  const threads = opts.threads;
  const factory = await RUNTIMES[runtime]();
  // One host for every timed session (with --runtime custom-ops the native host, which loads
  // the onnxruntime that onnxruntime-node ships).
  const sa = await factory(opts.original, { threads });
  const sb = await factory(opts.compressed, { threads });
  try {
    const set = { data, model: a.model, samples, seed: opts.seed ?? 0, shapes, batchSize, tasks: { task: opts.task, blank: opts.blank }, charset: opts.charset, threshold: opts.threshold };
    const agreement = await compareSessions(sa, sb, set, { onBatch: (d, t) => opts.onProgress?.(d, t, 'compare') });
    const feeds = data
      ? (await readRange(data, 0, Math.min(batchSize, data.count))).feeds
      : syntheticInputs(a.model, { batch: batchSize, seed: 1, shapes });
    const runs = opts.latencyRuns;
    opts.onProgress?.(0, 1, 'latency');
    // With the kernels, the same file as stock onnxruntime runs it (its ONNX functions) too:
    // where the kernels lose on this machine, the user is better off without the library.
    const functions = runtime === 'custom-ops' ? await factory(opts.compressed, { threads, functionsOnly: true }) : undefined;
    let originalMs: number, compressedMs: number, functionFormMs: number | undefined;
    try {
      [originalMs, compressedMs, functionFormMs] = await medianLatencies(functions ? [sa, sb, functions] : [sa, sb], feeds, runs) as [number, number, number?];
    } finally {
      await functions?.release();
    }
    if (functionFormMs !== undefined && functionFormMs < 0.95 * compressedMs)
      warnings.push(`on this machine the compressed model ran faster as its ONNX functions (stock onnxruntime: ${functionFormMs.toFixed(3)} ms) than with the ai.tbn kernels (${compressedMs.toFixed(3)} ms)`);
    const thresholds = checkThresholds(opts, agreement.outputs);
    warnings.push(...agreement.notes);
    const tiled = tbnLayers(b.model);
    const tiledParams = tiled.reduce((s, l) => s + l.params, 0);
    const params = constantWeights(a.model).params;
    const bBytes = b.fileBytes + b.externalBytes;
    const tiledBytes = tileBytes(b.model);
    return {
      original: { file: opts.original, bytes: a.fileBytes + a.externalBytes, params },
      compressed: {
        file: opts.compressed,
        bytes: bBytes,
        tiledLayers: tiled.length,
        tiledParams,
        bitsPerTiledWeight: tiledParams ? (8 * tiledBytes) / tiledParams : null,
        bitsPerWeight: modelBitsPerWeight(params, bBytes),
      },
      runtime,
      data: { source: data?.source ?? null, samples: agreement.samples, synthetic: agreement.synthetic, labelled: !!data?.labelled },
      outputs: agreement.outputs,
      latency: { batchSize: Object.values(feeds)[0]?.dims[0] ?? batchSize, runs, threads, originalMs, compressedMs, speedup: originalMs / compressedMs, ...(functionFormMs === undefined ? {} : { functionFormMs }) },
      thresholds,
      passed: thresholds.every((t) => t.passed),
      warnings,
    };
  } finally {
    await sa.release();
    await sb.release();
  }
}
