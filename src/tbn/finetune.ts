// Fine-tuning the tiles by distillation (docs/design.md §1): the student is the engine program of
// the (permuted) fp32 model with each tiled weight produced by the TBN parametrisation from
// latent weights; the teacher is the original model in onnxruntime, which labels every
// (augmented) batch. The loss follows what each output is (tasks.ts, distill-loss.ts), plus
// cross-entropy when the data has labels and, where it helps, intermediate-feature matching
// (features.ts). Adam with a cosine schedule. Emits progress events; prints nothing; yields to
// the event loop each step.

import * as E from '../engine/index.js';
import { UserError } from '../errors.js';
import { compile, type Program } from '../interp/index.js';
import type { Dataset } from '../data/dataset.js';
import { syntheticInputs } from '../data/synthetic.js';
import { getAttr } from '../ir/attrs.js';
import type { Model } from '../ir/types.js';
import type { OrtSession } from '../runtime/ort.js';
import type { HostTensor } from '../util/host-tensor.js';
import { Rng } from '../util/random.js';
import { augmentBatch, DEFAULT_AUGMENT } from './augment.js';
import { floatFeeds, floatTeacher, floatView } from './float-view.js';
import { consumedWeight } from './layers.js';
import { tiledWeight } from './parametrize.js';
import { DEFAULT_EPOCHS } from './schedule.js';
import { TimeBudget, type ScheduleChoice } from './time-budget.js';
import type { LayerChoice } from './select.js';
import type { AlphaMode } from './tile.js';
import { distillLoss, lossLabel, resolveAugment, studentCaptures, type LossKind } from './distill-loss.js';
import { featureLoss, featureTeacher, planFeatures, type FeatureMode, type FeaturePlan } from './features.js';
import { probeTasks, type OutputTask } from './tasks.js';

export type { LossKind } from './distill-loss.js';

export interface FinetuneOptions {
  epochs: number;
  /** Overrides epochs when set. */
  steps?: number;
  lr: number;
  /** Samples per step; chosen from the data's size (batchSizeFor) when absent. */
  batchSize?: number;
  seed: number;
  loss: LossKind;
  temperature: number;
  /** `--task` values (kind, or output=kind); the rest is detected (tasks.ts). */
  task?: string[];
  /** CTC blank index (detected when unset). */
  blank?: number;
  /** Intermediate-feature distillation (features.ts). */
  features: FeatureMode;
  /** The fp32 model the student's value names refer to (the permuted original, before any
   *  BatchNorm re-estimation): the teacher of intermediate features. */
  reference?: Model;
  /** Input augmentation; 'auto' decides by the output tasks (distill-loss.ts). */
  augment: boolean | 'auto';
  alpha: AlphaMode;
  alphaSource: 'weight' | 'separate';
  /** Also train every other float weight (biases, norms, untiled layers). */
  trainRest: boolean;
  onStep?: (e: { step: number; total: number; epoch: number; epochs: number; loss: number; samplesPerSecond: number; etaSeconds: number }) => void;
  /** Seconds the training loop may take: the schedule is cut to fit after timing the first steps. */
  loopSeconds?: number;
  onSchedule?: (choice: ScheduleChoice) => void;
  signal?: AbortSignal;
}

export const DEFAULT_FINETUNE: FinetuneOptions = {
  epochs: DEFAULT_EPOCHS,
  lr: 1e-3,
  seed: 0,
  loss: 'auto',
  temperature: 2,
  features: 'auto',
  augment: 'auto',
  alpha: 'per-tile',
  alphaSource: 'weight',
  trainRest: true,
};

/** The default batch, for data sets of ≥ DEFAULT_BATCH × MIN_STEPS_PER_EPOCH samples… */
export const DEFAULT_BATCH = 64;
/**
 * …and for smaller ones a smaller batch (never under MIN_BATCH), so that an epoch still has this
 * many steps: 60 epochs of 500 images are 420 steps at 64 a batch, too few updates for the tiles
 * to settle (a tf2onnx MNIST net: 82.8 % → 58 %), and 1 860 at 16, in about the same time (71 %).
 */
const MIN_STEPS_PER_EPOCH = 30;
const MIN_BATCH = 16;

/** Samples per fine-tuning step for `count` samples: `given`, else the default above. */
export function batchSizeFor(count: number, given?: number): number {
  const batch = given ?? Math.max(MIN_BATCH, Math.min(DEFAULT_BATCH, Math.floor(count / MIN_STEPS_PER_EPOCH)));
  return Math.max(1, Math.min(batch, count));
}

