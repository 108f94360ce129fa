// tbn verify <original> <compressed>: same answers? how small, how fast? Exit 3 when a
// threshold the user set fails.

import type { CommandModule } from 'yargs';
import { ThresholdError } from '../../errors.js';
import type { VerifyReport } from '../../pipeline/verify.js';
import { formatBytes } from '../../tbn/sizes.js';
import { DATA_FLAG_HELP, withJson, withMediaData, type CommonArgs, type Ctx, type MediaDataArgs } from '../options.js';
import { renderTable, type Ui } from '../ui.js';

export interface VerifyArgs extends CommonArgs, MediaDataArgs {
  original: string;
  compressed: string;
  data?: string;
  labelKey: string;
  inputShape?: string[];
  runtime: 'ort' | 'custom-ops';
  batchSize: number;
  samples?: number;
  threads: number;
  latencyRuns: number;
  maxDrop?: number;
  minAgreement?: number;
  maxMse?: number;
}

export async function runVerify(args: VerifyArgs, ctx: Ctx): Promise<VerifyReport> {
  const { verifyModels } = await import('../../pipeline/verify.js');
  const spinner = ctx.ui.progress('verifying');
  const started = Date.now();
  let report: VerifyReport;
  try {
    report = await verifyModels({
      original: args.original,
      compressed: args.compressed,
      data: args.data,
      labelKey: args.labelKey,
      preprocess: args.preprocess,
      labels: args.labels,
      inputShape: args.inputShape,
      runtime: args.runtime,
      batchSize: args.batchSize,
      samples: args.samples,
      threads: args.threads,
      latencyRuns: args.latencyRuns,
      maxDrop: args.maxDrop,
      minAgreement: args.minAgreement,
      maxMse: args.maxMse,
      onProgress: (done, total, phase) => {
        if (phase === 'latency') return spinner.update('measuring latency');
        const eta = done ? ((Date.now() - started) / done) * (total - done) / 1000 : 0;
        spinner.update(`comparing ${done}/${total} samples, ETA ${eta.toFixed(0)} s`);
      },
    });
  } catch (e) {
    spinner.fail();
    throw e;
  }
  spinner.stop();
  if (ctx.ui.json) ctx.ui.out(JSON.stringify(report, null, 2));
  else printVerify(report, ctx.ui);
  const failed = report.thresholds.filter((t) => !t.passed);
  if (failed.length) {
    const what = failed.map((t) => `${t.flag} ${t.limit}: ${t.output} ${describe(t)}`);
    throw new ThresholdError(`verification failed: ${what.join('; ')}`);
  }
  return report;
}

function describe(t: VerifyReport['thresholds'][number]): string {
  if (t.flag === '--max-drop') return `accuracy dropped ${t.value.toFixed(2)} points`;
  if (t.flag === '--min-agreement') return `top-1 agreement is ${t.value.toFixed(4)}`;
  return `MSE is ${t.value.toExponential(3)}`;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const ratio = (x: number, more: string, less: string) =>
  Math.abs(x - 1) < 0.005 ? `the same` : x >= 1 ? `${x.toFixed(2)}× ${more}` : `${(1 / x).toFixed(2)}× ${less}`;

export function printVerify(r: VerifyReport, ui: Ui): void {
  for (const w of r.warnings) ui.warn(w);
  ui.out(`${r.data.samples} ${r.data.synthetic ? 'synthetic samples' : `samples from ${r.data.source}`}, runtime ${r.runtime}`);
  ui.out(
    renderTable(
      ['output', 'top-1 agreement', 'accuracy original', 'accuracy compressed', 'MSE', 'max abs error', 'cosine'],
      r.outputs.map((o) => [
        o.name,
        o.top1Agreement === null ? '-' : pct(o.top1Agreement),
        o.accuracy ? pct(o.accuracy.original) : '-',
        o.accuracy ? pct(o.accuracy.compressed) : '-',
        o.mse.toExponential(3),
        o.maxAbsError.toExponential(3),
        o.cosine.toFixed(5),
      ]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  const c = r.compressed;
  ui.out(
    `size: ${formatBytes(r.original.bytes)} → ${formatBytes(c.bytes)} (${ratio(r.original.bytes / c.bytes, 'smaller', 'larger')}); ` +
      `${c.tiledLayers} tiled layers, ${c.bitsPerTiledWeight === null ? '-' : c.bitsPerTiledWeight.toFixed(3)} bits per tiled weight, ` +
      `${c.bitsPerWeight === null ? '-' : c.bitsPerWeight.toFixed(3)} bits per weight overall`,
  );
  const l = r.latency;
  ui.out(
    `latency (batch ${l.batchSize}, median of ${l.runs}): original ${l.originalMs.toFixed(3)} ms, compressed ${l.compressedMs.toFixed(3)} ms ` +
      `(${ratio(l.speedup, 'faster', 'slower')})`,
  );
  for (const t of r.thresholds) ui.out(`${t.passed ? 'pass' : 'FAIL'}: ${t.flag} ${t.limit} (${t.output}: ${describe(t)})`);
}

export const verifyCommand: CommandModule<object, VerifyArgs> = {
  command: 'verify <original> <compressed>',
  describe: 'Compare a compressed model with its original: agreement, accuracy, size, latency',
  builder: (y) =>
    withMediaData(withJson(y))
      .positional('original', { type: 'string', demandOption: true, describe: 'The original ONNX model' })
      .positional('compressed', { type: 'string', demandOption: true, describe: 'The compressed ONNX model' })
      .option('data', { type: 'string', describe: `Test data: ${DATA_FLAG_HELP}` })
      .option('label-key', { type: 'string', default: 'label', describe: 'Key of the integer class labels in --data' })
      .option('input-shape', { type: 'string', array: true, describe: 'Shape for a dynamic input, name=d1,d2,… (repeatable)' })
      .option('runtime', { choices: ['ort', 'custom-ops'] as const, default: 'ort' as const, describe: 'How the compressed model runs: ort = stock onnxruntime (its ONNX functions); custom-ops = with the ai.tbn kernel library' })
      .option('batch-size', { type: 'number', default: 64, describe: 'Samples per run' })
      .option('samples', { type: 'number', describe: 'Compare at most this many samples (default: all data, or 256 synthetic)' })
      .option('threads', { type: 'number', default: 0, describe: 'onnxruntime intra-op threads (0 = its default)' })
      .option('latency-runs', { type: 'number', default: 10, describe: 'Timed runs per model (after 3 warm-up runs)' })
      .option('max-drop', { type: 'number', describe: 'Fail (exit 3) if accuracy drops by more than this many points' })
      .option('min-agreement', { type: 'number', describe: 'Fail (exit 3) if top-1 agreement is below this fraction' })
      .option('max-mse', { type: 'number', describe: 'Fail (exit 3) if the MSE between the outputs is above this' }) as never,
  handler: async (args) => {
    const { runHandler } = await import('../main.js');
    await runHandler(args, runVerify);
  },
};
