// MCU export of the MNIST fixtures at p = 1 (plain fp32 C), 4 and 8 (compressed as `tbn
// compress` does, with the default fine-tune on mnist-calib.npz; TBN_BENCH_QUICK=1 skips the
// fine-tune; for the CNN also at λ = 10 000 so its 18k-parameter conv is tiled too): flash
// and RAM of the deployment image (arm-none-eabi-size), the planned arena, agreement with
// onnxruntime on the test data (host build), and the Cortex-M4 run on QEMU (instructions per
// inference from -icount). `npm run bench -- mcu`.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compressModel } from '../src/pipeline/compress.js';
import { exportModel, type ExportReport } from '../src/pipeline/export.js';
import { formatBytes } from '../src/tbn/sizes.js';
import type { BenchSection } from './run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOST_SAMPLES = 500;
const QEMU_SAMPLES = 5;

interface Config {
  fixture: string;
  p: number;
  minParams?: number;
}

const CONFIGS: Config[] = [
  { fixture: 'mnist-mlp', p: 1 },
  { fixture: 'mnist-mlp', p: 4 },
  { fixture: 'mnist-mlp', p: 8 },
  { fixture: 'mnist-cnn', p: 1 },
  { fixture: 'mnist-cnn', p: 4 },
  { fixture: 'mnist-cnn', p: 8 },
  { fixture: 'mnist-cnn', p: 4, minParams: 10_000 },
  { fixture: 'mnist-cnn', p: 8, minParams: 10_000 },
];

const quick = !!process.env.TBN_BENCH_QUICK;

/** The model file to export: the fixture itself at p = 1, else a compressed copy in `dir`. */
async function modelFor(c: Config, dir: string): Promise<{ file: string; tiled: number }> {
  const src = path.join(root, 'fixtures', 'models', `${c.fixture}.onnx`);
  if (c.p === 1) return { file: src, tiled: 0 };
  const file = path.join(dir, `${c.fixture}-p${c.p}-${c.minParams ?? 'default'}.tbn.onnx`);
  const report = await compressModel({ model: src, output: file, data: path.join(root, 'fixtures', 'data', 'mnist-calib.npz'), p: c.p, minParams: c.minParams, finetune: !quick, evalSamples: 1, seed: 0 });
  return { file, tiled: report.layers.length };
}

const kib = (n: number | undefined) => (n === undefined ? '-' : formatBytes(n));

export default async function mcuBench(): Promise<BenchSection[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-bench-mcu-'));
  const results: { config: Config; tiled: number; report: ExportReport }[] = [];
  try {
    for (const config of CONFIGS) {
      const { file, tiled } = await modelFor(config, dir);
      const report = await exportModel({
        model: file,
        target: 'mcu',
        out: path.join(dir, `${config.fixture}-p${config.p}-${config.minParams ?? 'default'}`),
        data: path.join(root, 'fixtures', 'data', 'mnist-test.npz'),
        samples: HOST_SAMPLES,
        qemu: true,
        qemuSamples: QEMU_SAMPLES,
      });
      results.push({ config, tiled, report });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const fp32Flash = new Map(results.filter((r) => r.config.p === 1).map((r) => [r.config.fixture, r.report.m4?.app?.flash]));
  const rows = results.map(({ config, tiled, report: r }) => {
    const app = r.m4?.app;
    const base = fp32Flash.get(config.fixture);
    const h = r.host;
    return [
      config.fixture,
      config.p,
      config.p === 1 ? '-' : config.minParams === undefined ? 'auto' : config.minParams.toLocaleString('en-US'),
      tiled,
      kib(r.flash.constBytes),
      kib(app?.flash),
      app && base ? `${(base / app.flash).toFixed(1)}×` : '-',
      kib(r.ram.arenaBytes),
      kib(app?.ram),
      h.outputs ? h.outputs[0]!.maxAbsErr.toExponential(1) : '-',
      h.samples ? `${h.top1Agree}/${h.samples}` : '-',
      h.samples ? `${((100 * h.labelCorrect!) / h.samples).toFixed(1)} %` : '-',
      r.m4 ? `${r.m4.status} (${r.m4.samples ?? 0})` : '-',
      r.m4?.instructionsPerInference ? Math.round(r.m4.instructionsPerInference).toLocaleString('en-US') : '-',
      r.m4?.fit ? (r.m4.fit.ok ? 'yes' : 'no') : '-',
    ];
  });
  return [
    {
      title: 'MCU export (tbn export --target mcu): MNIST fixtures',
      columns: ['model', 'p', 'λ', 'tiled', 'const data', 'image flash', 'vs fp32', 'arena', 'image RAM', 'max |err|', 'top-1 = ORT', 'accuracy', 'Cortex-M4', 'instr/inference', 'fits 256K/64K'],
      rows,
      notes: [
        `Host: ${HOST_SAMPLES} samples of fixtures/data/mnist-test.npz, C (cc -O2) vs onnxruntime; max |err| of the logits; accuracy = the C model against the labels (${quick ? 'tiles from the trained weights, no fine-tuning (TBN_BENCH_QUICK)' : 'models from tbn compress with the default fine-tune'}).`,
        `Image: the deployment image (model + kernels + startup, arm-none-eabi-gcc -O2, --gc-sections): flash = .text + .rodata + .data, RAM = .data + .bss (arena, input, output) + a 4 KiB stack; "fits" = linked against a 256 KiB / 64 KiB memory map.`,
        `Cortex-M4: QEMU mps2-an386, ${QEMU_SAMPLES} samples, instructions per inference from SysTick under -icount (calibrated on a loop of known length).`,
      ],
      data: results.map(({ config, tiled, report: r }) => ({
        ...config,
        tiled,
        flash: r.flash,
        ram: r.ram,
        host: r.host,
        m4: r.m4 && { status: r.m4.status, samples: r.m4.samples, outputs: r.m4.outputs, instructionsPerInference: r.m4.instructionsPerInference, stackUsed: r.m4.stackUsed, app: r.m4.app, testImage: r.m4.testImage, fit: r.m4.fit },
        layers: r.layers.map((l) => ({ node: l.node, op: l.op, kernel: l.kernel, flashBytes: l.flashBytes })),
      })),
    },
  ];
}
