// Per-layer sensitivity: for each tileable layer and each candidate p (and "keep fp32"), how
// much the model's outputs move when only that layer is tiled — after a short local
// reconstruction (the layer's latent weights trained for a few steps so that its own output
// matches the fp32 layer on calibration inputs). Measured as the distillation loss against
// the original model, top-1 disagreement and, with labels, the accuracy drop.

import type { Dataset } from '../data/dataset.js';
import * as E from '../engine/index.js';
import { compile } from '../interp/index.js';
import { graph as makeGraph, valueInfo } from '../ir/build.js';
import { isFloatType } from '../ir/dtype.js';
import type { Model, OnnxTensor } from '../ir/types.js';
import { encodeModelInline } from '../onnx/file.js';
import { createOrtSession, type OrtSession } from '../runtime/ort.js';
import { widenAllToFloat32, widenToFloat32, type HostTensor } from '../util/host-tensor.js';
import { argmax, evalBatches, type EvalSet } from '../verify/compare.js';
import { constantFloat, constantSource, consumedWeight, findWeightLayers, floatLayerNode, type WeightLayer } from './layers.js';
import { tiledWeight } from './parametrize.js';
import { permuteChannels } from './permute.js';
import { rewriteModel } from './rewrite.js';
import { makeChoice, selectLayers, type LayerChoice, type SelectOptions } from './select.js';
import { concreteShapes, withOutputs } from './shapes.js';
import { probeTasks, type OutputForm } from './tasks.js';
import { computeTile, type AlphaMode } from './tile.js';

export interface SensitivityEntry {
  /** p, or 0 for "keep fp32". */
  p: number;
  tileAxis: 0 | 1 | null;
  bytes: number;
  /** Distillation loss against the original model (0 for fp32). */
  loss: number;
  /** Fraction of samples whose top-1 class changes (classification outputs). */
  disagreement: number | null;
  /** Accuracy points lost against labels. */
  accuracyDrop: number | null;
}

export interface LayerSensitivity {
  node: string;
  weight: string;
  nodeIndex: number;
  params: number;
  outDim: number;
  entries: SensitivityEntry[];
}

export interface SensitivityOptions {
  /** Largest p considered; every divisor of the layer's size up to it is a candidate. */
  maxP: number;
  /** Only powers of two (the inspect table), or every divisor (the budget search). */
  powersOfTwo: boolean;
  /** Adam steps of the local reconstruction (default 30). */
  localSteps?: number;
  /** Calibration samples scored (default 256, or all when fewer). */
  samples?: number;
  alpha: AlphaMode;
  permute: boolean;
  seed: number;
  /** `--task` values: what the outputs are (else detected, tasks.ts). */
  task?: string[];
  onLayer?: (done: number, total: number, node: string) => void;
}

/** The progress line of SensitivityOptions.onLayer. */
export function sensitivityProgress(done: number, total: number, node: string): string {
  return done < total ? `sensitivity: layer ${done + 1}/${total} ${node}` : `sensitivity: ${total} layers measured`;
}

export function candidatePs(params: number, opts: Pick<SensitivityOptions, 'maxP' | 'powersOfTwo'>): number[] {
  const ps: number[] = [];
  for (let p = 1; p <= opts.maxP; p++) {
    if (params % p !== 0) continue;
    if (opts.powersOfTwo && (p & (p - 1)) !== 0) continue;
    ps.push(p);
  }
  return ps;
}

export function layerBytes(params: number, p: number, alpha: AlphaMode): number {
  return p === 0 ? 4 * params : Math.ceil(params / p / 8) + 4 * (alpha === 'per-layer' ? 1 : p);
}

interface Reference {
  feeds: Record<string, HostTensor>[];
  outputs: Record<string, HostTensor>[];
  labels: (HostTensor | undefined)[];
  /** [N, C] class outputs (tasks.ts) and their form; every other output is scored by scaled MSE. */
  classes: Map<string, OutputForm>;
}

async function referenceOutputs(teacher: OrtSession, set: EvalSet): Promise<Reference> {
  const ref: Reference = { feeds: [], outputs: [], labels: [], classes: new Map() };
  // float16/bfloat16 outputs are compared as float32.
  const widened = { run: async (feeds: Record<string, HostTensor>) => widenAllToFloat32(await teacher.run(feeds)) };
  for await (const b of evalBatches(set)) {
    if (!ref.feeds.length) {
      const labels = b.labels?.data as ArrayLike<number | bigint> | undefined;
      const evidence = { feeds: b.feeds, labels, targets: set.data?.targetNames ?? [], texts: !!set.data?.hasTexts, classCount: set.data?.classes?.length };
      const tasks = await probeTasks(set.model, widened, evidence, set.tasks);
      for (const t of tasks) if (t.kind === 'classification' && t.normalization === 'softmax' && t.classAxis === 1 && t.dims.length === 2) ref.classes.set(t.output, t.form);
    }
    ref.feeds.push(b.feeds);
    ref.outputs.push(await widened.run(b.feeds));
    ref.labels.push(b.labels);
  }
  return ref;
}

