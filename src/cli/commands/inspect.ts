// tbn inspect <model>: the compressible layers and the sizes they would take at each p.

import type { CommandModule } from 'yargs';
import type { InspectReport } from '../../pipeline/inspect.js';
import { formatBytes } from '../../tbn/sizes.js';
import { renderTable, type Ui } from '../ui.js';
import { withJson, type CommonArgs, type Ctx } from '../options.js';

export interface InspectArgs extends CommonArgs {
  model: string;
  minParams: number;
}

export async function runInspect(args: InspectArgs, ctx: Ctx): Promise<InspectReport> {
  const { inspectModel } = await import('../../pipeline/inspect.js');
  const report = inspectModel(args.model, { minParams: args.minParams });
  if (ctx.ui.json) ctx.ui.out(JSON.stringify(report, null, 2));
  else printInspect(report, ctx.ui);
  return report;
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
      l.underThreshold ? `< λ` : '',
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
  ui.out(
    `model: ${t.params.toLocaleString('en-US')} parameters, ${formatBytes(t.weightBytes)} of weights, file ${formatBytes(r.fileBytes + r.externalBytes)}; ` +
      `${formatBytes(t.restBytes)} is not tileable at λ = ${r.minParams.toLocaleString('en-US')}\n`,
  );
  ui.out(
    renderTable(
      ['p', 'tiled layers', 'tiled params', 'est. file size', 'bits/tiled weight', 'bits/weight (all)'],
      t.perP.map((e) => [e.p, e.tiledLayers, e.tiledParams, formatBytes(e.estimatedFileBytes), pct(e.bitsPerTiledWeight), pct(e.bitsPerWeight)]),
      ['r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <model>',
  describe: 'List the layers TBN can compress and the sizes they would take',
  builder: (y) =>
    withJson(y)
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('min-params', { type: 'number', default: 64000, describe: 'λ: layers with fewer parameters are not tiled' }) as never,
  handler: async (args) => {
    const { runHandler } = await import('../main.js');
    await runHandler(args, runInspect);
  },
};
