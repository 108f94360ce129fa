// `tbn compress --max-drop D` / `--target-bits B`: choose p per layer. The calibration data is
// split into a calibration part and a held-out part; a sensitivity pass measures every
// layer at every candidate p; the Pareto frontier of size against predicted loss gives the
// candidates; each candidate is confirmed by running the whole method (fine-tuning included)
// and measuring the drop on the held-out part. For --max-drop the smallest confirmed point
// wins (a search over the frontier, stepping back when a confirmation misses).

import { UsageError, UserError } from '../errors.js';
import { subsetData, type Dataset } from '../data/dataset.js';
import { encodeModelInline } from '../onnx/file.js';
import { bitsOf, paretoFrontier, pointForBits, predictedDrop, type BudgetPoint } from '../tbn/budget.js';
import { compressWith, type MethodContext, type MethodResult } from '../tbn/method.js';
import { KEEP_FP32, type SelectOptions } from '../tbn/select.js';
import { layerSensitivity, sensitivityProgress, type LayerSensitivity } from '../tbn/sensitivity.js';
import { Rng } from '../util/random.js';
import { compareModels } from '../verify/compare.js';

export interface BudgetOptions {
  maxDrop?: number;
  targetBits?: number;
  /** Fraction of --data held out to confirm the budget (default 0.2). */
  holdout?: number;
  /** Fine-tuning epochs while searching --max-drop (default: the full fine-tune, whose results the confirmation reuses). */
  searchEpochs?: number;
  maxP?: number;
}

export interface BudgetAttempt {
  bitsPerWeight: number;
  bytes: number;
  ps: Record<string, number | 'fp32'>;
  predictedLoss: number;
  predictedDrop: number | null;
  measuredDrop: number;
  epochs: number;
  met: boolean;
}

export interface BudgetReport {
  mode: 'max-drop' | 'target-bits';
  target: number;
  holdoutSamples: number;
  /** How the drop is measured: accuracy points (labels) or top-1 disagreement points. */
  dropMeasure: 'accuracy' | 'disagreement';
  sensitivity: LayerSensitivity[];
  frontierPoints: number;
  attempts: BudgetAttempt[];
  chosen: BudgetAttempt;
  notes: string[];
}

export function splitHoldout(data: Dataset, fraction: number, seed: number): { calib: Dataset; holdout: Dataset } {
  if (!(fraction > 0 && fraction < 1)) throw new UsageError('--holdout must be a fraction between 0 and 1');
  const order = new Rng(seed + 7919).permutation(data.count);
  const n = Math.max(1, Math.round(data.count * fraction));
  if (data.count - n < 1) throw new UserError(`${data.source}: ${data.count} samples are too few to hold out ${fraction}`);
  return {
    calib: subsetData(data, order.subarray(n)),
    holdout: subsetData(data, order.subarray(0, n), `${data.source} (held out)`),
  };
}

function psByName(point: BudgetPoint, table: LayerSensitivity[]): Record<string, number | 'fp32'> {
  return Object.fromEntries(table.map((l) => [l.weight, point.ps.get(l.weight) || 'fp32']));
}

/** Accuracy points (or top-1 disagreement points) lost on the held-out data. */
async function measureDrop(modelPath: string, result: MethodResult, holdout: Dataset, ctx: MethodContext): Promise<{ drop: number; measure: 'accuracy' | 'disagreement' }> {
  const a = await compareModels(modelPath, encodeModelInline(result.compressed), { data: holdout, model: ctx.model, samples: holdout.count, seed: ctx.seed, shapes: ctx.shapes, tasks: { task: ctx.training.task, blank: ctx.training.blank } });
  const o = a.outputs.find((x) => x.top1Agreement !== null);
  if (!o) throw new UserError('--max-drop and --target-bits need a classification output ([N, C] logits) to measure the drop');
  return o.accuracy ? { drop: 100 * (o.accuracy.original - o.accuracy.compressed), measure: 'accuracy' } : { drop: 100 * (1 - o.top1Agreement!), measure: 'disagreement' };
}

