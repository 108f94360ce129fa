// One process of the production step bench (bench/engine.bench.ts runs it as a child, so its
// peak RSS is the engine's own): loads an ONNX model, builds the student as src/tbn/finetune.ts
// does (layers chosen by the default selection at p = 4, each weight produced by the TBN tile
// op from latent weights, the other float weights trainable; --p 0: none tiled), then times fine-tuning steps —
// forward, KL distillation (T = 2, over the last axis) against fixed teacher outputs, backward,
// Adam — on the native backend (or TBN_BACKEND=js) with the given thread count. Prints one
// JSON line: {"ms": [wall per step], "median_ms", "cpu_median_ms" (process CPU time per step, all
// threads), "forward_ms", "peak_rss_mb", "rss_mb": [after each step]}.
//
//   npx tsx bench/engine_step.ts --model /tmp/resnet18.onnx --batch 8 --threads 1 --steps 3

import { parseArgs } from 'node:util';
import { syntheticInputs } from '../src/data/synthetic.js';
import * as E from '../src/engine/index.js';
import { loadModel } from '../src/onnx/file.js';
import { buildStudent, DEFAULT_FINETUNE } from '../src/tbn/finetune.js';
import { selectLayers } from '../src/tbn/select.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    batch: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    p: { type: 'string', default: '4' },
  },
});
if (!values.model) throw new Error('--model is required');

const backend = process.env.TBN_BACKEND === 'js' ? E.createBackend('js') : E.nativeBackend().backend;
if (!backend) throw new Error(`native engine not built: ${E.nativeBackend().error}`);
if (backend instanceof E.NativeBackend) backend.threads = Number(values.threads);
E.setBackend(backend);

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const { model } = loadModel(values.model);
// --p 0: no layer tiled (every float weight trained densely, as the PyTorch side does).
const chosen = Number(values.p) > 0 ? selectLayers(model, { p: Number(values.p) }).chosen : [];
const student = buildStudent(model, chosen, DEFAULT_FINETUNE, new Set());
const params = [...[...student.latent.values()].map((l) => l.w), ...student.program.parameters().values()];
const optim = new E.Adam(params, { lr: 1e-4 });
const feeds = syntheticInputs(model, { batch: Number(values.batch), seed: 1 });
const out = student.program.outputNames[0]!;
const teacher = E.keep(E.noGrad(() => E.tidy(() => student.program.run(feeds).outputs[out]!)));

/** [wall ms, process CPU ms (all threads)] of one step. */
function step(): [number, number] {
  const t = performance.now();
  const c = process.cpuUsage();
  E.tidy(() => E.backward(E.klDistillLoss(student.program.run(feeds).outputs[out]!, teacher, 2, -1)));
  optim.step();
  optim.zeroGrad();
  const u = process.cpuUsage(c);
  return [performance.now() - t, (u.user + u.system) / 1000];
}

function forward(): number {
  const t = performance.now();
  E.noGrad(() => E.tidy(() => student.program.run(feeds).outputs[out]!.shape));
  return performance.now() - t;
}

for (let i = 0; i < Number(values.warmup); i++) step();
const ms: number[] = [];
const cpu: number[] = [];
const rss: number[] = [];
for (let i = 0; i < Number(values.steps); i++) {
  const [wall, c] = step();
  ms.push(wall);
  cpu.push(c);
  rss.push(process.memoryUsage.rss() / 2 ** 20);
}
const forwardMs = forward();
process.stdout.write(
  JSON.stringify({
    model: values.model,
    batch: Number(values.batch),
    threads: backend instanceof E.NativeBackend ? backend.threads : 1,
    tiled: chosen.length,
    ms,
    median_ms: median(ms),
    cpu_median_ms: median(cpu),
    forward_ms: forwardMs,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    rss_mb: rss,
  }) + '\n',
);