/** Class scores whose softmax is the output's distribution (logs of probabilities). */
function scores(x: Float32Array, form: OutputForm | undefined): Float32Array {
  return form === 'probabilities' ? Float32Array.from(x, (v) => Math.log(Math.max(v, 1e-12))) : x;
}

function softmax(x: Float32Array, off: number, n: number, t: number): Float64Array {
  const out = new Float64Array(n);
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, x[off + i]! / t);
  let s = 0;
  for (let i = 0; i < n; i++) s += out[i] = Math.exp(x[off + i]! / t - m);
  for (let i = 0; i < n; i++) out[i]! /= s;
  return out;
}

/** Loss, disagreement and accuracy drop of `model` against the reference outputs. */
async function score(model: Model, ref: Reference): Promise<Omit<SensitivityEntry, 'p' | 'tileAxis' | 'bytes'>> {
  const session = await createOrtSession(encodeModelInline(model), { threads: 0 });
  let loss = 0;
  let rows = 0;
  let changed = 0;
  let correctRef = 0;
  let correct = 0;
  let labelled = 0;
  let classification = false;
  try {
    for (let b = 0; b < ref.feeds.length; b++) {
      const out = await session.run(ref.feeds[b]!);
      for (const [name, t] of Object.entries(ref.outputs[b]!)) {
        if (t.dtype !== 'float32') continue;
        const form = ref.classes.get(name);
        const y = scores(widenToFloat32(out[name]!).data as Float32Array, form);
        const r = scores(t.data as Float32Array, form);
        if (form) {
          classification = true;
          const c = t.dims[1]!;
          for (let i = 0; i < t.dims[0]!; i++) {
            const pt = softmax(r, i * c, c, 1);
            const ps = softmax(y, i * c, c, 1);
            let kl = 0;
            for (let k = 0; k < c; k++) if (pt[k]! > 0) kl += pt[k]! * (Math.log(pt[k]!) - Math.log(Math.max(ps[k]!, 1e-30)));
            loss += kl;
            const ar = argmax(r, i * c, c);
            const ay = argmax(y, i * c, c);
            if (ar !== ay) changed++;
            const label = ref.labels[b] ? Number(ref.labels[b]!.data[i]) : undefined;
            if (label !== undefined) {
              labelled++;
              if (ar === label) correctRef++;
              if (ay === label) correct++;
            }
          }
          rows += t.dims[0]!;
        } else {
          let se = 0;
          let v = 0;
          let m = 0;
          for (const x of r) m += x;
          m /= r.length;
          for (let i = 0; i < r.length; i++) {
            se += (y[i]! - r[i]!) ** 2;
            v += (r[i]! - m) ** 2;
          }
          loss += (se / Math.max(v, 1e-12)) * t.dims[0]!;
          rows += t.dims[0]!;
        }
      }
    }
  } finally {
    await session.release();
  }
  return {
    loss: loss / Math.max(rows, 1),
    disagreement: classification ? changed / Math.max(rows, 1) : null,
    accuracyDrop: labelled ? (100 * (correctRef - correct)) / labelled : null,
  };
}

/**
 * A few Adam steps on the layer's latent weights so that the layer alone reproduces its fp32
 * output on captured inputs; returns the reconstructed latent weights.
 */
async function reconstruct(model: Model, choice: LayerChoice, parts: LayerParts, inputs: Record<string, HostTensor>[], steps: number, alpha: AlphaMode): Promise<Float32Array> {
  const layer = choice.layer;
  const w0 = consumedWeight(layer);
  if (steps <= 0 || !inputs.length) return w0;
  // The layer alone, as the float node it computes; its float constants as float32
  // initializers, what it computes from as inputs fed with the captured values.
  const node = floatLayerNode(layer);
  const weightName = node.inputs[layer.weightInput]!;
  const mini: Model = {
    ...model,
    functions: [],
    graph: makeGraph({
      nodes: [node],
      initializers: [...parts.constants, { name: weightName, dtype: 'float32', dims: layer.nodeShape ?? layer.shape, data: w0, encoding: 'raw' }],
      inputs: Object.entries(inputs[0]!).map(([name, t]) => valueInfo(name, t.dtype)),
      outputs: [valueInfo(node.outputs[0]!, 'float32')],
    }),
  };
  const program = compile(mini);
  const targets = inputs.map((feeds) => program.runHost(feeds)[node.outputs[0]!]!);
  // As the fine-tune does: the latent weight in the tile's layout, read by the node in its own
  // shape (a recurrent W/R is tiled as a 2-D view).
  const w = E.keep(E.parameter(w0, choice.layout.shape));
  const view = layer.nodeShape;
  program.setProducer(weightName, () => {
    const t = tiledWeight(w, undefined, choice.layout, alpha);
    return view ? E.reshape(t, view) : t;
  });
  const optim = new E.Adam([w], { lr: E.cosineSchedule({ lr: 1e-3, totalSteps: steps }) });
  for (let s = 0; s < steps; s++) {
    const k = s % inputs.length;
    E.tidy(() => {
      const y = program.run(inputs[k]!).outputs[node.outputs[0]!]!;
      E.backward(E.mseLoss(y, E.tensor(targets[k]!.data as Float32Array, targets[k]!.dims)));
    });
    optim.step();
    optim.zeroGrad();
  }
  const out = w.toArray() as Float32Array;
  optim.dispose();
  w.dispose();
  program.dispose();
  return out;
}

