// Intermediate-feature distillation: where the output alone is a weak signal (a CTC head, an
// embedding, a narrow output), the student also matches the teacher's activations at the end of
// each tiled layer's block (the layer, then its BatchNorm / bias / activation), each as an MSE
// normalised by the teacher's mean square. The teacher is onnxruntime on a copy of the fp32
// model built in memory with those values as extra graph outputs (the file on disk is never
// touched); the copy is the channel-permuted model the student was built from, so channels line
// up. `auto` turns it on for the output kinds where it measured better (AUTO_KINDS).

import * as E from '../engine/index.js';
import { consumerMap } from '../ir/graph.js';
import type { Model } from '../ir/types.js';
import { encodeModelInline } from '../onnx/file.js';
import { createOrtSession, type OrtSession } from '../runtime/ort.js';
import type { HostTensor } from '../util/host-tensor.js';
import { withOutputs } from './shapes.js';
import type { OutputTask } from './tasks.js';

export type FeatureMode = 'auto' | 'on' | 'off';

export interface FeaturePlan {
  /** Graph values matched, in graph order. */
  values: string[];
  weight: number;
  reason: string;
}

/** Ops that belong to a layer's block: normalisation, bias, activation (one consumer each). */
const BLOCK_OPS = new Set([
  'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'Relu', 'LeakyRelu', 'PRelu', 'Clip', 'Sigmoid', 'Tanh',
  'HardSwish', 'HardSigmoid', 'Elu', 'Selu', 'Gelu', 'Softplus', 'Mish', 'Add',
]);

/** At most this many values are matched (spread evenly over the depth): teacher memory and time. */
export const MAX_FEATURES = 8;

/**
 * Output kinds whose distillation gained from feature matching on the fixtures (README,
 * `TBN_BENCH_FEATURES=1 npm run bench -- tasks`): the regression forecaster's test MSE (−11 %).
 * It cost the CTC recognizer (CER 10.2 → 14.1 %), the segmentation net (IoU 0.76 → 0.71) and
 * the MNIST CNN (top-1 agreement 99.2 → 98.7 %), and left the embedding where it was.
 */
const AUTO_KINDS: ReadonlySet<OutputTask['kind']> = new Set(['regression']);

/** The end of the block that starts at `value`: follow single consumers through BLOCK_OPS. */
function blockEnd(model: Model, value: string, consumers: Map<string, number[]>, outputs: Set<string>): string {
  let v = value;
  for (let depth = 0; depth < 6; depth++) {
    const c = consumers.get(v) ?? [];
    if (c.length !== 1 || outputs.has(v)) break;
    const n = model.graph.nodes[c[0]!]!;
    if (!BLOCK_OPS.has(n.opType) || n.inputs[0] !== v || !n.outputs[0]) break;
    v = n.outputs[0];
  }
  return v;
}

/** Which values to match, or undefined when feature distillation stays off (and why). */
export function planFeatures(model: Model, tiledNodes: readonly number[], tasks: readonly OutputTask[], mode: FeatureMode): { plan?: FeaturePlan; note: string } {
  if (mode === 'off') return { note: 'intermediate features: off (--features off)' };
  if (!tiledNodes.length) return { note: 'intermediate features: no tiled layer' };
  const weak = tasks.filter((t) => AUTO_KINDS.has(t.kind));
  if (mode === 'auto' && !weak.length) return { note: `intermediate features: off (auto: only for ${[...AUTO_KINDS].join('/')} outputs, where they measured better)` };
  const consumers = consumerMap(model.graph);
  const outputs = new Set(model.graph.outputs.map((o) => o.name!));
  const order = [...tiledNodes].sort((a, b) => a - b);
  const ends = [...new Set(order.map((i) => blockEnd(model, model.graph.nodes[i]!.outputs[0]!, consumers, outputs)))].filter((v) => !outputs.has(v));
  if (!ends.length) return { note: 'intermediate features: every tiled block ends in a graph output' };
  const pick = ends.length <= MAX_FEATURES ? ends : Array.from({ length: MAX_FEATURES }, (_, k) => ends[Math.round(((k + 1) * ends.length) / MAX_FEATURES) - 1]!);
  const why = mode === 'on' ? '--features on' : `auto: ${weak.map((t) => `${t.output} is ${t.kind}`).join(', ')}`;
  const plan = { values: pick, weight: 1, reason: why };
  return { plan, note: `intermediate features: matching ${pick.length} block output${pick.length > 1 ? 's' : ''} of tiled layers (${why})` };
}

/** onnxruntime on an in-memory copy of `reference` that also returns the plan's values. */
export async function featureTeacher(reference: Model, plan: FeaturePlan): Promise<OrtSession> {
  return createOrtSession(encodeModelInline(withOutputs(reference, plan.values)), { threads: 0, spinning: false });
}

/** weight · mean over the values of mean((s − t)²) / mean(t²). */
export function featureLoss(student: Record<string, E.Tensor>, teacher: Record<string, HostTensor>, plan: FeaturePlan): E.Tensor | undefined {
  let total: E.Tensor | undefined;
  let count = 0;
  for (const name of plan.values) {
    const s = student[name];
    const t = teacher[name];
    if (!s || !t || t.dtype !== 'float32') continue;
    const d = t.data as Float32Array;
    let sq = 0;
    for (const x of d) sq += x * x;
    const l = E.affine(E.mseLoss(s, E.tensor(d, t.dims)), 1 / Math.max(sq / d.length, 1e-12), 0);
    total = total ? E.add(total, l) : l;
    count++;
  }
  return total && E.affine(total, plan.weight / count, 0);
}
