// `tbn export --target mcu`: ONNX model (compressed with ai.tbn ops, or plain fp32) → C99 for
// microcontrollers plus a test harness, written atomically; then the harness is compiled and
// run on the host (unless --no-verify) and, with --qemu, on an emulated Cortex-M4. Everything
// that can refuse the model (unsupported ops, bad flags) happens before anything is written.
// Progress goes to the onProgress callback; this module prints nothing.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, UserError, withFile } from '../errors.js';
import { parseInputShapes } from '../data/synthetic.js';
import { loadModel } from '../onnx/file.js';
import { writeFilesAtomic } from '../util/atomic.js';
import { cIdent, cText } from '../mcu/c-text.js';
import { generateC, type LayerReport, type Provenance } from '../mcu/codegen.js';
import { fuseGraph } from '../mcu/fuse.js';
import { makefile, testData, testMain, TOLERANCE } from '../mcu/harness.js';
import { lowerModel } from '../mcu/lower.js';
import { appMain, linkerScript, M4_HEADER, M4_STARTUP, QEMU_MEMORY } from '../mcu/m4.js';
import { referenceSet } from '../mcu/reference.js';
import type { ImageSize } from '../mcu/toolchain.js';
import { hostCheck, m4Check, type CheckResult, type M4Result } from '../mcu/verify.js';
import { packageVersion } from '../util/package.js';
import { EXPORT_OPTIONS, type ExportSettings, type ExportTarget } from './export-options.js';
import { withDefaults } from './option-spec.js';
export type { ExportTarget };


/** What exportModel takes: the declared options of `tbn export` (export-options.ts) and what only a program passes. */
export type ExportOptions = { model: string; target: ExportTarget } & Partial<ExportSettings> & {
  /** The command line, for the provenance comments. */
  command?: string;
  onProgress?: (message: string) => void;
};

export interface ExportReport {
  model: string;
  sha256: string;
  target: ExportTarget;
  out: string;
  name: string;
  files: { file: string; bytes: number }[];
  layers: LayerReport[];
  flash: { constBytes: number; tileBytes: number; scaleBytes: number; weightBytes: number };
  ram: { arenaBytes: number; arenaLowerBound: number; buffers: number; ioBytes: number };
  reference: { source: string; samples: number };
  tolerance: number;
  host: CheckResult & { compiler?: string };
  m4: M4Result | null;
  ok: boolean;
  warnings: string[];
}

const SIZE = /^(\d+(?:\.\d+)?)([KkMm]?)$/;

function parseBytes(s: string, what: string): number {
  const m = SIZE.exec(s.trim());
  if (!m) throw new UsageError(`--fit ${what}: '${s}' is not a size (e.g. 256K, 1M)`);
  const unit = m[2]!.toUpperCase() === 'K' ? 1024 : m[2]!.toUpperCase() === 'M' ? 1 << 20 : 1;
  return Math.round(Number(m[1]) * unit);
}

export function parseFit(spec: string): { flashBytes: number; ramBytes: number } {
  const [flash, ram, extra] = spec.split(':');
  if (!flash || !ram || extra !== undefined) throw new UsageError(`--fit '${spec}': expected FLASH:RAM, e.g. 256K:64K`);
  return { flashBytes: parseBytes(flash, 'flash'), ramBytes: parseBytes(ram, 'RAM') };
}

/** The C name of a model file: mnist-cnn.tbn.onnx → mnist_cnn. */
export function defaultName(file: string): string {
  const base = path.basename(file).replace(/\.onnx$/i, '').replace(/\.tbn$/i, '');
  return cIdent(base).toLowerCase();
}

function checkOut(out: string, files: string[], force: boolean): void {
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw new UsageError(`--out ${out}: exists and is not a folder`);
    const clash = files.filter((f) => fs.existsSync(path.join(out, f)));
    if (clash.length && !force) throw new UsageError(`--out ${out}: ${clash[0]} exists; add --force to replace the export`);
  }
}

