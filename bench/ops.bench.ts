// npm run bench -- ops: onnxruntime's own fp32 Gemm/Conv against the ai.tbn kernels (p = 1, 2,
// 4, 8, 16, tile regions along the outputs) and the function form, on one-node models of common
// layer shapes, with 1 thread and all threads. fp32 and tbn are timed by the same native loop
// (the custom-op host; no JavaScript per run); onnxruntime-node's time for the fp32 model and the
// function form are shown too. Each variant keeps the best median of 2 interleaved rounds. Speed-up = fp32 time / time; weight bytes = what a run reads for W
// (fp32: 4 per weight; tbn: the ⌈q/8⌉-byte tile + p scales). TBN_BENCH_ONLY=<regex> filters rows.
import os from 'node:os';
import { attr, floatTensor, graph, model, node, tensor, valueInfo } from '../src/ir/build.js';
import type { Model } from '../src/ir/types.js';
import { encodeModel } from '../src/onnx/proto.js';
import { writeModel } from '../src/onnx/write.js';
import { customOpsStatus } from '../src/runtime/custom-ops.js';
import { createOrtSession } from '../src/runtime/ort.js';
import { TBN_DOMAIN, TBN_OPSET_VERSION } from '../src/tbn/format.js';
import { tbnFunction } from '../src/tbn/functions.js';
import type { HostTensor } from '../src/util/host-tensor.js';
import { Rng } from '../src/util/random.js';
import type { BenchSection } from './run.js';
import { measure, median, nativeTimer, type Timer } from './timers.js';

interface Layer {
  name: string;
  op: 'Gemm' | 'Conv';
  w: number[];
  x: number[];
  attrs: ReturnType<typeof attr.int>[];
}

const gemm = (out: number, inp: number, batch: number, from = ''): Layer => ({ name: `Gemm ${out}×${inp}${from}`, op: 'Gemm', w: [out, inp], x: [batch, inp], attrs: [attr.int('transB', 1)] });
const conv = (cin: number, cout: number, hw: number, batch = 1, from = ''): Layer => ({
  name: `Conv3×3 ${cin}→${cout} ${hw}×${hw}${batch > 1 ? ` b${batch}` : ''}${from}`,
  op: 'Conv',
  w: [cout, cin, 3, 3],
  x: [batch, cin, hw, hw],
  attrs: [attr.ints('pads', [1, 1, 1, 1])],
});
const LAYERS: Layer[] = [
  ...[768, 3072, 4096, 11008].flatMap((out) => [1, 32].map((b) => gemm(out, out === 768 || out === 3072 ? 768 : 4096, b))),
  conv(64, 64, 56),
  conv(256, 256, 14),
  // The fixtures' tiled layers at tbn verify's batch of 64.
  gemm(256, 784, 64, ' (MLP fc1)'),
  gemm(128, 1152, 64, ' (CNN head.1)'),
  conv(64, 128, 7, 64, ' (CNN conv3)'),
];
const PS = [1, 2, 4, 8, 16];
const numel = (d: number[]) => d.reduce((a, b) => a * b, 1);
const bytes = (m: Model) => encodeModel(writeModel(m));

function fp32Model(l: Layer, rng: Rng): Model {
  const w = new Float32Array(numel(l.w)).map(() => rng.normal() * 0.05);
  const out = l.w[0]!;
  return model(graph({ nodes: [node(l.op, ['x', 'w', 'b'], ['y'], l.attrs)], inputs: [valueInfo('x', 'float32', l.x)], outputs: [valueInfo('y', 'float32')], initializers: [floatTensor('w', l.w, w), floatTensor('b', [out], new Float32Array(out))] }), { opset: 17 });
}