export interface FinetuneResult {
  /** Latent weights per tiled layer (by weight name: a recurrent node has two), in the layer's consumed layout. */
  latent: Map<string, { w: Float32Array; a?: Float32Array }>;
  /** New values of the other trained weights, by initializer name. */
  updated: Map<string, Float32Array>;
  steps: number;
  /** Steps that make one pass over the data (the epoch the report counts in). */
  stepsPerEpoch: number;
  batchSize: number;
  seconds: number;
  lossBefore: number;
  lossAfter: number;
  /** How the schedule was fitted to --time-budget. */
  schedule?: ScheduleChoice;
  /** What each output was taken to be, and the loss it got. */
  tasks: { task: OutputTask; loss: string }[];
  /** Intermediate features matched (empty when off) and why. */
  features: { values: string[]; note: string };
  augment: { on: boolean; note: string };
}

export interface Student {
  program: Program;
  latent: Map<string, { w: E.Tensor; a?: E.Tensor }>;
  rest: string[];
}

export function buildStudent(model: Model, choices: LayerChoice[], opts: FinetuneOptions, frozen: ReadonlySet<string>): Student {
  const program = compile(model);
  const latent = new Map<string, { w: E.Tensor; a?: E.Tensor }>();
  const tiledValues = new Set<string>();
  for (const c of choices) {
    const value = c.layer.node.inputs[c.layer.weightInput]!;
    const init = consumedWeight(c.layer);
    const w = E.keep(E.parameter(init, c.layout.shape));
    const a = opts.alphaSource === 'separate' ? E.keep(E.parameter(init, c.layout.shape)) : undefined;
    latent.set(c.layer.source.name, { w, a });
    const view = c.layer.nodeShape;
    program.setProducer(value, () => {
      const t = tiledWeight(w, a, c.layout, opts.alpha);
      return view ? E.reshape(t, view) : t;
    });
    tiledValues.add(value);
    tiledValues.add(c.layer.source.name);
  }
  const bnStats = new Set(model.graph.nodes.filter((n) => n.opType === 'BatchNormalization').flatMap((n) => n.inputs.slice(3, 5)));
  const open = (name: string) => !tiledValues.has(name) && !bnStats.has(name) && !frozen.has(name);
  const rest = opts.trainRest
    ? [...model.graph.initializers.filter((t) => t.name && t.dtype === 'float32' && open(t.name) && t.dims.length > 0).map((t) => t.name!), ...constantNodeWeights(model).filter(open)]
    : [];
  program.setTrainable(rest);
  return { program, latent, rest };
}

