// tbn compress <model>: tiles + fine-tuning → a compressed ONNX model, and a report.

import type { CommandModule } from 'yargs';
import type { CompressReport, ProgressEvent } from '../../pipeline/compress.js';
import { UsageError } from '../../errors.js';
import { describeUpgrade } from '../../ir/upgrade/describe.js';
import { describeSchedule } from '../../tbn/time-budget.js';
import { formatBytes } from '../../tbn/sizes.js';
import { DATA_FLAG_HELP, parseDuration, withJson, withMediaData, type CommonArgs, type Ctx, type MediaDataArgs } from '../options.js';
import { renderTable, type Ui } from '../ui.js';

export interface CompressArgs extends CommonArgs, MediaDataArgs {
  model: string;
  output?: string;
  force: boolean;
  dryRun: boolean;
  data?: string;
  labelKey: string;
  inputShape?: string[];
  p: number;
  layerP?: string[];
  layerAxis?: string[];
  minParams?: number;
  include?: string[];
  exclude?: string[];
  tileAxis: 'auto' | 'output' | 'input' | 'row-major';
  alpha: 'per-tile' | 'per-layer';
  format: 'custom' | 'expanded';
  seed: number;
  permute: boolean;
  bnRecalib: boolean;
  finetune: boolean;
  fuse: boolean;
  epochs: number;
  steps?: number;
  lr: number;
  batchSize?: number;
  loss: 'auto' | 'kl' | 'mse';
  temperature: number;
  augment: boolean;
  alphaSource: 'weight' | 'separate';
  binarizeRest: boolean;
  maxDrop?: number;
  targetBits?: number;
  holdout: number;
  searchEpochs?: number;
  timeBudget?: string;
}

export async function runCompress(args: CompressArgs, ctx: Ctx): Promise<CompressReport> {
  const { compressModel } = await import('../../pipeline/compress.js');
  const { parseLayerAxis, parseLayerP } = await import('../../tbn/select.js');
  const spinner = ctx.ui.progress('compressing');
  let report: CompressReport;
  try {
    report = await compressModel({
      model: args.model,
      output: args.output,
      force: args.force,
      dryRun: args.dryRun,
      data: args.data,
      labelKey: args.labelKey,
      preprocess: args.preprocess,
      labels: args.labels,
      inputShape: args.inputShape,
      p: args.p,
      layerP: parseLayerP(args.layerP),
      layerAxis: parseLayerAxis(args.layerAxis),
      minParams: args.minParams,
      include: args.include,
      exclude: args.exclude,
      axis: args.tileAxis,
      alpha: args.alpha,
      format: args.format,
      seed: args.seed,
      permute: args.permute,
      bnRecalibrate: args.bnRecalib,
      finetune: args.finetune,
      fuse: args.fuse,
      binarizeRest: args.binarizeRest,
      timeBudget: args.timeBudget === undefined ? undefined : parseDuration(args.timeBudget, '--time-budget'),
      budget: {
        maxDrop: args.maxDrop === undefined ? undefined : nonNegative(args.maxDrop, '--max-drop'),
        targetBits: args.targetBits === undefined ? undefined : positiveNumber(args.targetBits, '--target-bits'),
        holdout: args.holdout,
        searchEpochs: args.searchEpochs,
      },
      training: {
        epochs: positive(args.epochs, '--epochs'),
        steps: args.steps === undefined ? undefined : positive(args.steps, '--steps'),
        lr: positiveNumber(args.lr, '--lr'),
        batchSize: args.batchSize === undefined ? undefined : positive(args.batchSize, '--batch-size'),
        loss: args.loss,
        temperature: positiveNumber(args.temperature, '--temperature'),
        augment: args.augment,
        alphaSource: args.alphaSource,
      },
      onProgress: (e: ProgressEvent) => spinner.update(e.message, e.phase),
    });
  } catch (e) {
    spinner.fail();
    throw e;
  }
  spinner.stop();
  if (ctx.ui.json) ctx.ui.out(JSON.stringify(report, null, 2));
  else printCompress(report, ctx.ui);
  return report;
}

