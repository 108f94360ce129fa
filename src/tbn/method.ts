// The compression method from a chosen plan to a compressed model in memory: channel
// permutation, tiles from the trained weights, BatchNorm re-estimation, fine-tuning by
// distillation, rewrite, and a final BatchNorm re-estimation. Used once by `tbn compress`
// and once per confirmed candidate by the per-layer budget search.

import type { Dataset } from '../data/dataset.js';
import { getBackend } from '../engine/index.js';
import type { Model, OnnxTensor } from '../ir/types.js';
import { createOrtSession } from '../runtime/ort.js';
import { recalibrateBatchNorm, type BatchNormUpdate } from './batchnorm.js';
import { finetune, type FinetuneOptions, type FinetuneResult } from './finetune.js';
import { asStoredType } from './float-view.js';
import { fuseEpilogues, type FuseReport } from './fuse-epilogue.js';
import { consumedWeight, layerOutput } from './layers.js';
import { permuteChannels, type PermutationReport } from './permute.js';
import { rewriteModel, type OutputFormat, type TiledLayer } from './rewrite.js';
import { selectLayers, type LayerChoice, type Selection, type SelectOptions } from './select.js';
import { growableShapes, probeValueShapes } from './shapes.js';
import { computeTile, type AlphaMode } from './tile.js';
import { describeSchedule, formatDuration, type ScheduleChoice } from './time-budget.js';
import type { KeyValue } from '../ir/types.js';

export interface MethodContext {
  /** The original model (file and IR): the teacher. */
  modelPath: string;
  model: Model;
  data?: Dataset;
  shapes: Map<string, number[]>;
  format: OutputFormat;
  alpha: AlphaMode;
  seed: number;
  permute: boolean;
  bnRecalib: boolean;
  finetune: boolean;
  /** Fold BatchNorm/activation/Add into the fused ops' epilogues (custom format; default on). */
  fuse?: boolean;
  training: Partial<FinetuneOptions>;
  progress: (phase: MethodPhase, message: string) => void;
  warn: (message: string) => void;
  metadata?: (tiled: TiledLayer[]) => KeyValue[];
  /** performance.now() by which the whole run should end (--time-budget): fine-tuning is fitted to it. */
  deadline?: number;
}

export type MethodPhase = 'select' | 'permute' | 'tile' | 'batchnorm' | 'finetune' | 'budget' | 'shapes' | 'fuse';

export interface FinetuneSummary {
  steps: number;
  epochs: number;
  /** Samples per step (batchSizeFor). */
  batchSize: number;
  seconds: number;
  lossBefore: number;
  lossAfter: number;
  backend: string;
  /** How the schedule was fitted to --time-budget. */
  schedule: ScheduleChoice | null;
  /** Where the number of epochs came from (compressModel: the flag or the default rule). */
  epochsReason?: string;
  /** What each output was taken to be and the loss it got; intermediate features matched. */
  tasks: FinetuneResult['tasks'];
  features: FinetuneResult['features'];
  augment: FinetuneResult['augment'];
}

export interface MethodResult {
  compressed: Model;
  tiled: TiledLayer[];
  selection: Selection;
  permutation: PermutationReport[];
  batchNorm: BatchNormUpdate[];
  finetune: FinetuneSummary | null;
  /** What was folded into each fused op's epilogue. */
  fused: FuseReport[];
}

export function tileChoices(choices: LayerChoice[], alpha: AlphaMode): TiledLayer[] {
  return choices.map((c) => ({ layer: c.layer, layout: c.layout, alphaMode: alpha, tile: computeTile(consumedWeight(c.layer), c.layout, alpha) }));
}

/**
 * Seconds the fine-tuning loop gets under --time-budget: what is left until the deadline,
 * less as much again as the phases before it took (BatchNorm re-estimation, rewriting and
 * evaluation come after it too).
 */
function loopBudget(ctx: MethodContext, begun: number): number | undefined {
  if (ctx.deadline === undefined) return undefined;
  const now = performance.now();
  return Math.max(0, (ctx.deadline - now - (now - begun)) / 1000);
}

function batchNormStats(model: Model): string[] {
  return model.graph.nodes.filter((n) => n.opType === 'BatchNormalization').flatMap((n) => n.inputs.slice(3, 5));
}

/** The model with new values for these initializers and Constant-node tensors (by value name). */
export function replaceInitializers(model: Model, values: Map<string, Float32Array>): Model {
  const replaced = (t: OnnxTensor, name: string | undefined) =>
    name && values.has(name) ? { ...t, data: asStoredType(values.get(name)!, t.dtype), encoding: t.encoding === 'typed' ? ('raw' as const) : t.encoding } : t;
  const initializers = model.graph.initializers.map((t) => replaced(t, t.name));
  const nodes = model.graph.nodes.map((n) =>
    n.opType === 'Constant' && n.outputs[0] && values.has(n.outputs[0]) ? { ...n, attributes: n.attributes.map((a) => (a.name === 'value' && a.t ? { ...a, t: replaced(a.t, n.outputs[0]) } : a)) } : n,
  );
  return { ...model, graph: { ...model.graph, initializers, nodes } };
}

function copyInitializers(target: Model, source: Model, names: string[]): Model {
  const from = new Map(source.graph.initializers.filter((t) => t.name && names.includes(t.name)).map((t) => [t.name!, t.data as Float32Array]));
  return replaceInitializers(target, from);
}

