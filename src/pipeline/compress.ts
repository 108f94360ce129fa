// `tbn compress`: select layers, tile them from the trained weights, (fine-tune), rewrite the
// graph and write the compressed model atomically, with a report of sizes and agreement.
// Progress goes to the onProgress callback; this module prints nothing.

import fs from 'node:fs';
import path from 'node:path';
import { UsageError, UserError } from '../errors.js';
import type { Model } from '../ir/types.js';
import { encodeModelInline, loadModel, saveModel } from '../onnx/file.js';
import { META } from '../tbn/format.js';
import { consumedWeight } from '../tbn/layers.js';
import { checkCustomFormat, rewriteModel, type OutputFormat, type TiledLayer } from '../tbn/rewrite.js';
import { selectLayers, type AxisPolicy, type LayerChoice } from '../tbn/select.js';
import { recalibrateBatchNorm, type BatchNormUpdate } from '../tbn/batchnorm.js';
import { permuteChannels, type PermutationReport } from '../tbn/permute.js';
import { concreteShapes, probeValueShapes } from '../tbn/shapes.js';
import { bitsPerWeight } from '../tbn/sizes.js';
import { computeTile, type AlphaMode } from '../tbn/tile.js';
import { DEFAULT_FINETUNE, finetune, type FinetuneOptions } from '../tbn/finetune.js';
import { getBackend } from '../engine/index.js';
import { compareModels, type Agreement } from '../verify/compare.js';
import { createOrtSession } from '../runtime/ort.js';
import { loadData, type Dataset } from '../data/dataset.js';
import { parseInputShapes } from '../data/synthetic.js';

export const TBN_VERSION = '0.1.0';

export interface CompressOptions {
  model: string;
  output?: string;
  force?: boolean;
  dryRun?: boolean;
  data?: string;
  labelKey?: string;
  inputShape?: string[];
  p?: number;
  layerP?: Map<string, number>;
  minParams?: number;
  include?: string[];
  exclude?: string[];
  axis?: AxisPolicy;
  alpha?: AlphaMode;
  format?: OutputFormat;
  seed?: number;
  /** Samples of --data used to measure agreement after compression. */
  evalSamples?: number;
  /** Reorder output channels so rows sharing a tile row are alike (default on). */
  permute?: boolean;
  /** Re-estimate BatchNorm statistics on --data after tiling (default on). */
  bnRecalibrate?: boolean;
  /** Fine-tune the tiles by distillation (default on). */
  finetune?: boolean;
  /** Fine-tuning settings (epochs, steps, lr, batch size, loss, temperature, augmentation, α source). */
  training?: Partial<FinetuneOptions>;
  onProgress?: (event: ProgressEvent) => void;
}

export type ProgressEvent = { phase: 'load' | 'select' | 'permute' | 'tile' | 'batchnorm' | 'finetune' | 'shapes' | 'write' | 'evaluate'; message: string };

