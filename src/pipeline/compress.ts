// `tbn compress`: select layers, tile them from the trained weights, (fine-tune), rewrite the
// graph and write the compressed model atomically, with a report of sizes and agreement.
// Progress goes to the onProgress callback; this module prints nothing.

import fs from 'node:fs';
import path from 'node:path';
import { NothingTiledError, UsageError, withFile } from '../errors.js';
import { dtypeBits, rawByteLength } from '../ir/dtype.js';
import type { Model } from '../ir/types.js';
import { encodeModelInline, loadModel, saveModel } from '../onnx/file.js';
import { META, tileInputs } from '../tbn/format.js';
import { compactValueNames } from '../ir/compact-names.js';
import { storeFloat16 } from '../ir/float16-storage.js';
import { checkCustomFormat, refuseCompressed, type OutputFormat, type TiledLayer } from '../tbn/rewrite.js';
import { alongHiddenUnits, lambdaFor, type Selection } from '../tbn/select.js';
import type { BatchNormUpdate } from '../tbn/batchnorm.js';
import type { PermutationReport } from '../tbn/permute.js';
import { bitsPerWeight, constantWeights, modelBitsPerWeight, type LambdaChoice } from '../tbn/sizes.js';
import type { AlphaMode } from '../tbn/tile.js';
import { defaultEpochs, type EpochChoice } from '../tbn/schedule.js';
import { compressWith, type FinetuneSummary, type MethodContext, type MethodResult } from '../tbn/method.js';
import type { FuseReport } from '../tbn/fuse-epilogue.js';
import { compareModels, type Agreement } from '../verify/compare.js';
import { compressWithBudget, type BudgetReport } from './budget.js';
import { COMPRESS_OPTIONS, type CompressSettings } from './compress-options.js';
import { withDefaults } from './option-spec.js';
import { createOrtSession } from '../runtime/ort.js';
import { parseTaskFlags } from '../tbn/tasks.js';
import { loadData, type Dataset } from '../data/dataset.js';
import { parseInputShapes, syntheticInputs } from '../data/synthetic.js';
import { packageVersion } from '../util/package.js';
import { upgradeForCustomFormat, type OpsetUpgrade } from './upgrade.js';


/**
 * What compressModel takes: the declared options of `tbn compress` (compress-options.ts; the
 * declared defaults fill what is left out) and what only a program passes.
 */
export type CompressOptions = { model: string } & Partial<CompressSettings> & {
  /** Samples of --data used to measure agreement after compression (default 500). */
  evalSamples?: number;
  onProgress?: (event: ProgressEvent) => void;
};

export type ProgressEvent = { phase: 'load' | 'upgrade' | 'select' | 'permute' | 'tile' | 'batchnorm' | 'finetune' | 'shapes' | 'fuse' | 'write' | 'evaluate' | 'budget'; message: string };

export interface CompressLayerReport {
  node: string;
  op: string;
  weight: string;
  shape: number[];
  p: number;
  tileAxis: number;
  regionsAlongOutput: boolean;
  /** A recurrent W/R tiled along its hidden units (hiddenLayout): every gate its own bits. */
  alongHiddenUnits: boolean;
  params: number;
  bytesBefore: number;
  bytesAfter: number;
  bitsPerWeight: number;
}

export interface CompressReport {
  input: string;
  output: string | null;
  format: OutputFormat;
  alphaMode: AlphaMode;
  /** λ and why it has that value. */
  lambda: LambdaChoice;
  /** The default-domain opset conversion the custom format needed (null: none). */
  opsetUpgrade: OpsetUpgrade | null;
  layers: CompressLayerReport[];
  skipped: { node: string; weight: string; params: number; reason: string }[];
  sizes: {
    inputBytes: number;
    outputBytes: number | null;
    tiledParams: number;
    tiledBytesBefore: number;
    tiledBytesAfter: number;
    bitsPerTiledWeight: number | null;
    bitsPerWeight: number | null;
  };
  agreement: Agreement | null;
  permutation: PermutationReport[];
  batchNorm: BatchNormUpdate[];
  finetune: FinetuneSummary | null;
  /** Nodes folded into each fused op's epilogue (BatchNormalization, activations, residual Add). */
  fused: FuseReport[];
  /** What --rest-dtype float16 stored in float16 (null: float32 kept). */
  float16: { tensors: number; bytesSaved: number; kept: { name: string; reason: string }[] } | null;
  budget: BudgetReport | null;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
  warnings: string[];
}

export function defaultOutputPath(input: string): string {
  const base = path.basename(input).replace(/\.onnx$/i, '');
  return path.join(path.dirname(input), `${base}.tbn.onnx`);
}

function checkOutput(input: string, output: string, force: boolean): void {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  if (real(input) === real(output)) throw new UsageError(`-o ${output}: that is the input model; tbn never modifies its input`);
  if (fs.existsSync(output) && !force) throw new UsageError(`-o ${output}: the file exists; add --force to replace it`);
  const dir = path.dirname(path.resolve(output));
  if (!fs.existsSync(dir)) throw new UsageError(`-o ${output}: folder ${dir} does not exist`);
}


