// Per-layer p under a budget: from the sensitivity table, the Pareto frontier of (bytes,
// predicted loss) over all per-layer choices — a knapsack solved by merging the layers one
// at a time and pruning dominated points — and the points a size or accuracy budget picks.
// Losses of layers tiled together are taken as additive: a prediction that the search then
// confirms by fine-tuning.

import type { LayerSensitivity } from './sensitivity.js';

export interface BudgetPoint {
  /** Weight name → p (0 keeps the layer fp32); by weight, as a recurrent node has two. */
  ps: Map<string, number>;
  bytes: number;
  /** Predicted loss: the sum of the chosen entries' losses. */
  cost: number;
}

/** Frontier points kept at most: beyond it, points closer than 0.1 % in bytes are merged. */
const MAX_POINTS = 5000;

function prune(points: BudgetPoint[]): BudgetPoint[] {
  points.sort((a, b) => a.bytes - b.bytes || a.cost - b.cost);
  const out: BudgetPoint[] = [];
  let best = Infinity;
  for (const p of points) {
    if (p.cost < best - 1e-12) {
      out.push(p);
      best = p.cost;
    }
  }
  if (out.length <= MAX_POINTS) return out;
  const thinned: BudgetPoint[] = [];
  for (const p of out) {
    const last = thinned[thinned.length - 1];
    if (!last || p.bytes > last.bytes * 1.001) thinned.push(p);
  }
  return thinned;
}

/** Points ordered by bytes, each with the lowest predicted loss for its size. */
export function paretoFrontier(table: LayerSensitivity[]): BudgetPoint[] {
  let points: BudgetPoint[] = [{ ps: new Map(), bytes: 0, cost: 0 }];
  for (const layer of table) {
    const next: BudgetPoint[] = [];
    for (const pt of points) {
      for (const e of layer.entries) {
        next.push({ ps: new Map([...pt.ps, [layer.weight, e.p]]), bytes: pt.bytes + e.bytes, cost: pt.cost + e.loss });
      }
    }
    points = prune(next);
  }
  return points;
}

export function totalParams(table: LayerSensitivity[]): number {
  return table.reduce((a, l) => a + l.params, 0);
}

/** The most accurate point whose bits per weight (over the table's layers) stay ≤ `bits`. */
export function pointForBits(frontier: BudgetPoint[], table: LayerSensitivity[], bits: number): BudgetPoint | undefined {
  const budget = (bits * totalParams(table)) / 8;
  let chosen: BudgetPoint | undefined;
  for (const p of frontier) if (p.bytes <= budget) chosen = p;
  return chosen;
}

export function bitsOf(point: BudgetPoint, table: LayerSensitivity[]): number {
  return (8 * point.bytes) / totalParams(table);
}

/** The accuracy drop the table predicts for a point (sum over layers; null without labels). */
export function predictedDrop(point: BudgetPoint, table: LayerSensitivity[]): number | null {
  let sum = 0;
  for (const layer of table) {
    const e = layer.entries.find((x) => x.p === (point.ps.get(layer.weight) ?? 0));
    const d = e?.accuracyDrop ?? (e?.disagreement === null || e?.disagreement === undefined ? null : 100 * e.disagreement);
    if (d === null || d === undefined) return null;
    sum += d;
  }
  return sum;
}
