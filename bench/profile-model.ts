// tsx bench/profile-model.ts <model label> [p=4] [batch=1] [threads=1] [--raw]: where one whole
// model's time goes, per node, in onnxruntime fp32 against the compressed model with the ai.tbn
// kernels (compressed as bench/models.bench.ts does; --raw: epilogues not folded). Uses
// onnxruntime's own profiler (kernel time of every node of the graph as optimized, reorders and
// fused ops included) and prints the nodes by total time, then the op types. A diagnosis tool
// for the models bench, not a benchmark: the profiler's own overhead is in every number.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCustomOpSession } from '../src/runtime/custom-ops.js';
import { Rng } from '../src/util/random.js';
import { compressForBench, feedsFor, MODELS, modelBytes } from './models.bench.js';
import { median } from './timers.js';

interface Event {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; provider?: string };
}

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const [label, p = '4', batch = '1', threads = '1'] = args;
const spec = MODELS.find((m) => m.label === label);
if (!spec) {
  process.stderr.write(`unknown model '${label}'; one of: ${MODELS.map((m) => m.label).join(', ')}\n`);
  process.exit(2);
}
const m = spec.source();
const fold = !process.argv.includes('--raw');
const tbn = await compressForBench(m, Number(p), spec.minParams, fold);
const feeds = feedsFor(m, Number(batch), new Rng(5));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tbn-profile-'));

type NodeTimes = Map<string, { op: string; us: number[] }>;

async function profile(name: string, bytes: Uint8Array): Promise<NodeTimes> {
  const s = await createCustomOpSession(bytes, { threads: Number(threads), profile: path.join(dir, name), optimizedModel: path.join(dir, `${name}.optimized.onnx`) });
  const runs = Math.max(5, Math.min(200, Math.round(0.3 / Math.max(1e-6, Math.min(...s.benchmark(feeds, 3))))));
  s.benchmark(feeds, runs);
  const file = s.endProfiling();
  await s.release();
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as Event[];
  const nodes: NodeTimes = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const key = e.name.slice(0, -'_kernel_time'.length);
    const n = nodes.get(key) ?? { op: e.args?.op_name ?? '?', us: [] };
    n.us.push(e.dur);
    nodes.set(key, n);
  }
  return nodes;
}

function report(title: string, nodes: NodeTimes) {
  // the median run of each node: a shared machine disturbs some runs
  const per = [...nodes].map(([k, v]) => ({ node: k, op: v.op, us: median(v.us) })).sort((a, b) => b.us - a.us);
  const total = per.reduce((a, x) => a + x.us, 0);
  const byOp = new Map<string, number>();
  for (const x of per) byOp.set(x.op, (byOp.get(x.op) ?? 0) + x.us);
  process.stdout.write(`\n## ${title}: ${(total / 1e3).toFixed(3)} ms in kernels per run (sum of the nodes' medians)\n`);
  for (const x of per) process.stdout.write(`${x.us.toFixed(1).padStart(10)} µs  ${((100 * x.us) / total).toFixed(1).padStart(5)} %  ${x.op.padEnd(22)} ${x.node}\n`);
  process.stdout.write('by op type:\n');
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1])) process.stdout.write(`${us.toFixed(1).padStart(10)} µs  ${op}\n`);
}

report(`${label} onnxruntime fp32, batch ${batch}, ${threads} thread(s)`, await profile('fp32', modelBytes(m)));
report(`${label} ai.tbn p=${p}${fold ? '' : ' (not folded)'}, batch ${batch}, ${threads} thread(s)`, await profile('tbn', tbn.bytes));
process.stdout.write(`\noptimized graphs and traces in ${dir}\n`);
