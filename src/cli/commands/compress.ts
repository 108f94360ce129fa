// tbn compress <model>: tiles + fine-tuning → a compressed ONNX model, and a report.

import type { ProgressEvent, CompressReport } from '../../pipeline/compress.js';
import { COMPRESS_CONFLICTS, COMPRESS_OPTIONS } from '../../pipeline/compress-options.js';
import { describeUpgrade } from '../../ir/upgrade/describe.js';
import { describeSchedule } from '../../tbn/time-budget.js';
import { formatBytes } from '../../tbn/sizes.js';
import { defineCommand, withProgress, type CommandArgs, type Ctx } from '../command.js';
import { renderTable, type Ui } from '../ui.js';
import { agreementText, truthText } from '../task-metrics.js';

const POSITIONALS = { model: { type: 'string', demandOption: true, describe: 'ONNX model file' } } as const;

export type CompressArgs = CommandArgs<typeof POSITIONALS, typeof COMPRESS_OPTIONS>;

export async function runCompress(args: CompressArgs, ctx: Ctx): Promise<number> {
  const { compressModel } = await import('../../pipeline/compress.js');
  const report = await withProgress(ctx.ui, 'compressing', (progress) =>
    compressModel({ ...args, onProgress: (e: ProgressEvent) => progress.update(e.message, e.phase) }),
  );
  if (ctx.ui.json) ctx.ui.out(JSON.stringify(report, null, 2));
  else printCompress(report, ctx.ui);
  return 0;
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
        ['layer', 'weight', 'op', 'shape', 'p', 'regions', 'params', 'before', 'after', 'bits/weight'],
        r.layers.map((l) => [
          l.node,
          l.weight,
          l.op,
          l.shape.join('×'),
          l.p,
          l.alongHiddenUnits ? 'hidden' : l.regionsAlongOutput ? 'output' : 'input',
          l.params,
          formatBytes(l.bytesBefore),
          formatBytes(l.bytesAfter),
          fmt(l.bitsPerWeight),
        ]),
        ['l', 'l', 'l', 'l', 'r', 'l', 'r', 'r', 'r', 'r'],
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
    ui.out(`fine-tuned: ${f.steps} steps of ${f.batchSize} (${f.epochs.toFixed(1)} epochs${f.epochsReason ? `, ${f.epochsReason}` : ''}) in ${f.seconds.toFixed(1)} s on the ${f.backend} backend; distillation loss ${f.lossBefore.toFixed(4)} → ${f.lossAfter.toFixed(4)}`);
    for (const t of f.tasks) ui.out(`  ${t.task.output}: ${t.task.kind}, loss ${t.loss} — ${t.task.reason}`);
    ui.out(`  ${f.features.note}; ${f.augment.note}`);
  }
  if (r.budget) printBudget(r.budget, ui);
  if (r.skipped.length) {
    ui.out('not tiled:');
    ui.out(renderTable(['layer', 'weight', 'params', 'reason'], r.skipped.map((s) => [s.node, s.weight, s.params, s.reason]), ['l', 'l', 'r', 'l']));
  }
  if (r.float16) {
    const h = r.float16;
    ui.out(`stored as float16: ${h.tensors} float32 tensors (${formatBytes(h.bytesSaved)} saved)${h.kept.length ? `; kept float32: ${h.kept.map((k) => `${k.name} (${k.reason})`).join('; ')}` : ''}`);
  }
  const s = r.sizes;
  ui.out(
    `tiled: ${s.tiledParams.toLocaleString('en-US')} weights, ${formatBytes(s.tiledBytesBefore)} → ${formatBytes(s.tiledBytesAfter)} ` +
      `(${fmt(s.bitsPerTiledWeight)} bits/weight)`,
  );
  if (s.outputBytes !== null) ui.out(`file: ${formatBytes(s.inputBytes)} → ${formatBytes(s.outputBytes)} (${sizeChange(s.inputBytes, s.outputBytes, r.format, r.float16 !== null)}${s.bitsPerWeight === null ? '' : `, ${fmt(s.bitsPerWeight)} bits per weight over the whole model`})`);
  if (r.agreement) {
    const a = r.agreement;
    for (const o of a.outputs) {
      const truth = truthText(o);
      const parts = [agreementText(o), ...(truth === '-' ? [] : [`against the data: ${truth}`]), `MSE ${o.mse.toExponential(3)}`, `cosine ${o.cosine.toFixed(4)}`];
      ui.out(`${o.name} (${o.task.kind}) on ${a.samples} ${a.synthetic ? 'synthetic ' : ''}samples: ${parts.join(', ')}`);
    }
  }
  ui.out(r.output ? `wrote ${r.output} (${r.format} format)` : 'dry run: nothing written');
}

/** How the file size changed, in words that stay true for the expanded format and tiny models. */
function sizeChange(before: number, after: number, format: CompressReport['format'], float16: boolean): string {
  if (format === 'expanded')
    return float16
      ? 'expanded format: the tiles are stored decoded, as float16 like the rest; the custom format stores them'
      : 'expanded format: the tiles are stored decoded as fp32 weights, so the file does not shrink; the custom format stores them';
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

export const compressCommand = defineCommand({
  command: 'compress <model>',
  describe: 'Tile the weight layers of a model (fine-tuned by distillation) and write the compressed model',
  positionals: POSITIONALS,
  options: COMPRESS_OPTIONS,
  conflicts: COMPRESS_CONFLICTS,
  run: runCompress,
});
