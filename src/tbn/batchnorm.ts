// BatchNorm statistics re-estimated after tiling: a tiled layer's outputs no longer have the
// mean and variance the BatchNormalization that follows was trained for. Each BN node's
// running mean/var are replaced by the statistics of its input over calibration data, one
// node at a time in graph order (each re-estimate changes what the next one sees).
// onnxruntime computes the activations.

import type { Model } from '../ir/types.js';
import { encodeModelInline } from '../onnx/file.js';
import { createOrtSession } from '../runtime/ort.js';
import { evalBatches, type EvalSet } from '../verify/compare.js';
import { withOutputs } from './shapes.js';
import { isDefaultDomain } from '../ir/graph.js';

export interface BatchNormUpdate {
  node: string;
  channels: number;
  /** Mean |Δmean| / sqrt(old var): how far the statistics had moved. */
  shift: number;
}

export async function recalibrateBatchNorm(model: Model, set: EvalSet, onNode?: (done: number, total: number) => void): Promise<{ model: Model; updates: BatchNormUpdate[] }> {
  const bns = model.graph.nodes.filter((n) => isDefaultDomain(n.domain) && n.opType === 'BatchNormalization' && n.inputs.length >= 5);
  let current = model;
  const updates: BatchNormUpdate[] = [];
  for (const [k, bn] of bns.entries()) {
    const inits = new Map(current.graph.initializers.map((t) => [t.name, t]));
    const meanT = inits.get(bn.inputs[3]!);
    const varT = inits.get(bn.inputs[4]!);
    if (!meanT || !varT || meanT.dtype !== 'float32' || varT.dtype !== 'float32') continue;
    const x = bn.inputs[0]!;
    const session = await createOrtSession(encodeModelInline(withOutputs(current, [x])), { threads: 0 });
    let sum: Float64Array | undefined;
    let sq: Float64Array | undefined;
    let count = 0;
    try {
      for await (const batch of evalBatches({ ...set, model: current })) {
        const t = (await session.run(batch.feeds))[x]!;
        const c = t.dims[1]!;
        const inner = t.dims.slice(2).reduce((a, b) => a * b, 1);
        sum ??= new Float64Array(c);
        sq ??= new Float64Array(c);
        const d = t.data as Float32Array;
        for (let i = 0; i < t.dims[0]!; i++) {
          for (let ch = 0; ch < c; ch++) {
            const base = (i * c + ch) * inner;
            let s = 0;
            let s2 = 0;
            for (let j = 0; j < inner; j++) {
              const v = d[base + j]!;
              s += v;
              s2 += v * v;
            }
            sum[ch]! += s;
            sq[ch]! += s2;
          }
        }
        count += t.dims[0]! * inner;
      }
    } finally {
      await session.release();
    }
    if (!sum || !sq || !count || sum.length !== meanT.data.length) continue;
    const oldMean = meanT.data as Float32Array;
    const oldVar = varT.data as Float32Array;
    const mean = Float32Array.from(sum, (v) => v / count);
    const variance = Float32Array.from(sq, (v, c) => Math.max(0, v / count - mean[c]! ** 2));
    let shift = 0;
    for (let c = 0; c < mean.length; c++) shift += Math.abs(mean[c]! - oldMean[c]!) / Math.sqrt(oldVar[c]! + 1e-5);
    updates.push({ node: bn.name ?? x, channels: mean.length, shift: shift / mean.length });
    current = {
      ...current,
      graph: {
        ...current.graph,
        initializers: current.graph.initializers.map((t) =>
          t === meanT ? { ...t, data: mean, encoding: 'raw' as const } : t === varT ? { ...t, data: variance, encoding: 'raw' as const } : t,
        ),
      },
    };
    onNode?.(k + 1, bns.length);
  }
  return { model: current, updates };
}