function metadata(tiled: TiledLayer[], alpha: AlphaMode, upgrade: OpsetUpgrade | null) {
  const layers = tiled.map((t) => ({
    node: t.layer.node.name ?? '',
    weight: t.layer.source.name,
    op: t.layer.op,
    shape: t.layout.shape,
    p: t.layout.p,
    tile_axis: t.layout.tileAxis,
  }));
  return [
    { key: META.version, value: packageVersion() },
    { key: META.alphaMode, value: alpha },
    { key: META.layers, value: JSON.stringify(layers) },
    ...(upgrade ? [{ key: META.opsetUpgrade, value: JSON.stringify({ from: upgrade.from, to: upgrade.to }) }] : []),
  ];
}

export async function compressModel(given: CompressOptions): Promise<CompressReport> {
  const started = performance.now();
  const opts = withDefaults(COMPRESS_OPTIONS, given);
  const progress = opts.onProgress ?? (() => {});
  const output = opts.output ?? defaultOutputPath(opts.model);
  if (!opts.dryRun) checkOutput(opts.model, output, opts.force);
  const shapes = parseInputShapes(opts.inputShape);
  progress({ phase: 'load', message: `reading ${opts.model}` });
  const loaded = loadModel(opts.model);
  await withFile(opts.model, () => refuseCompressed(loaded.model));
  const data = opts.data
    ? await loadData(opts.data, loaded.model, { labelKey: opts.labelKey, preprocess: opts.preprocess, labels: opts.labels, shapes, onProgress: (message) => progress({ phase: 'load', message }) })
    : undefined;
  // The original must run in onnxruntime: it is the teacher and the reference. Checked first,
  // so that nothing is written for a model onnxruntime cannot load.
  await (await createOrtSession(opts.model, { threads: 1 })).release();
  const warnings = [...(data?.notes ?? [])];
  // The custom format's function bodies need a newer opset than old exports have: the student
  // (and the output) is the model converted to it; the teacher stays the original file.
  let model = loaded.model;
  let upgrade: OpsetUpgrade | null = null;
  if (opts.format === 'custom') {
    progress({ phase: 'upgrade', message: 'checking the opset' });
    ({ model, upgrade } = await withFile(opts.model, () => upgradeForCustomFormat(opts.model, loaded.model, { data, shapes, seed: opts.seed, warn: (w) => warnings.push(w) })));
    await withFile(opts.model, () => checkCustomFormat(model));
  }
  parseTaskFlags(opts.task, model.graph.outputs.map((o) => o.name!));
  const lambda = lambdaFor(model, opts.minParams);
  const select = { ...opts, minParams: lambda.value };
  const schedule = defaultEpochs(model, opts.epochs);
  const ctx: MethodContext = {
    modelPath: opts.model,
    model,
    data,
    shapes,
    format: opts.format,
    alpha: opts.alpha,
    seed: opts.seed,
    permute: opts.permute,
    bnRecalib: opts.bnRecalib,
    finetune: opts.finetune,
    fuse: opts.fuse,
    training: { ...opts, epochs: schedule.epochs },
    progress: (phase, message) => progress({ phase, message }),
    warn: (w) => warnings.push(w),
    metadata: (tiled) => metadata(tiled, opts.alpha, upgrade),
    deadline: opts.timeBudget === undefined ? undefined : started + 1000 * opts.timeBudget,
  };
  const facts = { lambda, upgrade, originalParams: constantWeights(loaded.model).params, schedule };
  if (opts.maxDrop !== undefined || opts.targetBits !== undefined) {
    const { result, report } = await compressWithBudget(ctx, select, opts, (message) => progress({ phase: 'budget', message }));
    return { ...(await finishCompress(opts, ctx, loaded, result, output, warnings, facts)), budget: report, seconds: (performance.now() - started) / 1000 };
  }
  const result = await compressWith(ctx, select, { dryRun: opts.dryRun });
  return { ...(await finishCompress(opts, ctx, loaded, result, output, warnings, facts)), seconds: (performance.now() - started) / 1000 };
}

