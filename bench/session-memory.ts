// Child process of `npm run bench -- models`: the resident memory one onnxruntime session (with
// the ai.tbn library registered) adds once it has loaded a model and run it once.
//   tsx bench/session-memory.ts <model.onnx> '<feeds json: [{name, dtype, dims}]>'
// prints {"rss": bytes added}. onnxruntime's own start-up (environment, thread pool, allocators)
// is paid first on a one-node model, so the difference is the session's.
import { graph, model, node, valueInfo } from '../src/ir/build.js';
import { encodeModel } from '../src/onnx/proto.js';
import { writeModel } from '../src/onnx/write.js';
import { createCustomOpSession } from '../src/runtime/custom-ops.js';
import type { HostTensor } from '../src/util/host-tensor.js';

const [file, spec] = process.argv.slice(2) as [string, string];
const inputs = JSON.parse(spec) as { name: string; dtype: string; dims: number[] }[];
const feeds: Record<string, HostTensor> = Object.fromEntries(
  inputs.map((i) => {
    const n = i.dims.reduce((a, b) => a * b, 1);
    return [i.name, i.dtype === 'int64' ? { dtype: 'int64' as const, dims: i.dims, data: new BigInt64Array(n) } : { dtype: 'float32' as const, dims: i.dims, data: new Float32Array(n).fill(0.1) }];
  }),
);
const tiny = encodeModel(writeModel(model(graph({ nodes: [node('Relu', ['a'], ['b'])], inputs: [valueInfo('a', 'float32', [4])], outputs: [valueInfo('b', 'float32', [4])] }))));
const warm = await createCustomOpSession(tiny, { threads: 1 });
await warm.run({ a: { dtype: 'float32', dims: [4], data: new Float32Array(4) } });
const before = process.memoryUsage().rss;
const s = await createCustomOpSession(file, { threads: 1 });
await s.run(feeds);
const after = process.memoryUsage().rss;
process.stdout.write(JSON.stringify({ rss: after - before }) + '\n');
await s.release();
await warm.release();
