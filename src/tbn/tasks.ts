// What each model output is — classification, a per-frame CTC sequence, an embedding, a dense
// map or a regression — decided from the graph (a final Softmax/LogSoftmax/Sigmoid, an ArgMax
// consumer, an L2 normalisation), the output's shape and name, and the data (integer labels,
// text labels, targets named like the output); never from the rank alone. `--task` overrides.
// Every decision carries its reason, for the compress and verify reports. The distillation
// losses (distill-loss.ts) and the verify metrics (verify/metrics.ts) follow the decision.

import { UsageError } from '../errors.js';
import { getAttr } from '../ir/attrs.js';
import { consumerMap, defaultOpset, producerMap } from '../ir/graph.js';
import type { Model, Node } from '../ir/types.js';
import { sliceBatch, type HostTensor } from '../util/host-tensor.js';

export const TASK_KINDS = ['classification', 'ctc', 'embedding', 'dense', 'regression'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** What the values are: raw scores, probabilities after Softmax/Sigmoid, or LogSoftmax output. */
export type OutputForm = 'logits' | 'probabilities' | 'log-probabilities' | 'values';

export interface OutputTask {
  output: string;
  kind: TaskKind;
  form: OutputForm;
  /** softmax: normalised over `classAxis`; sigmoid: each value is a probability on its own. */
  normalization?: 'softmax' | 'sigmoid';
  /** Axis of the classes (classification, ctc, dense maps with several classes). */
  classAxis?: number;
  /** CTC: the batch axis first ([N, T, C]) or the time axis first ([T, N, C]). */
  layout?: 'NTC' | 'TNC';
  /** CTC blank index. */
  blank?: number;
  /** The graph value just before the final Softmax/LogSoftmax/Sigmoid (the logits), when only
   *  shape-preserving ops follow it: the student is distilled on it. */
  preActivation?: string;
  /** Embeddings: the graph L2-normalises the output. */
  normalized?: boolean;
  /** Output dims of the run the decision was made on (batch axis included). */
  dims: number[];
  batchAxis: number;
  reason: string;
  source: 'flag' | 'graph';
}

/** What a run of the teacher on real (or synthetic) inputs says about the outputs. */
export interface TaskEvidence {
  /** Outputs of one run on a batch, by name. */
  sample: Record<string, HostTensor>;
  /** Output dims of a run on one sample (so the batch axis is the one that changed). */
  single?: Record<string, number[]>;
  /** Largest integer class label in the data. */
  labelMax?: number;
  /** Output names the data holds targets for. */
  targets?: readonly string[];
  /** The data has text labels (sequence outputs). */
  texts?: boolean;
}

export interface TaskOptions {
  /** Raw `--task` values: `kind` or `output=kind`. */
  task?: readonly string[];
  /** CTC blank index (`--blank`); detected when unset. */
  blank?: number;
}

const TRANSPARENT = new Set(['Identity', 'Cast', 'Dropout', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Transpose']);
const SAME_SHAPE = new Set(['Identity', 'Cast', 'Dropout']);

const NAMES: [TaskKind, RegExp][] = [
  ['ctc', /ctc|ocr|(^|[^a-z])(rec|char|chars|text|transcript)/i],
  ['embedding', /embed|(^|[^a-z])emb([^a-z]|$)|descriptor|vector|encoding|latent/i],
  ['dense', /mask|segment|(^|[^a-z])seg([^a-z]|$)|heatmap|saliency|matte/i],
  ['classification', /logit|class|(^|[^a-z])cls([^a-z]|$)|prob/i],
];

/** Parses `--task` values into output → kind (a bare kind needs a one-output model). */
export function parseTaskFlags(values: readonly string[] | undefined, outputs: readonly string[]): Map<string, TaskKind> {
  const out = new Map<string, TaskKind>();
  for (const v of values ?? []) {
    const eq = v.lastIndexOf('=');
    const name = eq >= 0 ? v.slice(0, eq) : undefined;
    const kind = (eq >= 0 ? v.slice(eq + 1) : v) as TaskKind;
    if (!TASK_KINDS.includes(kind)) throw new UsageError(`--task ${v}: '${kind}' is not one of ${TASK_KINDS.join(', ')}`);
    if (name === undefined) {
      if (outputs.length !== 1) throw new UsageError(`--task ${v}: the model has ${outputs.length} outputs (${outputs.join(', ')}); name one: --task NAME=${kind}`);
      out.set(outputs[0]!, kind);
    } else {
      if (!outputs.includes(name)) throw new UsageError(`--task ${v}: the model has no output '${name}' (outputs: ${outputs.join(', ')})`);
      out.set(name, kind);
    }
  }
  return out;
}

interface GraphFacts {
  /** Final Softmax/LogSoftmax/Sigmoid (through shape-only ops) and its class axis. */
  activation?: { op: 'Softmax' | 'LogSoftmax' | 'Sigmoid'; axis: number; input: string; direct: boolean; multiAxis: boolean };
  argmaxAxis?: number;
  l2Normalized: boolean;
}

function intAttr(node: Node, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a?.i === undefined ? fallback : Number(a.i);
}

function opsetOf(model: Model): number {
  const v = defaultOpset(model);
  return v === undefined ? 13 : Number(v);
}

/** A Div whose divisor is an L2 norm of the dividend (Sqrt of ReduceSum of squares, ReduceL2). */
function isL2Division(node: Node, model: Model, producers: Map<string, number>): boolean {
  if (node.opType === 'LpNormalization') return intAttr(node, 'p', 2) === 2;
  if (node.opType !== 'Div') return false;
  const seen = new Set<string>();
  // The divisor is ReduceL2(x), or Sqrt of a sum of squares, through eps additions and clamps.
  const walk = (value: string, depth: number, underSqrt: boolean): boolean => {
    if (depth > 8 || seen.has(value)) return false;
    seen.add(value);
    const i = producers.get(value);
    if (i === undefined) return false;
    const n = model.graph.nodes[i]!;
    if (n.opType === 'ReduceL2') return true;
    if (underSqrt && (n.opType === 'ReduceSumSquare' || n.opType === 'ReduceSum')) return true;
    if (n.opType === 'Sqrt') return walk(n.inputs[0]!, depth + 1, true);
    return ['Add', 'Clip', 'Max', 'Expand', 'Unsqueeze', 'Reshape', 'Identity', 'Cast'].includes(n.opType) && n.inputs.some((x) => walk(x, depth + 1, underSqrt));
  };
  return walk(node.inputs[1] ?? '', 0, false);
}

function graphFacts(model: Model, output: string, rank: number): GraphFacts {
  const producers = producerMap(model.graph);
  const consumers = consumerMap(model.graph);
  const facts: GraphFacts = { l2Normalized: false };
  const opset = opsetOf(model);
  let value = output;
  let direct = true;
  for (let depth = 0; depth < 8; depth++) {
    for (const c of consumers.get(value) ?? []) {
      const n = model.graph.nodes[c]!;
      if (n.opType === 'ArgMax' && facts.argmaxAxis === undefined && value === output) facts.argmaxAxis = normalise(intAttr(n, 'axis', 0), rank);
    }
    const i = producers.get(value);
    if (i === undefined) break;
    const n = model.graph.nodes[i]!;
    if (n.opType === 'Softmax' || n.opType === 'LogSoftmax') {
      const axis = intAttr(n, 'axis', opset >= 13 ? -1 : 1);
      const inRank = rank; // shape-preserving chains keep the rank; others are judged on the output
      const a = normalise(axis, inRank);
      // Below opset 13 Softmax flattens the axes from `axis` on into one: several axes unless last.
      facts.activation = { op: n.opType, axis: direct ? a : rank - 1, input: n.inputs[0]!, direct, multiAxis: opset < 13 && a !== inRank - 1 };
      break;
    }
    if (n.opType === 'Sigmoid') {
      facts.activation = { op: 'Sigmoid', axis: -1, input: n.inputs[0]!, direct, multiAxis: false };
      break;
    }
    if (isL2Division(n, model, producers)) {
      facts.l2Normalized = true;
      break;
    }
    if (!TRANSPARENT.has(n.opType)) break;
    if (!SAME_SHAPE.has(n.opType)) direct = false;
    value = n.inputs[0]!;
  }
  return facts;
}

function normalise(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** The batch axis: the one whose size differs between the batch run and the one-sample run. */
function batchAxisOf(dims: number[], single: number[] | undefined): number {
  if (!single || single.length !== dims.length) return 0;
  const moved = dims.findIndex((d, i) => d !== single[i]);
  return moved >= 0 ? moved : 0;
}

const shape = (dims: number[], batchAxis: number) => `[${dims.map((d, i) => (i === batchAxis ? 'N' : d)).join(', ')}]`;

/** Dims other than the batch axis and size-1 axes. */
function featureDims(dims: number[], batchAxis: number): number[] {
  return dims.filter((d, i) => i !== batchAxis && d !== 1);
}

function decide(model: Model, name: string, t: HostTensor, ev: TaskEvidence): OutputTask {
  const dims = t.dims;
  const rank = dims.length;
  const batchAxis = batchAxisOf(dims, ev.single?.[name]);
  const facts = graphFacts(model, name, rank);
  const feat = featureDims(dims, batchAxis);
  const base = { output: name, dims, batchAxis };
  const shp = shape(dims, batchAxis);
  const act = facts.activation && !facts.activation.multiAxis ? facts.activation : undefined;
  const pre = act?.direct ? act.input : undefined;
  const hint = NAMES.find(([, re]) => re.test(name))?.[0];
  const spatial = rank >= 3 && feat.length >= 2;

  const softmaxTask = (kind: TaskKind, why: string): OutputTask => ({
    ...base,
    kind,
    form: act!.op === 'LogSoftmax' ? 'log-probabilities' : 'probabilities',
    normalization: 'softmax',
    classAxis: act!.axis,
    preActivation: pre,
    ...(kind === 'ctc' ? ctcLayout(batchAxis, act!.axis, rank) : {}),
    reason: why,
    source: 'graph',
  });

  if (act && act.op !== 'Sigmoid') {
    const what = `a final ${act.op} over axis ${act.axis} of ${shp}`;
    if (feat.length === 1 && act.axis !== batchAxis) return softmaxTask('classification', `${what}: class ${act.op === 'Softmax' ? 'probabilities' : 'log-probabilities'}`);
    if (rank === 3 && act.axis === 2 && batchAxis <= 1) return softmaxTask('ctc', `${what}: per-frame class ${act.op === 'Softmax' ? 'probabilities' : 'log-probabilities'} of a sequence (CTC)`);
    if (spatial) return softmaxTask('dense', `${what}: a per-pixel class map`);
  }
  if (act?.op === 'Sigmoid') {
    const what = `a final Sigmoid on ${shp}`;
    if (feat.length <= 1 && (feat[0] ?? 1) === 1) {
      return { ...base, kind: 'classification', form: 'probabilities', normalization: 'sigmoid', preActivation: pre, reason: `${what}: a binary class probability`, source: 'graph' };
    }
    return { ...base, kind: 'dense', form: 'probabilities', normalization: 'sigmoid', preActivation: pre, reason: `${what}: ${spatial ? 'a per-pixel probability map' : 'per-value (multi-label) probabilities'}`, source: 'graph' };
  }
  if (facts.activation?.multiAxis) return regression(base, `a final Softmax over several axes (opset < 13 flattening) of ${shp}: distilled value by value`);
  if (facts.argmaxAxis !== undefined) {
    const what = `an ArgMax over axis ${facts.argmaxAxis} reads ${shp}`;
    if (feat.length === 1) return logitsTask(base, 'classification', facts.argmaxAxis, `${what}: class logits`);
    if (rank === 3 && facts.argmaxAxis === 2) return { ...logitsTask(base, 'ctc', 2, `${what}: per-frame logits of a sequence (CTC)`), ...ctcLayout(batchAxis, 2, rank) };
    if (spatial) return logitsTask(base, 'dense', facts.argmaxAxis, `${what}: a per-pixel class map`);
  }
  if (facts.l2Normalized) return embedding(base, true, `the graph L2-normalises ${shp}: an embedding`);
  if (ev.texts && rank === 3 && feat.length === 2) {
    return { ...logitsTask(base, 'ctc', 2, `the data has text labels and ${shp} is a sequence of per-frame scores (CTC logits)`), ...ctcLayout(batchAxis, 2, rank) };
  }
  if (ev.targets?.includes(name)) return regression(base, `the data has targets for '${name}': regression`);
  if (ev.labelMax !== undefined && feat.length === 1 && feat[0]! > ev.labelMax && hint !== 'embedding') {
    return logitsTask(base, 'classification', classAxisOf(dims, batchAxis), `the data's labels (0…${ev.labelMax}) index the ${feat[0]} columns of ${shp}: class logits`);
  }
  if (hint === 'embedding' && feat.length >= 1) return embedding(base, false, `the name '${name}' says embedding, ${shp}`);
  if (hint === 'classification' && feat.length === 1) return logitsTask(base, 'classification', classAxisOf(dims, batchAxis), `the name '${name}' says class scores, ${shp}: logits`);
  if (hint === 'ctc' && rank === 3 && feat.length === 2) return { ...logitsTask(base, 'ctc', 2, `the name '${name}' says text, ${shp}: per-frame logits (CTC)`), ...ctcLayout(batchAxis, 2, rank) };
  if (hint === 'dense' && spatial) {
    const channels = dims[1] ?? 1;
    return channels === 1 || batchAxis !== 0
      ? { ...base, kind: 'dense', form: 'logits', normalization: 'sigmoid', reason: `the name '${name}' says mask, ${shp}: per-pixel logits`, source: 'graph' }
      : logitsTask(base, 'dense', 1, `the name '${name}' says segmentation, ${shp}: per-pixel class logits`);
  }
  return regression(
    base,
    `no Softmax, ArgMax, L2 normalisation, labels or telling name: ${shp} is regression (give --task ${name}=classification if these are class scores)`,
  );
}

function classAxisOf(dims: number[], batchAxis: number): number {
  return dims.findIndex((d, i) => i !== batchAxis && d !== 1);
}

function ctcLayout(batchAxis: number, classAxis: number, rank: number): Pick<OutputTask, 'layout'> {
  return rank === 3 && classAxis === 2 ? { layout: batchAxis === 1 ? 'TNC' : 'NTC' } : {};
}

type Base = Pick<OutputTask, 'output' | 'dims' | 'batchAxis'>;

function logitsTask(base: Base, kind: TaskKind, classAxis: number, reason: string): OutputTask {
  return { ...base, kind, form: 'logits', normalization: 'softmax', classAxis, reason, source: 'graph' };
}

function regression(base: Base, reason: string): OutputTask {
  return { ...base, kind: 'regression', form: 'values', reason, source: 'graph' };
}

function embedding(base: Base, normalized: boolean, reason: string): OutputTask {
  return { ...base, kind: 'embedding', form: 'values', normalized, reason, source: 'graph' };
}

function fromFlag(base: Base, kind: TaskKind, facts: GraphFacts, rank: number): OutputTask {
  const act = facts.activation && !facts.activation.multiAxis ? facts.activation : undefined;
  const pre = act?.direct ? act.input : undefined;
  const why = `--task ${base.output}=${kind}`;
  const lastFeature = base.batchAxis === rank - 1 ? rank - 2 : rank - 1;
  const probs = (classAxis: number): Partial<OutputTask> =>
    act?.op === 'Sigmoid'
      ? { form: 'probabilities', normalization: 'sigmoid', preActivation: pre }
      : act
        ? { form: act.op === 'LogSoftmax' ? 'log-probabilities' : 'probabilities', normalization: 'softmax', classAxis: act.axis, preActivation: pre }
        : { form: 'logits', normalization: 'softmax', classAxis };
  switch (kind) {
    case 'classification':
      return { ...base, kind, ...probs(facts.argmaxAxis ?? lastFeature), form: probs(0).form!, reason: why, source: 'flag' };
    case 'ctc': {
      if (rank !== 3) throw new UsageError(`${why}: the output is [${base.dims.join(', ')}]; a CTC output is [N, T, C] or [T, N, C]`);
      const p = probs(2);
      if (p.normalization === 'sigmoid') throw new UsageError(`${why}: the output ends in a Sigmoid; CTC needs per-frame class scores`);
      return { ...base, kind, ...p, form: p.form!, classAxis: 2, layout: base.batchAxis === 1 ? 'TNC' : 'NTC', reason: why, source: 'flag' };
    }
    case 'embedding':
      return { ...base, kind, form: 'values', normalized: facts.l2Normalized, reason: why, source: 'flag' };
    case 'dense': {
      if (act) return { ...base, kind, ...probs(1), form: probs(1).form!, reason: why, source: 'flag' };
      const channels = rank >= 3 && base.batchAxis === 0 ? base.dims[1]! : 1;
      return channels > 1
        ? { ...base, kind, form: 'logits', normalization: 'softmax', classAxis: 1, reason: `${why} (per-pixel logits over ${channels} classes on axis 1)`, source: 'flag' }
        : { ...base, kind, form: 'logits', normalization: 'sigmoid', reason: `${why} (one map: per-pixel sigmoid logits)`, source: 'flag' };
    }
    case 'regression':
      return { ...base, kind, form: 'values', reason: why, source: 'flag' };
  }
}

/** Number of classes of a classification/ctc/dense-softmax output. */
export function classCount(task: OutputTask): number {
  return task.classAxis === undefined ? 1 : task.dims[task.classAxis]!;
}

/**
 * The CTC blank: --blank, else the model's metadata ('blank'), else detected from the run: a
 * CTC head spends most frames on the blank, so when the most frequent per-frame argmax is the
 * last class rather than class 0, the blank is the last class. Default 0 (PaddleOCR, PyTorch).
 */
function ctcBlank(task: OutputTask, t: HostTensor, model: Model, flag: number | undefined): { blank: number; why: string } {
  const classes = classCount(task);
  if (flag !== undefined) {
    if (!Number.isInteger(flag) || flag < 0 || flag >= classes) throw new UsageError(`--blank ${flag}: '${task.output}' has ${classes} classes (0…${classes - 1})`);
    return { blank: flag, why: '--blank' };
  }
  const meta = model.metadataProps?.find((p) => p.key === 'blank')?.value;
  if (meta !== undefined && /^\d+$/.test(meta.trim()) && Number(meta) < classes) return { blank: Number(meta), why: "the model's metadata" };
  const counts = new Float64Array(classes);
  const x = t.data as Float32Array;
  for (let r = 0; r < x.length / classes; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (x[r * classes + c]! > x[r * classes + best]!) best = c;
    counts[best]!++;
  }
  const frames = x.length / classes;
  const top = counts.indexOf(Math.max(...counts));
  if (top === classes - 1 && classes > 1 && counts[0]! < counts[top]!) {
    return { blank: top, why: `detected: the last class is the most frequent per-frame argmax (${((100 * counts[top]!) / frames).toFixed(0)} % of ${frames} frames)` };
  }
  return { blank: 0, why: counts[0]! === Math.max(...counts) ? `default; class 0 is the most frequent per-frame argmax (${((100 * counts[0]!) / frames).toFixed(0)} % of frames)` : 'default' };
}

/** Decides the task of every float output of the model from one run's outputs. */
export function detectTasks(model: Model, ev: TaskEvidence, opts: TaskOptions = {}): OutputTask[] {
  const names = model.graph.outputs.map((o) => o.name!).filter((n) => ev.sample[n]?.dtype === 'float32');
  const flags = parseTaskFlags(opts.task, model.graph.outputs.map((o) => o.name!));
  for (const [name] of flags) {
    if (!names.includes(name)) throw new UsageError(`--task ${name}=…: output '${name}' is not a float32 output; only those are distilled and compared`);
  }
  return names.map((name) => {
    const t = ev.sample[name]!;
    const flagged = flags.get(name);
    const task = flagged ? fromFlag({ output: name, dims: t.dims, batchAxis: batchAxisOf(t.dims, ev.single?.[name]) }, flagged, graphFacts(model, name, t.dims.length), t.dims.length) : decide(model, name, t, ev);
    if (task.kind !== 'ctc') return task;
    const { blank, why } = ctcBlank(task, t, model, opts.blank);
    return { ...task, blank, reason: `${task.reason}; blank ${blank} (${why})` };
  });
}

/** One line per output for the reports. */
export function describeTask(t: OutputTask): string {
  const form = t.kind === 'regression' || t.kind === 'embedding' ? '' : ` ${t.form}${t.normalization === 'sigmoid' ? ' (sigmoid)' : ''}`;
  return `${t.output}: ${t.kind}${form} — ${t.reason}`;
}

/** A batch to decide the tasks on: the inputs, and what the data says about the outputs. */
export interface ProbeBatch {
  feeds: Record<string, HostTensor>;
  labels?: ArrayLike<number | bigint>;
  /** Output names the data has targets for. */
  targets?: readonly string[];
  texts?: boolean;
  /** Classes the data set names (a folder's class subfolders): one batch may hold only some. */
  classCount?: number;
}

/** Runs the teacher on the batch (and on its first sample, to find batch axes) and decides. */
export async function probeTasks(
  model: Model,
  teacher: { run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> },
  batch: ProbeBatch,
  opts: TaskOptions = {},
): Promise<OutputTask[]> {
  const sample = await teacher.run(batch.feeds);
  const n = Object.values(batch.feeds)[0]?.dims[0] ?? 1;
  let single: Record<string, number[]> | undefined;
  if (n > 1) {
    const one = Object.fromEntries(Object.entries(batch.feeds).map(([k, v]) => [k, sliceBatch(v, 0, 1)]));
    single = Object.fromEntries(Object.entries(await teacher.run(one)).map(([k, v]) => [k, v.dims]));
  }
  let labelMax: number | undefined;
  for (const l of Array.from(batch.labels ?? [], Number)) labelMax = Math.max(labelMax ?? 0, l);
  if (batch.labels && batch.classCount) labelMax = Math.max(labelMax ?? 0, batch.classCount - 1);
  return detectTasks(model, { sample, single, labelMax, targets: batch.targets, texts: batch.texts }, opts);
}