export async function compressWith(ctx: MethodContext, select: SelectOptions, opts: { dryRun?: boolean } = {}): Promise<MethodResult> {
  const { model, data, shapes, alpha } = ctx;
  const begun = performance.now();
  ctx.progress('select', 'choosing layers');
  let selection = selectLayers(model, select);
  let working = model;
  let permutation: PermutationReport[] = [];
  let movedNodes = new Set<number>();
  if (ctx.permute && selection.chosen.some((c) => c.regionsAlongOutput)) {
    ctx.progress('permute', 'permuting channels');
    // Dynamic dimensions not given by --input-shape are taken from the data (one sample).
    const fromData = data ? new Map(Object.entries(data.shapes).map(([k, t]) => [k, [1, ...t.dims]])) : undefined;
    const probed = await growableShapes(model, shapes)
      .catch(() => (fromData ? growableShapes(model, new Map([...fromData, ...shapes])) : undefined))
      .catch(() => undefined);
    if (!probed) ctx.warn('channels not permuted: the model could not be run on synthetic inputs (give --input-shape)');
    else {
      ({ model: working, report: permutation, movedNodes } = permuteChannels(model, selection.chosen, probed.base, probed.grown));
    }
  }
  selection = selectLayers(working, { ...select, movedNodes });
  ctx.progress('tile', `tiling ${selection.chosen.length} layers`);
  let tiled = tileChoices(selection.chosen, alpha);
  const bnSet = data && { data, model, samples: Math.min(data.count, 2000), seed: ctx.seed, shapes };
  const recalibrate = ctx.bnRecalib && tiled.length > 0 && working.graph.nodes.some((n) => n.opType === 'BatchNormalization');
  if (recalibrate && !bnSet) ctx.warn('BatchNorm statistics not re-estimated: that needs --data');
  let summary: FinetuneSummary | null = null;
  if (ctx.finetune && tiled.length && !opts.dryRun) {
    if (!data) ctx.warn('no --data: fine-tuning on synthetic inputs, and accuracy is not measured');
    const reference = working; // fp32 and permuted: the teacher of intermediate features
    if (recalibrate && bnSet) {
      ctx.progress('batchnorm', 're-estimating BatchNorm statistics before fine-tuning');
      const first = await recalibrateBatchNorm(rewriteModel(working, tiled, { format: 'expanded' }), bnSet);
      working = copyInitializers(working, first.model, batchNormStats(working));
    }
    const teacher = await createOrtSession(ctx.modelPath, { threads: 0, spinning: false });
    const training = { ...ctx.training, alpha, seed: ctx.seed, reference, loopSeconds: loopBudget(ctx, begun) };
    try {
      const started = Date.now();
      const r = await finetune(
        working,
        selection.chosen,
        data,
        teacher,
        {
          ...training,
          onStep: (e) =>
            ctx.progress('finetune', `fine-tuning: step ${e.step}/${e.total}, epoch ${e.epoch}/${e.epochs}, loss ${e.loss.toFixed(4)}, ${e.samplesPerSecond.toFixed(1)} samples/s, ETA ${formatDuration(e.etaSeconds)}`),
          onSchedule: (c) => ctx.progress('budget', describeSchedule(c)),
        },
        shapes,
      );
      working = replaceInitializers(working, r.updated);
      tiled = selection.chosen.map((c) => {
        const l = r.latent.get(c.layer.source.name)!;
        return { layer: c.layer, layout: c.layout, alphaMode: alpha, tile: computeTile(l.w, c.layout, alpha, l.a) };
      });
      const { tasks, features, augment } = r;
      summary = { steps: r.steps, epochs: r.steps / r.stepsPerEpoch, batchSize: r.batchSize, seconds: (Date.now() - started) / 1000, lossBefore: r.lossBefore, lossAfter: r.lossAfter, backend: getBackend().name, schedule: r.schedule ?? null, tasks, features, augment };
    } finally {
      await teacher.release();
    }
  }
  const integer = tiled.filter((t) => t.layer.integer).map((t) => t.layer.node.name || t.layer.label);
  if (integer.length && !opts.dryRun) ctx.warn(`${integer.join(', ')}: the integer op became the tiled float layer; the DynamicQuantizeLinear that only fed it is dropped (its input is no longer quantized)`);
  ctx.progress('shapes', 'probing output shapes');
  const outputs = new Map(tiled.map((t) => [layerOutput(t.layer), t.layer.dtype]));
  const valueInfo = ctx.format === 'custom' && tiled.length ? await probeValueShapes(model, [...outputs.keys()], shapes, outputs) : [];
  let compressed = rewriteModel(working, tiled, { format: ctx.format, metadata: ctx.metadata?.(tiled), valueInfo });
  let batchNorm: BatchNormUpdate[] = [];
  if (recalibrate && bnSet) {
    ctx.progress('batchnorm', 're-estimating BatchNorm statistics');
    ({ model: compressed, updates: batchNorm } = await recalibrateBatchNorm(compressed, bnSet));
  }
  // Last: the folded BatchNorms must carry their re-estimated statistics.
  let fused: FuseReport[] = [];
  if (ctx.format === 'custom' && ctx.fuse !== false && tiled.length && !opts.dryRun) {
    ctx.progress('fuse', 'folding BatchNorm, activations and residual adds into the tiled layers');
    ({ model: compressed, report: fused } = await fuseEpilogues(compressed, { shapes }));
  }
  return { compressed, tiled, selection, permutation, batchNorm, finetune: summary, fused };
}