function positive(v: number, flag: string): number {
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${flag} must be a positive integer`);
  return v;
}

function nonNegative(v: number, flag: string): number {
  if (!(v >= 0) || !Number.isFinite(v)) throw new UsageError(`${flag} must be a number ≥ 0`);
  return v;
}

function positiveNumber(v: number, flag: string): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`${flag} must be a positive number`);
  return v;
}

const fmt = (x: number | null, digits = 3) => (x === null ? '-' : x.toFixed(digits));

export function printCompress(r: CompressReport, ui: Ui): void {
  for (const w of r.warnings) ui.warn(w);
  if (r.opsetUpgrade) {
    const u = r.opsetUpgrade;
    const check = u.check ? `; same outputs as the original in onnxruntime on ${u.check.samples} ${u.check.synthetic ? 'synthetic ' : ''}samples` : '; not checked in onnxruntime';
    ui.out(`converted the model (the custom format's functions need opset ${u.to}): ${describeUpgrade(u)}${check}`);
  }
  ui.out(r.lambda.reason);
  if (r.layers.length) {
    ui.out(
      renderTable(
        ['layer', 'op', 'shape', 'p', 'regions', 'params', 'before', 'after', 'bits/weight'],
        r.layers.map((l) => [
          l.node,
          l.op,
          l.shape.join('×'),
          l.p,
          l.regionsAlongOutput ? 'output' : 'input',
          l.params,
          formatBytes(l.bytesBefore),
          formatBytes(l.bytesAfter),
          fmt(l.bitsPerWeight),
        ]),
        ['l', 'l', 'l', 'r', 'l', 'r', 'r', 'r', 'r'],
      ),
    );
  }
  if (r.fused.length) ui.out(`fused into the tiled layers: ${r.fused.map((f) => `${f.node} (${f.fused.join(', ')})`).join('; ')}`);
  const permuted = r.permutation.filter((x) => x.permuted);
  if (r.permutation.length) {
    ui.out(`channel permutation: ${permuted.length} of ${r.permutation.length} channel spaces permuted`);
    const layers = (x: (typeof r.permutation)[number]) => (x.layers.length > 3 ? `${x.layers.slice(0, 3).join(', ')} and ${x.layers.length - 3} more` : x.layers.join(', '));
    for (const x of permuted) ui.out(`  permuted ${layers(x)}: ${x.structure}`);
    for (const x of r.permutation.filter((e) => !e.permuted)) ui.out(`  kept ${layers(x)}: ${x.reason}`);
  }
  if (r.batchNorm.length) ui.out(`BatchNorm statistics re-estimated for ${r.batchNorm.length} nodes`);
  if (r.finetune) {
    const f = r.finetune;
    if (f.schedule) ui.out(`${describeSchedule(f.schedule)}; the whole run took ${r.seconds.toFixed(0)} s`);
    ui.out(`fine-tuned: ${f.steps} steps of ${f.batchSize} (${f.epochs.toFixed(1)} epochs) in ${f.seconds.toFixed(1)} s on the ${f.backend} backend; distillation loss ${f.lossBefore.toFixed(4)} → ${f.lossAfter.toFixed(4)}`);
  }
  if (r.budget) printBudget(r.budget, ui);
  if (r.skipped.length) {
    ui.out('not tiled:');
    ui.out(renderTable(['layer', 'weight', 'params', 'reason'], r.skipped.map((s) => [s.node, s.weight, s.params, s.reason]), ['l', 'l', 'r', 'l']));
  }
  const s = r.sizes;
  ui.out(
    `tiled: ${s.tiledParams.toLocaleString('en-US')} weights, ${formatBytes(s.tiledBytesBefore)} → ${formatBytes(s.tiledBytesAfter)} ` +
      `(${fmt(s.bitsPerTiledWeight)} bits/weight)`,
  );
  if (s.outputBytes !== null) ui.out(`file: ${formatBytes(s.inputBytes)} → ${formatBytes(s.outputBytes)} (${sizeChange(s.inputBytes, s.outputBytes, r.format)}${s.bitsPerWeight === null ? '' : `, ${fmt(s.bitsPerWeight)} bits per weight over the whole model`})`);
  if (r.agreement) {
    const a = r.agreement;
    for (const o of a.outputs) {
      const parts = [`MSE ${o.mse.toExponential(3)}`, `cosine ${o.cosine.toFixed(4)}`];
      if (o.top1Agreement !== null) parts.unshift(`top-1 agreement ${(100 * o.top1Agreement).toFixed(1)}%`);
      if (o.accuracy) parts.push(`accuracy ${(100 * o.accuracy.original).toFixed(1)}% → ${(100 * o.accuracy.compressed).toFixed(1)}%`);
      ui.out(`${o.name} on ${a.samples} ${a.synthetic ? 'synthetic ' : ''}samples: ${parts.join(', ')}`);
    }
  }
  ui.out(r.output ? `wrote ${r.output} (${r.format} format)` : 'dry run: nothing written');
}