/** One line on why nothing was tiled, by reason, with what to do. */
function nothingTiled(selection: Selection, lambda: LambdaChoice): string {
  const reasons = new Map<string, number>();
  const under = selection.skipped.filter((s) => s.underLambda);
  for (const s of selection.skipped) {
    const key = s.underLambda ? `under λ = ${lambda.value.toLocaleString('en-US')}` : s.reason;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  const why = [...reasons].map(([r, n]) => `${n} ${n === 1 ? 'layer' : 'layers'} ${r}`).join(', ');
  const largest = Math.max(0, ...under.map((s) => s.layer.params));
  const hint = under.length ? `; the largest of those has ${largest.toLocaleString('en-US')} parameters: lower --min-params` : '';
  return `no layer was tiled (${why || 'the model has no Gemm, MatMul, Conv or Gather layer with a constant weight'})${hint}; nothing was written`;
}

/** Agreement, output file and report for a compressed model built by compressWith. */
async function finishCompress(
  opts: CompressOptions & CompressSettings,
  ctx: MethodContext,
  loaded: { fileBytes: number; externalBytes: number },
  result: MethodResult,
  output: string,
  warnings: string[],
  facts: { lambda: LambdaChoice; upgrade: OpsetUpgrade | null; originalParams: number; schedule: EpochChoice },
): Promise<CompressReport> {
  const progress = opts.onProgress ?? (() => {});
  const { tiled, selection } = result;
  if (!tiled.length) throw new NothingTiledError(`${opts.model}: ${nothingTiled(selection, facts.lambda)}`);
  const layers: CompressLayerReport[] = tiled.map((t) => {
    const choice = selection.chosen.find((c) => c.layer === t.layer)!;
    const bytesAfter = t.tile.bits.length + (dtypeBits(t.layer.dtype) / 8) * t.tile.alpha.length;
    return {
      node: t.layer.node.name || t.layer.label,
      op: t.layer.op,
      weight: t.layer.source.name,
      shape: t.layout.shape,
      p: t.layout.p,
      tileAxis: t.layout.tileAxis,
      regionsAlongOutput: choice.regionsAlongOutput,
      alongHiddenUnits: alongHiddenUnits(choice),
      params: t.layer.params,
      bytesBefore: rawByteLength(t.layer.source.tensor.dtype, t.layer.params),
      bytesAfter,
      bitsPerWeight: bitsPerWeight(t.layer.params, bytesAfter),
    };
  });
  // Nothing is written on a dry run: no names to shorten.
  const named = opts.dryRun ? result.compressed : writtenNames(result.compressed, opts.keepNames, warnings);
  const half = opts.restDtype === 'float16' ? storeFloat16(named, tileInputs(named)) : null;
  const compressed = half?.model ?? named;
  let agreement: Agreement | null = null;
  const measurable = ctx.data !== undefined || canSynthesize(ctx.model, ctx.shapes, warnings);
  if (!opts.dryRun && tiled.length && measurable) {
    progress({ phase: 'evaluate', message: 'measuring agreement with the original' });
    agreement = await compareModels(opts.model, encodeModelInline(compressed), evalSet(ctx.data, ctx.model, opts, ctx.shapes));
    warnings.push(...agreement.notes);
  }
  let outputBytes: number | null = null;
  if (!opts.dryRun) {
    progress({ phase: 'write', message: `writing ${output}` });
    const ext = compressed.graph.initializers.some((t) => t.encoding === 'external');
    outputBytes = saveModel(compressed, output, {
      externalLocation: ext ? `${path.basename(output)}.data` : undefined,
      protect: [path.dirname(path.resolve(opts.model))],
    });
  }
  const tiledParams = layers.reduce((a, l) => a + l.params, 0);
  const before = layers.reduce((a, l) => a + l.bytesBefore, 0);
  const after = layers.reduce((a, l) => a + l.bytesAfter, 0);
  return {
    input: opts.model,
    output: opts.dryRun ? null : output,
    format: ctx.format,
    alphaMode: ctx.alpha,
    lambda: facts.lambda,
    opsetUpgrade: facts.upgrade,
    layers,
    skipped: selection.skipped.map((s) => ({ node: s.layer.node.name || s.layer.label, weight: s.layer.source.name, params: s.layer.params, reason: s.reason })),
    sizes: {
      inputBytes: loaded.fileBytes + loaded.externalBytes,
      outputBytes,
      tiledParams,
      tiledBytesBefore: before,
      tiledBytesAfter: after,
      bitsPerTiledWeight: tiledParams ? bitsPerWeight(tiledParams, after) : null,
      bitsPerWeight: outputBytes === null ? null : modelBitsPerWeight(facts.originalParams, outputBytes),
    },
    agreement,
    permutation: result.permutation,
    batchNorm: result.batchNorm,
    finetune: result.finetune && (opts.steps === undefined ? { ...result.finetune, epochsReason: facts.schedule.reason } : result.finetune),
    fused: result.fused,
    float16: half && { tensors: half.stored.length, bytesSaved: half.bytesSaved, kept: half.kept },
    budget: null,
    seconds: 0,
    warnings,
  };
}

function writtenNames(model: Model, keep: boolean, warnings: string[]): Model {
  if (keep) return model;
  const { model: compact, keptBecause } = compactValueNames(model);
  if (keptBecause) warnings.push(`value names kept: ${keptBecause}`);
  return compact;
}

/** Whether synthetic inputs can be made (all dynamic dimensions but the batch known). */
function canSynthesize(model: Model, shapes: Map<string, number[]>, warnings: string[]): boolean {
  try {
    syntheticInputs(model, { batch: 1, shapes });
    return true;
  } catch (e) {
    warnings.push(`agreement with the original not measured: ${e instanceof Error ? e.message : e}`);
    return false;
  }
}

function evalSet(data: Dataset | undefined, model: Model, opts: CompressOptions & CompressSettings, shapes: Map<string, number[]>) {
  return { data, model, samples: opts.evalSamples ?? 500, seed: opts.seed, shapes, tasks: { task: opts.task, blank: opts.blank } };
}