export async function layerSensitivity(
  modelPath: string,
  model: Model,
  data: Dataset | undefined,
  select: SelectOptions,
  shapes: Map<string, number[]>,
  opts: SensitivityOptions,
): Promise<LayerSensitivity[]> {
  const teacher = await createOrtSession(modelPath, { threads: 0 });
  const set: EvalSet = { data, model, samples: opts.samples ?? 256, seed: opts.seed, shapes, batchSize: 64, tasks: { task: opts.task } };
  const ref = await referenceOutputs(teacher, set);
  await teacher.release();
  const shapeMap = opts.permute ? await concreteShapes(model, shapes).catch(() => undefined) : undefined;
  // p = 1 divides every layer: what remains are the layers λ, the patterns and dtypes allow.
  const eligible = selectLayers(model, { ...select, p: 1, layerP: undefined, binarizeRest: false }).chosen;
  const result: LayerSensitivity[] = [];
  for (const [li, base] of eligible.entries()) {
    const layer = base.layer;
    opts.onLayer?.(li, eligible.length, layer.node.name || layer.label);
    let unpermuted: LayerParts | undefined;
    let unpermutedInputs: Record<string, HostTensor>[] | undefined;
    const entries: SensitivityEntry[] = [{ p: 0, tileAxis: null, bytes: layerBytes(layer.params, 0, opts.alpha), loss: 0, disagreement: 0, accuracyDrop: 0 }];
    for (const p of candidatePs(layer.params, opts)) {
      const choice = makeChoice(layer, p, select.tileAxis);
      const permuted = shapeMap && choice.regionsAlongOutput ? permuteChannels(model, [choice], shapeMap) : undefined;
      const working = permuted?.model ?? model;
      // As compress chooses: a recurrent W/R whose hidden units did not move goes back to its
      // gate rows (movedNodes empty when nothing was permuted).
      const c2 = permuted
        ? makeChoice(findWeightLayers(working).find((l) => l.nodeIndex === layer.nodeIndex && l.weightInput === layer.weightInput)!, p, select.tileAxis, permuted.movedNodes)
        : makeChoice(layer, p, select.tileAxis, new Set());
      // The unpermuted model's inputs are the same at every p: captured once per layer.
      const parts = permuted ? layerParts(working, c2.layer) : (unpermuted ??= layerParts(model, layer));
      const inputs = permuted ? await captureInputs(working, parts, ref) : (unpermutedInputs ??= await captureInputs(model, parts, ref));
      const latent = await reconstruct(working, c2, parts, inputs, opts.localSteps ?? 30, opts.alpha);
      const layout = c2.layout;
      const tiled = rewriteModel(working, [{ layer: c2.layer, layout, alphaMode: opts.alpha, tile: computeTile(latent, layout, opts.alpha) }], { format: 'expanded' });
      entries.push({ p, tileAxis: layout.tileAxis, bytes: layerBytes(layer.params, p, opts.alpha), ...(await score(tiled, ref)) });
    }
    result.push({ node: layer.node.name || layer.label, weight: layer.source.name, nodeIndex: layer.nodeIndex, params: layer.params, outDim: layer.outDim, entries });
  }
  opts.onLayer?.(eligible.length, eligible.length, '');
  return result;
}

/** The layer node's inputs besides its weight: its float constants (a bias, maybe quantized or
 * float16, as float32 initializers), and what it computes from at run time — its activation,
 * a recurrent node's initial states, an integer constant such as sequence lengths (fed in its
 * own type). */
interface LayerParts {
  fed: string[];
  constants: OnnxTensor[];
}

function layerParts(model: Model, layer: WeightLayer): LayerParts {
  const node = floatLayerNode(layer);
  const weight = node.inputs[layer.weightInput];
  const parts: LayerParts = { fed: [], constants: [] };
  for (const v of node.inputs) {
    if (!v || v === weight) continue;
    const src = constantSource(model.graph, v);
    const c = src && (src.dequantize || isFloatType(src.tensor.dtype)) ? constantFloat(model.graph, v) : undefined;
    if (c) parts.constants.push({ name: v, dtype: 'float32', dims: c.dims, data: c.data, encoding: 'raw' });
    else parts.fed.push(v);
  }
  return parts;
}

/** The fed inputs' values on (at most 4 batches of) the reference data. */
async function captureInputs(model: Model, parts: LayerParts, ref: Reference): Promise<Record<string, HostTensor>[]> {
  const xs = parts.fed;
  const session = await createOrtSession(encodeModelInline(withOutputs(model, xs)), { threads: 0 });
  try {
    const out: Record<string, HostTensor>[] = [];
    for (const feeds of ref.feeds.slice(0, 4)) {
      const run = await session.run(feeds);
      out.push(Object.fromEntries(xs.map((x) => [x, run[x]!])));
    }
    return out;
  } finally {
    await session.release();
  }
}