/** How the file size changed, in words that stay true for the expanded format and tiny models. */
function sizeChange(before: number, after: number, format: CompressReport['format']): string {
  if (format === 'expanded') return 'expanded format: the tiles are stored decoded as fp32 weights, so the file does not shrink; the custom format stores them';
  if (after >= before) return `${formatBytes(after - before)} larger: the tiled layers are too small to pay for the format`;
  return before / after >= 1.1 ? `${(before / after).toFixed(1)}× smaller` : `${formatBytes(before - after)} smaller (${((100 * (before - after)) / before).toFixed(1)} %)`;
}

function printBudget(b: NonNullable<CompressReport['budget']>, ui: Ui): void {
  const unit = b.dropMeasure === 'accuracy' ? 'accuracy points' : 'top-1 disagreement points';
  ui.out(`per-layer p for ${b.mode === 'max-drop' ? `--max-drop ${b.target}` : `--target-bits ${b.target}`} (${b.frontierPoints} frontier points, drop in ${unit} on ${b.holdoutSamples} held-out samples):`);
  ui.out(
    renderTable(
      ['bits/weight', 'p per layer', 'predicted drop', 'measured drop', 'epochs', ''],
      b.attempts.map((a) => [
        a.bitsPerWeight.toFixed(3),
        Object.values(a.ps).join(' '),
        a.predictedDrop === null ? '-' : a.predictedDrop.toFixed(2),
        a.measuredDrop.toFixed(2),
        a.epochs,
        a === b.chosen ? 'chosen' : a.met ? 'met' : 'missed',
      ]),
      ['r', 'l', 'r', 'r', 'r', 'l'],
    ),
  );
  for (const n of b.notes) ui.out(n);
}

