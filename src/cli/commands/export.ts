// tbn export <model> --target mcu: C99 for microcontrollers, checked against onnxruntime on
// the host (and with --qemu on an emulated Cortex-M4). Prints where the files went, the
// layers and kernels, flash and RAM, and the checks; exit 1 when a check fails.

import { EXPORT_OPTIONS } from '../../pipeline/export-options.js';
import type { ExportReport } from '../../pipeline/export.js';
import { formatBytes } from '../../tbn/sizes.js';
import { defineCommand, withProgress, type CommandArgs, type Ctx } from '../command.js';
import { renderTable, type Ui } from '../ui.js';

const POSITIONALS = { model: { type: 'string', demandOption: true, describe: 'ONNX model (compressed with ai.tbn ops, or plain fp32)' } } as const;

export type ExportArgs = CommandArgs<typeof POSITIONALS, typeof EXPORT_OPTIONS>;

function commandLine(a: ExportArgs): string {
  const parts = ['tbn export', a.model, '--target', a.target];
  if (a.out) parts.push('--out', a.out);
  if (a.name) parts.push('--name', a.name);
  if (a.data) parts.push('--data', a.data);
  for (const p of a.preprocess ?? []) parts.push('--preprocess', `'${p}'`);
  if (a.samples !== 10) parts.push('--samples', String(a.samples));
  for (const s of a.inputShape ?? []) parts.push('--input-shape', s);
  return parts.join(' ');
}

export async function runExport(args: ExportArgs, ctx: Ctx): Promise<number> {
  const { exportModel, ExportCheckFailed } = await import('../../pipeline/export.js');
  const report = await withProgress(ctx.ui, 'exporting', (progress) => exportModel({ ...args, command: commandLine(args), onProgress: (m) => progress.update(m) }));
  if (ctx.ui.json) ctx.ui.out(JSON.stringify(report, null, 2));
  else printExport(report, ctx.ui);
  for (const w of report.warnings) ctx.ui.warn(w);
  if (!report.ok) {
    const why = report.host.status === 'fail' ? `host check: ${report.host.reason}` : `Cortex-M4 check: ${report.m4?.reason}`;
    throw new ExportCheckFailed(`${report.out}: the exported C does not match onnxruntime (${why})`);
  }
  return 0;
}

const errText = (c: ExportReport['host']) =>
  (c.outputs ?? []).map((o) => `max |err| ${o.maxAbsErr.toExponential(2)} (scale ${o.scale.toPrecision(4)})`).join(', ');

function checkLine(what: string, c: ExportReport['host']): string {
  if (c.status === 'skipped') return `${what}: skipped (${c.reason})`;
  const labels = c.hasLabels ? `, label accuracy ${c.labelCorrect}/${c.samples}` : '';
  const head = `${what}: ${c.status === 'pass' ? 'PASS' : 'FAIL'} on ${c.samples ?? 0} samples`;
  if (c.samples === undefined || Number.isNaN(c.samples)) return `${head} — ${c.reason}`;
  return `${head}, ${errText(c)}, top-1 agreement ${c.top1Agree}/${c.samples}${labels}${c.status === 'fail' ? ` — ${c.reason}` : ''}`;
}

export function printExport(r: ExportReport, ui: Ui): void {
  ui.out(`wrote ${r.out}/ (${r.files.length} files): ${r.files.map((f) => f.file).join(' ')}`);
  ui.out(`API: ${r.name}_run(); see ${r.out}/${r.name}.h\n`);
  ui.out(
    renderTable(
      ['#', 'node', 'op', 'fused', 'kernel', 'flash'],
      r.layers.map((l, i) => [i + 1, l.node, l.op, l.fused.join(' + ') || '-', l.kernel || '(view)', formatBytes(l.flashBytes)]),
      ['r', 'l', 'l', 'l', 'l', 'r'],
    ),
  );
  const f = r.flash;
  ui.out(`flash, constant data: ${formatBytes(f.constBytes)} (tile bits ${formatBytes(f.tileBytes)}, scales ${formatBytes(f.scaleBytes)}, fp32 weights and parameters ${formatBytes(f.weightBytes)})`);
  ui.out(`RAM: arena ${formatBytes(r.ram.arenaBytes)} in ${r.ram.buffers} buffers (planned from tensor lifetimes; largest live set ${formatBytes(r.ram.arenaLowerBound)}), inputs + outputs ${formatBytes(r.ram.ioBytes)}`);
  ui.out(`reference: ${r.reference.source}; tolerance max |err| <= ${r.tolerance} × output scale`);
  ui.out(checkLine('host check', r.host));
  if (r.m4) {
    ui.out(checkLine('Cortex-M4 (QEMU mps2-an386)', r.m4));
    if (r.m4.app) {
      const a = r.m4.app;
      ui.out(`  deployment image: flash ${formatBytes(a.flash)} (.text ${formatBytes(a.text)}, .rodata ${formatBytes(a.rodata)}), RAM ${formatBytes(a.ram)} (.data + .bss ${formatBytes(a.data + a.bss)}, stack ${formatBytes(a.stack)})`);
    }
    if (r.m4.instructionsPerInference) ui.out(`  ${Math.round(r.m4.instructionsPerInference).toLocaleString('en-US')} instructions per inference (QEMU -icount), stack used ${r.m4.stackUsed} B`);
    if (r.m4.fit) ui.out(`  fits a ${formatBytes(r.m4.fit.flashBytes)} flash / ${formatBytes(r.m4.fit.ramBytes)} RAM part: ${r.m4.fit.ok ? 'yes (linked)' : `no (${r.m4.fit.reason})`}`);
  }
}

export const exportCommand = defineCommand({
  command: 'export <model>',
  describe: 'Export a (compressed) model as C99 for microcontrollers, with a test harness',
  positionals: POSITIONALS,
  options: EXPORT_OPTIONS,
  run: runExport,
});