/** The compressed layer at p: random tile bits and scales, the fused op, its ONNX function. */
function tbnModel(l: Layer, p: number, rng: Rng): Model {
  const q = numel(l.w) / p;
  const bits = new Uint8Array(Math.ceil(q / 8)).map(() => rng.int(256));
  const scales = new Float32Array(p).map(() => 0.02 + 0.03 * rng.next());
  const op = l.op === 'Gemm' ? 'TbnGemm' : 'TbnConv';
  const tileAttrs = [attr.ints('weight_shape', l.w), attr.int('p', p), attr.int('tile_axis', 0)];
  const out = l.w[0]!;
  const g = graph({
    nodes: [node(op, ['x', 'bits', 'scales', 'b'], ['y'], [...tileAttrs, ...l.attrs], { domain: TBN_DOMAIN })],
    inputs: [valueInfo('x', 'float32', l.x)],
    outputs: [valueInfo('y', 'float32')],
    initializers: [tensor('bits', 'uint8', [bits.length], bits), floatTensor('scales', [p], scales), floatTensor('b', [out], new Float32Array(out))],
  });
  return { ...model(g, { opset: 17, extraOpsets: [{ domain: TBN_DOMAIN, version: TBN_OPSET_VERSION }] }), functions: [tbnFunction(op, 17)] };
}

/** The same through onnxruntime-node (a JavaScript call per run). */
async function nodeTimer(m: Uint8Array, feeds: Record<string, HostTensor>, threads: number): Promise<Timer> {
  const s = await createOrtSession(m, { threads });
  for (let i = 0; i < 3; i++) await s.run(feeds);
  return {
    cpu: Infinity,
    async time() {
      const times: number[] = [];
      const start = performance.now();
      while (times.length < 5 || (performance.now() - start < 200 && times.length < 2000)) {
        const t0 = performance.now();
        await s.run(feeds);
        times.push((performance.now() - t0) / 1000);
      }
      return median(times);
    },
    release: () => s.release(),
  };
}

const us = (s: number) => Number((s * 1e6).toFixed(s < 1e-4 ? 1 : 0));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

export default async function (): Promise<BenchSection[]> {
  const status = customOpsStatus();
  if (!status.available) return [{ title: 'ai.tbn kernels vs onnxruntime fp32', columns: ['note'], rows: [[status.reason]], data: { skipped: status.reason } }];
  const only = process.env.TBN_BENCH_ONLY ? new RegExp(process.env.TBN_BENCH_ONLY) : undefined;
  const all = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown>[] = [];
  const rng = new Rng(7);
  for (const l of LAYERS) {
    const label = l.op === 'Conv' ? l.name : `${l.name} b${l.x[0]}`;
    if (only && !only.test(label)) continue;
    const feeds = { x: { dtype: 'float32' as const, dims: l.x, data: new Float32Array(numel(l.x)).map(() => rng.normal()) } };
    const fp32 = bytes(fp32Model(l, rng));
    const tbn = new Map(PS.map((p) => [p, bytes(tbnModel(l, p, rng))]));
    for (const threads of [1, all]) {
      const variants: [string, Promise<Timer>, number][] = [
        ['onnxruntime fp32', nativeTimer(fp32, feeds, threads), numel(l.w) * 4],
        ['onnxruntime fp32 (onnxruntime-node)', nodeTimer(fp32, feeds, threads), numel(l.w) * 4],
        ...PS.map((p): [string, Promise<Timer>, number] => [`tbn p=${p}`, nativeTimer(tbn.get(p)!, feeds, threads), Math.ceil(numel(l.w) / p / 8) + 4 * p]),
        // onnxruntime folds the decode at load, so each run reads the fp32 weight it made.
        ['function form p=4 (onnxruntime-node)', nodeTimer(tbn.get(4)!, feeds, threads), numel(l.w) * 4],
      ];
      const timers: Timer[] = [];
      for (const [, t] of variants) timers.push(await t);
      const times = await measure(timers);
      const base = times[0]!;
      variants.forEach(([variant, , wbytes], i) => {
        const t = times[i]!;
        rows.push([label, threads, variant, us(t), ratio(base, t), wbytes]);
        data.push({ layer: l.name, batch: l.x[0], threads, variant, seconds: t, speedup: base / t, weightBytes: wbytes });
      });
    }
  }
  return [
    {
      title: 'ai.tbn kernels vs onnxruntime fp32',
      columns: ['layer', 'threads', 'variant', 'µs', 'speed-up', 'weight bytes'],
      rows,
      notes: [
        `onnxruntime ${status.version}, kernel path ${status.kernelPaths.at(-1)}, ${os.cpus()[0]?.model ?? 'cpu'}, ${all} threads max.`,
        'Speed-up is against onnxruntime fp32 timed in the same native loop (best median of 2 interleaved rounds); the function form is constant-folded to an fp32 layer by onnxruntime.',
      ],
      data,
    },
  ];
}