export const compressCommand: CommandModule<object, CompressArgs> = {
  command: 'compress <model>',
  describe: 'Tile the weight layers of a model (fine-tuned by distillation) and write the compressed model',
  builder: (y) =>
    withMediaData(withJson(y))
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('output', { alias: 'o', type: 'string', describe: 'Output file (default: <model>.tbn.onnx)' })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing output file' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print the plan and sizes, write nothing' })
      .option('data', { type: 'string', describe: `Calibration data: ${DATA_FLAG_HELP}` })
      .option('label-key', { type: 'string', default: 'label', describe: 'Key of the integer class labels in --data' })
      .option('input-shape', { type: 'string', array: true, describe: 'Shape for a dynamic input, name=d1,d2,… (repeatable)' })
      .option('p', { type: 'number', default: 4, describe: 'Tiling factor: each weight becomes one tile of N/p bits reused p times' })
      .option('layer-p', { type: 'string', array: true, describe: 'Per-layer p, name=p (node or weight name; p=1 keeps it fp32)' })
      .option('layer-axis', { type: 'string', array: true, describe: 'Per-layer tile axis, name=auto|output|input|row-major (node or weight name, glob or /regex/)' })
      .option('min-params', { type: 'number', describe: 'λ: layers with fewer parameters are not tiled (default: chosen from the model, the largest layers until they hold ≥ 90 % of the tileable weight bytes, never one under 1 024 parameters)' })
      .option('include', { type: 'string', array: true, describe: 'Only tile layers whose node or weight name matches (glob or /regex/)' })
      .option('exclude', { type: 'string', array: true, describe: 'Never tile layers whose node or weight name matches (glob or /regex/)' })
      .option('tile-axis', { choices: ['auto', 'output', 'input', 'row-major'] as const, default: 'auto' as const, describe: 'Which axis the tile regions run along' })
      .option('alpha', { choices: ['per-tile', 'per-layer'] as const, default: 'per-tile' as const, describe: 'One scale per tile region, or one per layer' })
      .option('format', { choices: ['custom', 'expanded'] as const, default: 'custom' as const, describe: 'custom: ai.tbn ops with ONNX functions; expanded: decoded fp32 weights' })
      .option('permute', { type: 'boolean', default: true, describe: 'Reorder output channels so rows sharing a tile row are alike (--no-permute to skip)' })
      .option('bn-recalib', { type: 'boolean', default: true, describe: 'Re-estimate BatchNorm statistics on --data after tiling (--no-bn-recalib to skip)' })
      .option('finetune', { type: 'boolean', default: true, describe: 'Fine-tune the tiles by distillation (--no-finetune: tiles from the trained weights only)' })
      .option('fuse', { type: 'boolean', default: true, describe: 'Fold the BatchNorm, activation and residual Add after a tiled layer into its fused op (--no-fuse to keep them as nodes)' })
      .option('epochs', { type: 'number', default: 60, describe: 'Fine-tuning passes over --data' })
      .option('steps', { type: 'number', describe: 'Fine-tuning steps (overrides --epochs)' })
      .option('lr', { type: 'number', default: 1e-3, describe: 'Peak learning rate (Adam, cosine schedule with warm-up)' })
      .option('batch-size', { type: 'number', describe: 'Fine-tuning batch size (default: 64, or fewer for small --data so that an epoch has ≥ 30 steps, never under 16)' })
      .option('loss', { choices: ['auto', 'kl', 'mse'] as const, default: 'auto' as const, describe: 'Distillation loss: auto = KL on [N, C] outputs, MSE on others' })
      .option('temperature', { type: 'number', default: 2, describe: 'Distillation temperature for the KL loss' })
      .option('augment', { type: 'boolean', default: true, describe: 'Shift/rotate/noise/mixup the inputs; the teacher labels them (--no-augment to skip)' })
      .option('alpha-source', { choices: ['weight', 'separate'] as const, default: 'weight' as const, describe: 'α from the latent weights, or from a separate full-precision tensor' })
      .option('binarize-rest', { type: 'boolean', default: false, describe: 'Layers under λ become binary (1 bit per weight, one α) instead of staying fp32' })
      .option('max-drop', { type: 'number', describe: 'Choose p per layer: the smallest model whose accuracy drop on held-out data is ≤ this many points' })
      .option('target-bits', { type: 'number', describe: 'Choose p per layer: the most accurate model at ≤ this many bits per weight (over the tileable layers)' })
      .option('holdout', { type: 'number', default: 0.2, describe: 'Fraction of --data held out to confirm --max-drop/--target-bits' })
      .option('time-budget', { type: 'string', describe: 'Wall time for the whole run, e.g. 90s, 10m, 1.5h: the first fine-tuning steps are timed and the schedule (steps, cosine length) is cut to fit' })
      .option('search-epochs', { type: 'number', describe: 'Fine-tuning epochs per candidate while searching --max-drop (default: --epochs; fewer search faster but misjudge points that a full fine-tune would rescue)' })
      .option('seed', { type: 'number', default: 0, describe: 'Random seed (same seed and data → same output bytes)' }) as never,
  handler: async (args) => {
    const { runHandler } = await import('../main.js');
    await runHandler(args, runCompress);
  },
};
