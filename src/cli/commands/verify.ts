// tbn verify <original> <compressed>: same answers? how small, how fast? Exit 3 when a
// threshold the user set fails.

import { ThresholdError } from '../../errors.js';
import { VERIFY_OPTIONS } from '../../pipeline/verify-options.js';
import type { VerifyReport } from '../../pipeline/verify.js';
import { formatBytes } from '../../tbn/sizes.js';
import { defineCommand, withProgress, type CommandArgs, type Ctx } from '../command.js';
import { renderTable, type Ui } from '../ui.js';
import { agreementText, truthText } from '../task-metrics.js';

const POSITIONALS = {
  original: { type: 'string', demandOption: true, describe: 'The original ONNX model' },
  compressed: { type: 'string', demandOption: true, describe: 'The compressed ONNX model' },
} as const;

export type VerifyArgs = CommandArgs<typeof POSITIONALS, typeof VERIFY_OPTIONS>;

export async function runVerify(args: VerifyArgs, ctx: Ctx): Promise<number> {
  const { verifyModels } = await import('../../pipeline/verify.js');
  const started = Date.now();
  const report = await withProgress(ctx.ui, 'verifying', (progress) =>
    verifyModels({
      ...args,
      onProgress: (done, total, phase) => {
        if (phase === 'latency') return progress.update('measuring latency');
        const eta = done ? ((Date.now() - started) / done) * (total - done) / 1000 : 0;
        progress.update(`comparing ${done}/${total} samples, ETA ${eta.toFixed(0)} s`);
      },
    }),
  );
  if (ctx.ui.json) ctx.ui.out(JSON.stringify(report, null, 2));
  else printVerify(report, ctx.ui);
  const failed = report.thresholds.filter((t) => !t.passed);
  if (failed.length) {
    const what = failed.map((t) => `${t.flag} ${t.limit}: ${t.output} ${describe(t)}`);
    throw new ThresholdError(`verification failed: ${what.join('; ')}`);
  }
  return 0;
}

function describe(t: VerifyReport['thresholds'][number]): string {
  if (t.flag === '--max-drop') return `accuracy dropped ${t.value.toFixed(2)} points`;
  if (t.flag === '--min-agreement') return `top-1 agreement is ${t.value.toFixed(4)}`;
  if (t.flag === '--max-cer') return `character error rate is ${t.value.toFixed(4)}`;
  if (t.flag === '--min-cosine') return `mean cosine is ${t.value.toFixed(4)}`;
  if (t.flag === '--min-iou') return `IoU is ${t.value.toFixed(4)}`;
  return `MSE is ${t.value.toExponential(3)}`;
}

const ratio = (x: number, more: string, less: string) =>
  Math.abs(x - 1) < 0.005 ? `the same` : x >= 1 ? `${x.toFixed(2)}× ${more}` : `${(1 / x).toFixed(2)}× ${less}`;

export function printVerify(r: VerifyReport, ui: Ui): void {
  for (const w of r.warnings) ui.warn(w);
  ui.out(`${r.data.samples} ${r.data.synthetic ? 'synthetic samples' : `samples from ${r.data.source}`}, runtime ${r.runtime}`);
  ui.out(
    renderTable(
      ['output', 'task', 'compressed vs original', 'vs truth (original → compressed)', 'MSE', 'max abs error', 'cosine'],
      r.outputs.map((o) => [o.name, o.task.kind, agreementText(o), truthText(o), o.mse.toExponential(3), o.maxAbsError.toExponential(3), o.cosine.toFixed(5)]),
      ['l', 'l', 'l', 'l', 'r', 'r', 'r'],
    ),
  );
  for (const o of r.outputs) ui.out(`${o.name}: ${o.task.kind} — ${o.task.reason}`);
  const c = r.compressed;
  ui.out(
    `size: ${formatBytes(r.original.bytes)} → ${formatBytes(c.bytes)} (${ratio(r.original.bytes / c.bytes, 'smaller', 'larger')}); ` +
      `${c.tiledLayers} tiled layers, ${c.bitsPerTiledWeight === null ? '-' : c.bitsPerTiledWeight.toFixed(3)} bits per tiled weight, ` +
      `${c.bitsPerWeight === null ? '-' : c.bitsPerWeight.toFixed(3)} bits per weight overall`,
  );
  const l = r.latency;
  ui.out(
    `latency (batch ${l.batchSize}, median of ${l.runs} interleaved runs): original ${l.originalMs.toFixed(3)} ms, compressed ${l.compressedMs.toFixed(3)} ms ` +
      `(${ratio(l.speedup, 'faster', 'slower')})` +
      (l.functionFormMs === undefined ? '' : `; as its ONNX functions (stock onnxruntime, no ai.tbn library) ${l.functionFormMs.toFixed(3)} ms (${ratio(l.originalMs / l.functionFormMs, 'faster', 'slower')})`),
  );
  for (const t of r.thresholds) ui.out(`${t.passed ? 'pass' : 'FAIL'}: ${t.flag} ${t.limit} (${t.output}: ${describe(t)})`);
}

export const verifyCommand = defineCommand({
  command: 'verify <original> <compressed>',
  describe: 'Compare a compressed model with its original: agreement, accuracy, size, latency',
  positionals: POSITIONALS,
  options: VERIFY_OPTIONS,
  run: runVerify,
});