/** Where a float constant is a weight gradients reach (input positions by op); other reads (Resize scales, Pad values…) are not. */
const WEIGHT_INPUTS: Record<string, number[]> = {
  Conv: [1, 2], ConvTranspose: [1, 2], Gemm: [0, 1, 2], MatMul: [0, 1], Add: [0, 1], Sub: [0, 1], Mul: [0, 1], Div: [0, 1],
  BatchNormalization: [1, 2], InstanceNormalization: [1, 2], LayerNormalization: [1, 2], PRelu: [1],
};
/** Ops a weight may pass through on its way (the HWIO → OIHW Transpose of a TensorFlow export). */
const WEIGHT_VIEWS = new Set(['Transpose', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity']);

/**
 * Float32 weights held in Constant nodes (exporters such as tf2onnx write them so, not as
 * initializers): the Constants whose every reader takes them as a weight, directly or through
 * a view, so that the rest of the model trains as it does when its weights are initializers.
 */
function constantNodeWeights(model: Model): string[] {
  const readers = new Map<string, { op: string; input: number; outputs: string[] }[]>();
  for (const n of model.graph.nodes) n.inputs.forEach((v, input) => v && readers.set(v, [...(readers.get(v) ?? []), { op: n.opType, input, outputs: n.outputs }]));
  const graphOutputs = new Set(model.graph.outputs.map((o) => o.name));
  const isWeight = (value: string): boolean => {
    const rs = readers.get(value) ?? [];
    return !graphOutputs.has(value) && rs.length > 0 && rs.every((r) => (WEIGHT_VIEWS.has(r.op) && r.input === 0 ? r.outputs.every(isWeight) : !!WEIGHT_INPUTS[r.op]?.includes(r.input)));
  };
  return model.graph.nodes
    .filter((n) => n.opType === 'Constant' && n.outputs[0])
    .filter((n) => {
      const t = getAttr(n, 'value')?.t;
      return t?.dtype === 'float32' && t.dims.length > 0 && t.dims.every((d) => d > 0) && isWeight(n.outputs[0]!);
    })
    .map((n) => n.outputs[0]!);
}

interface Objective {
  tasks: OutputTask[];
  features?: FeaturePlan;
  /** Labels the teacher for a batch: outputs (and intermediate values when features are on). */
  teacher: OrtSession;
}

/** The loss of one batch (a scalar tensor to backpropagate). */
function batchLoss(student: Student, obj: Objective, feeds: Record<string, HostTensor>, teacher: Record<string, HostTensor>, labels: number[] | undefined, opts: FinetuneOptions): E.Tensor {
  const capture = [...studentCaptures(obj.tasks, opts), ...(obj.features?.values ?? [])];
  const run = student.program.run(feeds, { capture });
  const loss = distillLoss(obj.tasks, run, teacher, labels, opts);
  const feat = obj.features && featureLoss(run.values, teacher, obj.features);
  return feat ? E.add(loss, feat) : loss;
}

type TrainBatch = { feeds: Record<string, HostTensor>; labels?: number[] };

/** The samples at `idx`, read from disk now (the data set is never held whole). */
async function gather(ds: Dataset, idx: Uint32Array): Promise<TrainBatch> {
  const b = await ds.read(idx);
  return { feeds: b.feeds, labels: b.labels ? Array.from(b.labels.data as BigInt64Array, Number) : undefined };
}

async function evalLoss(student: Student, obj: Objective, batches: (() => Promise<TrainBatch>)[], opts: FinetuneOptions): Promise<number> {
  let sum = 0;
  for (const next of batches) {
    const b = await next();
    const t = await obj.teacher.run(b.feeds);
    sum += E.noGrad(() => E.tidy(() => batchLoss(student, obj, b.feeds, t, b.labels, opts).item()));
  }
  return sum / batches.length;
}

/**
 * Decides the output tasks on one batch (what the data holds comes from its metadata) and
 * sets up feature matching. `model` is the model the layer choices index; `student` its float
 * view, whose values the features must exist in.
 */
async function objective(model: Model, student: Model, choices: LayerChoice[], data: Dataset | undefined, teacher: OrtSession, first: TrainBatch, opts: FinetuneOptions) {
  const evidence = { ...first, targets: data?.targetNames ?? [], texts: !!data?.hasTexts, classCount: data?.classes?.length };
  const tasks = await probeTasks(model, teacher, evidence, opts);
  const { plan, note } = planFeatures(model, choices.map((c) => c.layer.nodeIndex), tasks, opts.features);
  const produced = new Set(student.graph.nodes.flatMap((n) => n.outputs));
  const values = plan?.values.filter((v) => produced.has(v)) ?? [];
  const features = plan && opts.reference && values.length ? { ...plan, values } : undefined;
  const obj: Objective = { tasks, features, teacher: features ? floatTeacher(await featureTeacher(opts.reference!, features), opts.reference!) : teacher };
  return { obj, note: plan && !opts.reference ? 'intermediate features: off (no fp32 reference model given)' : note };
}

export async function finetune(model: Model, choices: LayerChoice[], data: Dataset | undefined, original: OrtSession, options: Partial<FinetuneOptions> = {}, shapes?: Map<string, number[]>): Promise<FinetuneResult> {
  const opts = { ...DEFAULT_FINETUNE, ...options };
  const rng = new Rng(opts.seed);
  // The student computes in float32 (float-view.ts); the teacher is the original model.
  const view = floatView(model, choices);
  const student = buildStudent(view.model, choices, opts, view.frozen);
  const teacher = floatTeacher(original, model);
  const count = data?.count ?? 512;
  const batch = batchSizeFor(count, opts.batchSize);
  const perEpoch = Math.max(1, Math.floor(count / batch));
  let total = opts.steps ?? opts.epochs * perEpoch;
  const sample = async (idx: Uint32Array, seed: number): Promise<TrainBatch> => {
    const b = data ? await gather(data, idx) : { feeds: syntheticInputs(model, { batch: idx.length, seed, shapes }) };
    return { ...b, feeds: floatFeeds(b.feeds) };
  };
  // The loss before and after is measured on the first batches, read again each time.
  const evalSet = Array.from({ length: Math.min(4, Math.ceil(count / batch)) }, (_, k) => () =>
    sample(Uint32Array.from({ length: Math.min(batch, count - k * batch) }, (_, i) => k * batch + i), 1_000_000 + k),
  );
  const evalStarted = performance.now();
  const { obj, note } = await objective(model, view.model, choices, data, teacher, await evalSet[0]!(), opts);
  try {
    const lossBefore = await evalLoss(student, obj, evalSet, opts);
    const augment = resolveAugment(opts.augment, obj.tasks);
    let schedule: ScheduleChoice | undefined;
    const budget = opts.loopSeconds === undefined ? undefined : new TimeBudget(opts.loopSeconds, total, (performance.now() - evalStarted) / 1000);
    const params = [...[...student.latent.values()].flatMap((l) => (l.a ? [l.w, l.a] : [l.w])), ...student.program.parameters().values()];
    const cosine = (steps: number) => E.cosineSchedule({ lr: opts.lr, totalSteps: steps, warmupSteps: Math.max(1, Math.round(steps * 0.03)), minLr: opts.lr * 0.01 });
    let lr = cosine(total);
    const optim = new E.Adam(params, { lr: (s) => lr(s) });
    const started = performance.now();
    let order = rng.permutation(count);
    const indicesOf = (step: number) => order.subarray((step % perEpoch) * batch, (step % perEpoch) * batch + batch);
    // The next batch (same epoch: its order is drawn) is read while this step computes.
    let next: Promise<TrainBatch> | undefined;
    for (let step = 0; step < total; step++) {
      if (opts.signal?.aborted) throw new Error('aborted');
      const epochStep = step % perEpoch;
      if (epochStep === 0 && step > 0) order = rng.permutation(count);
      const raw = await (next ?? sample(indicesOf(step), step));
      next = step + 1 < total && (step + 1) % perEpoch !== 0 ? sample(indicesOf(step + 1), step + 1) : undefined;
      next?.catch(() => {}); // awaited next step; a read error surfaces there
      const aug = augment.on ? augmentBatch(raw.feeds, rng, DEFAULT_AUGMENT) : { feeds: raw.feeds, labelsValid: true };
      const teacherOut = await obj.teacher.run(aug.feeds);
      const loss = E.tidy(() => {
        const l = batchLoss(student, obj, aug.feeds, teacherOut, aug.labelsValid ? raw.labels : undefined, opts);
        const v = l.item();
        E.backward(l);
        return v;
      });
      if (!Number.isFinite(loss)) {
        throw new UserError(`fine-tuning diverged: the loss is ${loss} at step ${step + 1} (try a lower --lr; now ${opts.lr}); nothing was written`);
      }
      optim.step();
      optim.zeroGrad();
      const elapsed = (performance.now() - started) / 1000;
      const fitted = budget?.afterStep(step + 1, elapsed);
      if (fitted) {
        schedule = fitted;
        total = fitted.steps;
        lr = cosine(total);
        opts.onSchedule?.(fitted);
      }
      opts.onStep?.({ step: step + 1, total, epoch: Math.floor(step / perEpoch) + 1, epochs: Math.ceil(total / perEpoch), loss, samplesPerSecond: ((step + 1) * batch) / elapsed, etaSeconds: (elapsed / (step + 1)) * (total - step - 1) });
      await new Promise((r) => setImmediate(r));
    }
    const seconds = (performance.now() - started) / 1000;
    const lossAfter = await evalLoss(student, obj, evalSet, opts);
    const latent = new Map<string, { w: Float32Array; a?: Float32Array }>();
    for (const [k, l] of student.latent) latent.set(k, { w: l.w.toArray() as Float32Array, a: l.a?.toArray() as Float32Array | undefined });
    const updated = new Map<string, Float32Array>();
    for (const [name, p] of student.program.parameters()) updated.set(name, p.toArray() as Float32Array);
    optim.dispose();
    for (const l of student.latent.values()) {
      l.w.dispose();
      l.a?.dispose();
    }
    student.program.dispose();
    const tasks = obj.tasks.map((task) => ({ task, loss: lossLabel(task, opts) }));
    return { latent, updated, steps: total, stepsPerEpoch: perEpoch, batchSize: batch, seconds, lossBefore, lossAfter, schedule, tasks, features: { values: obj.features?.values ?? [], note }, augment };
  } finally {
    if (obj.teacher !== teacher) await obj.teacher.release();
  }
}