export interface CompressLayerReport {
  node: string;
  op: string;
  weight: string;
  shape: number[];
  p: number;
  tileAxis: number;
  regionsAlongOutput: boolean;
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
  finetune: { steps: number; epochs: number; seconds: number; lossBefore: number; lossAfter: number; backend: string } | null;
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

export function tileChoices(choices: LayerChoice[], alpha: AlphaMode): TiledLayer[] {
  return choices.map((c) => ({
    layer: c.layer,
    layout: c.layout,
    alphaMode: alpha,
    tile: computeTile(consumedWeight(c.layer), c.layout, alpha),
  }));
}

function metadata(tiled: TiledLayer[], alpha: AlphaMode) {
  const layers = tiled.map((t) => ({
    node: t.layer.node.name ?? '',
    weight: t.layer.source.name,
    op: t.layer.op,
    shape: t.layout.shape,
    p: t.layout.p,
    tile_axis: t.layout.tileAxis,
  }));
  return [
    { key: META.version, value: TBN_VERSION },
    { key: META.alphaMode, value: alpha },
    { key: META.layers, value: JSON.stringify(layers) },
  ];
}

export async function compressModel(opts: CompressOptions): Promise<CompressReport> {
  const progress = opts.onProgress ?? (() => {});
  const format = opts.format ?? 'custom';
  const alpha = opts.alpha ?? 'per-tile';
  const output = opts.output ?? defaultOutputPath(opts.model);
  if (!opts.dryRun) checkOutput(opts.model, output, !!opts.force);
  const shapes = parseInputShapes(opts.inputShape);
  progress({ phase: 'load', message: `reading ${opts.model}` });
  const loaded = loadModel(opts.model);
  const model = loaded.model;
  if (format === 'custom') wrapInput(opts.model, () => checkCustomFormat(model));
  const data = opts.data ? loadData(opts.data, model, { labelKey: opts.labelKey }) : undefined;
  // The original must run in onnxruntime: it is the teacher and the reference. Checked first,
  // so that nothing is written for a model onnxruntime cannot load.
  await (await createOrtSession(opts.model, { threads: 1 })).release();
  const warnings = [...(data?.notes ?? [])];

  progress({ phase: 'select', message: 'choosing layers' });
  let selection = selectLayers(model, opts);
  if (!selection.chosen.length) warnings.push('no layer was tiled (see the skipped layers); the output equals the input');
  let working = model;
  let permutation: PermutationReport[] = [];
  if (opts.permute !== false && selection.chosen.some((c) => c.regionsAlongOutput)) {
    progress({ phase: 'permute', message: 'permuting channels' });
    const shapeMap = await concreteShapes(model, shapes).catch(() => undefined);
    if (!shapeMap) warnings.push('channels not permuted: the model could not be run on synthetic inputs (give --input-shape)');
    else {
      ({ model: working, report: permutation } = permuteChannels(model, selection.chosen, shapeMap));
      selection = selectLayers(working, opts);
    }
  }
  progress({ phase: 'tile', message: `tiling ${selection.chosen.length} layers` });
  let tiled = tileChoices(selection.chosen, alpha);
  const hasBatchNorm = working.graph.nodes.some((n) => n.opType === 'BatchNormalization');
  const bnSet = data && { data, model, samples: Math.min(data.count, 2000), seed: opts.seed ?? 0, shapes };
  const recalibrate = opts.bnRecalibrate !== false && hasBatchNorm && tiled.length > 0;
  if (recalibrate && !bnSet) warnings.push('BatchNorm statistics not re-estimated: that needs --data');
  let finetuneReport: CompressReport['finetune'] = null;
  if (opts.finetune !== false && tiled.length && !opts.dryRun) {
    if (!data) warnings.push('no --data: fine-tuning on synthetic inputs, and accuracy is not measured');
    if (recalibrate && bnSet) {
      progress({ phase: 'batchnorm', message: 're-estimating BatchNorm statistics before fine-tuning' });
      const first = await recalibrateBatchNorm(rewriteModel(working, tiled, { format: 'expanded' }), bnSet);
      working = copyInitializers(working, first.model, batchNormStats(working));
    }
    const teacher = await createOrtSession(opts.model, { threads: 0, spinning: false });
    const training = { alphaMode: alpha, seed: opts.seed ?? 0, ...opts.training };
    try {
      const started = Date.now();
      const r = await finetune(working, selection.chosen, data, teacher, {
        ...training,
        onStep: (e) => progress({ phase: 'finetune', message: `fine-tuning: step ${e.step}/${e.total}, epoch ${e.epoch}, loss ${e.loss.toFixed(4)}, ETA ${formatDuration(e.etaSeconds)}` }),
      }, shapes);
      working = replaceInitializers(working, r.updated);
      tiled = selection.chosen.map((c) => {
        const l = r.latent.get(c.layer.nodeIndex)!;
        return { layer: c.layer, layout: c.layout, alphaMode: alpha, tile: computeTile(l.w, c.layout, alpha, l.a) };
      });
      const epochs = r.steps / Math.max(1, Math.floor((data?.count ?? 512) / Math.min(training.batchSize ?? DEFAULT_FINETUNE.batchSize, data?.count ?? 512)));
      finetuneReport = { steps: r.steps, epochs, seconds: (Date.now() - started) / 1000, lossBefore: r.lossBefore, lossAfter: r.lossAfter, backend: getBackend().name };
    } finally {
      await teacher.release();
    }
  }

  const layers: CompressLayerReport[] = tiled.map((t) => {
    const bytesAfter = t.tile.bits.length + 4 * t.tile.alpha.length;
    return {
      node: t.layer.node.name || t.layer.label,
      op: t.layer.op,
      weight: t.layer.source.name,
      shape: t.layout.shape,
      p: t.layout.p,
      tileAxis: t.layout.tileAxis,
      regionsAlongOutput: selection.chosen.find((c) => c.layer === t.layer)!.regionsAlongOutput,
      params: t.layer.params,
      bytesBefore: 4 * t.layer.params,
      bytesAfter,
      bitsPerWeight: bitsPerWeight(t.layer.params, bytesAfter),
    };
  });
  progress({ phase: 'shapes', message: 'probing output shapes' });
  const valueInfo = format === 'custom' ? await probeValueShapes(model, tiled.map((t) => t.layer.node.outputs[0]!), shapes) : [];
  let compressed = rewriteModel(working, tiled, { format, metadata: metadata(tiled, alpha), valueInfo });
  let batchNorm: BatchNormUpdate[] = [];
  if (recalibrate && bnSet) {
    progress({ phase: 'batchnorm', message: 're-estimating BatchNorm statistics' });
    ({ model: compressed, updates: batchNorm } = await recalibrateBatchNorm(compressed, bnSet));
  }

  let agreement: Agreement | null = null;
  const bytes = encodeModelInline(compressed);
  if (!opts.dryRun && tiled.length) {
    progress({ phase: 'evaluate', message: 'measuring agreement with the original' });
    agreement = await compareModels(opts.model, bytes, evalSet(data, model, opts, shapes));
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
  const inputBytes = loaded.fileBytes + loaded.externalBytes;
  return {
    input: opts.model,
    output: opts.dryRun ? null : output,
    format,
    alphaMode: alpha,
    layers,
    skipped: selection.skipped.map((s) => ({ node: s.layer.node.name || s.layer.label, weight: s.layer.source.name, params: s.layer.params, reason: s.reason })),
    sizes: {
      inputBytes,
      outputBytes,
      tiledParams,
      tiledBytesBefore: before,
      tiledBytesAfter: after,
      bitsPerTiledWeight: tiledParams ? bitsPerWeight(tiledParams, after) : null,
      bitsPerWeight: outputBytes === null ? null : bitsPerWeight(totalParams(model), outputBytes),
    },
    agreement,
    permutation,
    batchNorm,
    finetune: finetuneReport,
    warnings,
  };
}

function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function batchNormStats(model: Model): string[] {
  return model.graph.nodes.filter((n) => n.opType === 'BatchNormalization').flatMap((n) => n.inputs.slice(3, 5));
}

/** `target` with the initializers `names` taken from `source`. */
function copyInitializers(target: Model, source: Model, names: string[]): Model {
  const from = new Map(source.graph.initializers.filter((t) => t.name && names.includes(t.name)).map((t) => [t.name!, t.data as Float32Array]));
  return replaceInitializers(target, from);
}

function replaceInitializers(model: Model, values: Map<string, Float32Array>): Model {
  const initializers = model.graph.initializers.map((t) =>
    t.name && values.has(t.name) ? { ...t, data: values.get(t.name)!, encoding: t.encoding === 'typed' ? ('raw' as const) : t.encoding } : t,
  );
  return { ...model, graph: { ...model.graph, initializers } };
}

function totalParams(model: Model): number {
  return model.graph.initializers.reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0);
}

function evalSet(data: Dataset | undefined, model: Model, opts: CompressOptions, shapes: Map<string, number[]>) {
  return { data, model, samples: opts.evalSamples ?? 500, seed: opts.seed ?? 0, shapes };
}

function wrapInput(file: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${file}: ${e.message}`);
    throw e;
  }
}
