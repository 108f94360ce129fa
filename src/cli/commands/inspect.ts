// tbn inspect <model>: the compressible layers and the sizes they would take at each p.

import { UsageError } from '../../errors.js';
import { INSPECT_OPTIONS } from '../../pipeline/inspect-options.js';
import type { InspectReport } from '../../pipeline/inspect.js';
import { formatBytes } from '../../tbn/sizes.js';
import { defineCommand, withProgress, type CommandArgs, type Ctx } from '../command.js';
import { renderTable, type Ui } from '../ui.js';

const POSITIONALS = { model: { type: 'string', demandOption: true, describe: 'ONNX model file' } } as const;

export type InspectArgs = CommandArgs<typeof POSITIONALS, typeof INSPECT_OPTIONS>;

export async function runInspect(args: InspectArgs, ctx: Ctx): Promise<number> {
  const { inspectWithSensitivity } = await import('../../pipeline/inspect.js');
  const { sensitivityProgress } = await import('../../tbn/sensitivity.js');
  if (args.sensitivity && !args.data) throw new UsageError('--sensitivity needs --data');
  const report = await withProgress(ctx.ui, 'inspecting', (progress) =>
    inspectWithSensitivity(args.model, {
      minParams: args.minParams,
      sensitivity: args.sensitivity ? { ...args, data: args.data!, onLayer: (d, t, n) => progress.update(sensitivityProgress(d, t, n)) } : undefined,
    }),
  );
  if (ctx.ui.json) ctx.ui.out(JSON.stringify(report, null, 2));
  else {
    printInspect(report, ctx.ui);
    printSensitivity(report, ctx.ui);
  }
  return 0;
}

const pct = (x: number | null) => (x === null ? '-' : x.toFixed(3));

export function printInspect(r: InspectReport, ui: Ui): void {
  const opsets = r.opsets.map((o) => `${o.domain} ${o.version ?? '?'}`).join(', ');
  ui.out(`${r.file}: IR ${r.irVersion ?? '?'}, opset ${opsets}${r.producer ? `, from ${r.producer}` : ''}`);
  const io = (v: InspectReport['inputs'][number]) => `${v.name} ${v.dtype}[${v.shape.join(',')}]`;
  ui.out(`inputs: ${r.inputs.map(io).join('; ')}\noutputs: ${r.outputs.map(io).join('; ')}`);
  ui.out(`ops: ${Object.entries(r.ops).map(([k, v]) => `${k}×${v}`).join(' ')}\n`);
  if (!r.layers.length) {
    ui.out('no compressible layers (Gemm, MatMul or Conv with a constant weight)');
  } else {
    const rows = r.layers.map((l) => [
      l.node,
      l.op,
      l.weight + (l.weightSource !== 'initializer' ? ` (${l.weightSource})` : ''),
      l.shape.join('×'),
      l.params,
      l.candidates.filter((c) => c.divides).map((c) => (c.dividesOut ? `${c.p}*` : `${c.p}`)).join(' ') || '-',
      formatBytes(l.fp32Bytes),
      ...[2, 4, 8, 16].map((p) => {
        const c = l.candidates.find((x) => x.p === p)!;
        return c.bytes === null ? '-' : formatBytes(c.bytes);
      }),
      l.blocked ? `not tileable: ${l.blocked}` : l.underThreshold ? `< λ` : '',
    ]);
    ui.out(
      renderTable(
        ['node', 'op', 'weight', 'shape', 'params', 'p (* divides out)', 'fp32', 'p=2', 'p=4', 'p=8', 'p=16', ''],
        rows,
        ['l', 'l', 'l', 'l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
    );
  }
  const t = r.totals;
  ui.out(r.lambda.reason);
  if (r.opsetUpgrade) ui.out(describeOpsetUpgrade(r.opsetUpgrade));
  ui.out(
    `model: ${t.params.toLocaleString('en-US')} parameters, ${formatBytes(t.weightBytes)} of weights, file ${formatBytes(r.fileBytes + r.externalBytes)}; ` +
      `${formatBytes(t.restBytes)} is not tileable at λ = ${r.minParams.toLocaleString('en-US')}` +
      (t.restFloat16Saving > 0 ? ` (compress --rest-dtype float16 would store it in about ${formatBytes(t.restBytes - t.restFloat16Saving)})` : '') +
      '\n',
  );
  ui.out(
    renderTable(
      ['p', 'tiled layers', 'tiled params', 'est. file size', 'bits/tiled weight', 'bits/weight (all)'],
      t.perP.map((e) => [e.p, e.tiledLayers, e.tiledParams, formatBytes(e.estimatedFileBytes), pct(e.bitsPerTiledWeight), pct(e.bitsPerWeight)]),
      ['r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
}

function describeOpsetUpgrade(u: NonNullable<InspectReport['opsetUpgrade']>): string {
  const head = `opset ${u.from}: the custom format's ONNX functions need opset ${u.to}`;
  if (u.problem) return `${head}, and tbn compress cannot convert the model: ${u.problem} (--format expanded needs no conversion)`;
  const steps = u.converted.map((s) => `${s.op} ×${s.nodes}`).join(', ');
  return `${head}; tbn compress converts the model first (${steps || 'no node needs rewriting'}) and checks it in onnxruntime`;
}

function printSensitivity(r: InspectReport, ui: Ui): void {
  if (!r.sensitivity) return;
  const ps = [...new Set(r.sensitivity.flatMap((l) => l.entries.map((e) => e.p)))].sort((a, b) => a - b);
  const measure = r.sensitivity.some((l) => l.entries.some((e) => e.accuracyDrop !== null)) ? 'accuracy drop (points)' : 'loss increase';
  ui.out(`\nsensitivity: ${measure} when only that layer is tiled (after a short local reconstruction); loss in parentheses`);
  ui.out(
    renderTable(
      ['layer', 'params', ...ps.map((p) => (p === 0 ? 'fp32' : p === 1 ? 'p=1 (binary)' : `p=${p}`))],
      r.sensitivity.map((l) => [
        l.node,
        l.params,
        ...ps.map((p) => {
          const e = l.entries.find((x) => x.p === p);
          if (!e) return '-';
          return e.accuracyDrop !== null ? `${e.accuracyDrop.toFixed(1)} (${e.loss.toFixed(3)})` : e.loss.toFixed(4);
        }),
      ]),
      ['l', 'r', ...ps.map(() => 'r' as const)],
    ),
  );
}

export const inspectCommand = defineCommand({
  command: 'inspect <model>',
  describe: 'List the layers TBN can compress and the sizes they would take',
  positionals: POSITIONALS,
  options: INSPECT_OPTIONS,
  run: runInspect,
});