export async function exportModel(given: ExportOptions): Promise<ExportReport> {
  const opts = withDefaults(EXPORT_OPTIONS, given);
  const progress = opts.onProgress ?? (() => {});
  if (opts.target !== 'mcu') throw new UsageError(`--target ${opts.target}: only 'mcu' is supported`);
  const name = opts.name ?? defaultName(opts.model);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--name '${name}': must be a C identifier`);
  const out = opts.out ?? `${name}_c`;
  const samples = opts.samples;
  const fit = parseFit(opts.fit);
  const shapes = parseInputShapes(opts.inputShape);

  progress(`reading ${opts.model}`);
  const loaded = loadModel(opts.model);
  const bytes = fs.readFileSync(opts.model);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  progress('lowering the graph (shapes and constants from onnxruntime)');
  const graph = fuseGraph(await withFile(opts.model, () => lowerModel(loaded.model, { shapes })));
  const command = opts.command ?? `tbn export ${opts.model} --target mcu --out ${out}`;
  progress('generating C');
  const prov = { tbnVersion: packageVersion(), model: path.basename(opts.model), sha256, command, target: 'mcu (C99; checked on the host and on a Cortex-M4, QEMU mps2-an386)' };
  const gen = generateC(graph, name, prov);
  progress('computing reference outputs with onnxruntime');
  const ref = await withFile(opts.model, () => referenceSet(opts.model, loaded.model, graph.outputs, { data: opts.data, preprocess: opts.preprocess, labels: opts.labels, samples, shapes }));

  const support: Record<string, string> = {
    ...testData(name, ref, gen.inputs, gen.outputs),
    [`${name}_test.c`]: testMain(name, gen.inputs, gen.outputs, !!ref.labels),
    Makefile: makefile(name),
    'm4/tbn_m4.h': M4_HEADER,
    'm4/tbn_m4.c': M4_STARTUP,
    'm4/mps2_an386.ld': linkerScript(QEMU_MEMORY),
    'm4/app_main.c': appMain(name, gen.inputs, gen.outputs),
  };
  const files: Record<string, string> = { ...gen.files };
  for (const [f, text] of Object.entries(support)) files[f] = stamp(f, text, prov);
  checkOut(out, Object.keys(files), opts.force);
  progress(`writing ${out}`);
  fs.mkdirSync(path.join(out, 'm4'), { recursive: true });
  writeFilesAtomic(Object.entries(files).map(([f, text]) => ({ path: path.join(out, f), write: (a) => a.write(new TextEncoder().encode(text)) })));

  const warnings = [...ref.notes];
  if (!opts.data) warnings.push('no --data: the harness uses synthetic inputs, so top-1 agreement says little about accuracy');
  let host: ExportReport['host'] = { status: 'skipped', reason: '--no-verify' };
  if (opts.verify) {
    progress('compiling and running the host test');
    host = hostCheck(out, name);
    if (host.status === 'skipped') warnings.push(`host check skipped: ${host.reason}`);
  }
  let m4: M4Result | null = null;
  if (opts.qemu) {
    progress('cross-compiling for Cortex-M4 and running on QEMU');
    m4 = m4Check(out, name, { limit: opts.qemuSamples, budget: { ...fit, stackBytes: QEMU_MEMORY.stackBytes } });
    if (m4.status === 'skipped') warnings.push(`Cortex-M4 check skipped: ${m4.reason}`);
  }
  const ioBytes = [...gen.inputs, ...gen.outputs].reduce((a, io) => a + io.size * (io.ctype === 'int64_t' ? 8 : 4), 0);
  return {
    model: opts.model,
    sha256,
    target: 'mcu',
    out,
    name,
    files: Object.entries(files).map(([file, text]) => ({ file, bytes: Buffer.byteLength(text) })),
    layers: gen.layers,
    flash: { constBytes: gen.flash.total, tileBytes: gen.flash.tiles, scaleBytes: gen.flash.scales, weightBytes: gen.flash.weights },
    ram: { arenaBytes: gen.arena.bytes, arenaLowerBound: gen.arena.lowerBound, buffers: gen.arena.buffers.length, ioBytes },
    reference: { source: ref.source, samples: ref.samples },
    tolerance: TOLERANCE,
    host,
    m4,
    ok: host.status !== 'fail' && m4?.status !== 'fail',
    warnings,
  };
}

/** Provenance line for the harness, Makefile and Cortex-M4 support files (the model files carry a full block). */
function stamp(file: string, text: string, p: Provenance): string {
  const line = `Generated by tbn ${p.tbnVersion} from ${p.model} (sha256 ${p.sha256}) by: ${p.command}; target ${p.target}.`;
  if (file === 'Makefile') return `# ${line}\n${text}`;
  return `/* ${cText(line)} */\n${text}`;
}

/** Thrown by the CLI after printing a report whose checks failed. */
export class ExportCheckFailed extends UserError {}

export type { ImageSize };