export async function compressWithBudget(
  ctx: MethodContext,
  select: SelectOptions,
  budget: BudgetOptions,
  onProgress: (message: string) => void,
): Promise<{ result: MethodResult; report: BudgetReport }> {
  if (budget.maxDrop === undefined && budget.targetBits === undefined) throw new Error('no budget');
  if (budget.maxDrop !== undefined && budget.targetBits !== undefined) throw new UsageError('give --max-drop or --target-bits, not both');
  if (!ctx.data) throw new UsageError(`${budget.maxDrop !== undefined ? '--max-drop' : '--target-bits'} needs --data (calibration data with a held-out part)`);
  const { calib, holdout } = splitHoldout(ctx.data, budget.holdout ?? 0.2, ctx.seed);
  const work: MethodContext = { ...ctx, data: calib };
  const table = await layerSensitivity(ctx.modelPath, ctx.model, calib, select, ctx.shapes, {
    maxP: budget.maxP ?? 32,
    powersOfTwo: false,
    alpha: ctx.alpha,
    permute: ctx.permute,
    seed: ctx.seed,
    task: ctx.training.task,
    onLayer: (d, t, node) => onProgress(sensitivityProgress(d, t, node)),
  });
  if (!table.length) throw new UserError('no layer can be tiled under these options (see tbn inspect)');
  const frontier = paretoFrontier(table);
  const attempts: BudgetAttempt[] = [];
  const notes: string[] = [];
  const fullEpochs = ctx.training.epochs;
  // One fine-tune per (frontier point, epochs): the search and the confirmation share results.
  const tried = new Map<string, { result: MethodResult; attempt: BudgetAttempt }>();
  const run = async (point: BudgetPoint, epochs: number | undefined, limit: number | undefined): Promise<{ result: MethodResult; attempt: BudgetAttempt }> => {
    const key = `${frontier.indexOf(point)}:${epochs ?? 'full'}`;
    const seen = tried.get(key);
    if (seen) return seen;
    const layerP = new Map(table.map((l) => [l.weight, point.ps.get(l.weight) || KEEP_FP32]));
    onProgress(`confirming ${bitsOf(point, table).toFixed(3)} bits/weight (${[...layerP.values()].map((p) => p || 'fp32').join(', ')})`);
    const result = await compressWith({ ...work, training: { ...work.training, epochs: epochs ?? work.training.epochs } }, { ...select, layerP, binarizeRest: false });
    const { drop } = await measureDrop(ctx.modelPath, result, holdout, ctx);
    const attempt: BudgetAttempt = {
      bitsPerWeight: bitsOf(point, table),
      bytes: point.bytes,
      ps: psByName(point, table),
      predictedLoss: point.cost,
      predictedDrop: predictedDrop(point, table),
      measuredDrop: drop,
      epochs: epochs ?? fullEpochs ?? 0,
      met: limit === undefined || drop <= limit,
    };
    attempts.push(attempt);
    tried.set(key, { result, attempt });
    return { result, attempt };
  };

  let final: { result: MethodResult; attempt: BudgetAttempt };
  if (budget.targetBits !== undefined) {
    const point = pointForBits(frontier, table, budget.targetBits);
    if (!point) throw new UserError(`--target-bits ${budget.targetBits}: even the smallest choice takes ${bitsOf(frontier[0]!, table).toFixed(3)} bits per weight`);
    final = await run(point, undefined, undefined);
  } else {
    const limit = budget.maxDrop!;
    // Binary search for the smallest point whose fine-tuned model meets the limit (with the
    // full fine-tune unless --search-epochs asks for a shorter one).
    const searchEpochs = budget.searchEpochs === fullEpochs ? undefined : budget.searchEpochs;
    let lo = 0;
    let hi = frontier.length - 1;
    while (lo < hi && searchEpochs !== 0) {
      const mid = Math.floor((lo + hi) / 2);
      const { attempt } = await run(frontier[mid]!, searchEpochs, limit);
      if (attempt.met) hi = mid;
      else lo = mid + 1;
    }
    // Confirm with the full fine-tune; step back to larger points while it misses.
    for (let i = lo; ; i++) {
      final = await run(frontier[i]!, undefined, limit);
      if (final.attempt.met) break;
      if (i === frontier.length - 1) {
        notes.push(`no point met --max-drop ${limit}; the last one (every layer fp32) is returned`);
        break;
      }
      notes.push(`${final.attempt.bitsPerWeight.toFixed(3)} bits/weight missed the budget after the full fine-tune (drop ${final.attempt.measuredDrop.toFixed(2)}); stepping back`);
    }
  }
  const dropMeasure = holdout.labelled ? 'accuracy' : 'disagreement';
  return {
    result: final.result,
    report: {
      mode: budget.maxDrop !== undefined ? 'max-drop' : 'target-bits',
      target: budget.maxDrop ?? budget.targetBits!,
      holdoutSamples: holdout.count,
      dropMeasure,
      sensitivity: table,
      frontierPoints: frontier.length,
      attempts,
      chosen: final.attempt,
      notes,
    },
  };
}
