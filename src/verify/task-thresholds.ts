// `tbn verify` thresholds on task metrics (metrics.ts): --max-cer on CTC outputs (character
// error rate of the compressed model's decode against the original's), --min-cosine on
// embeddings (mean per-sample cosine), --min-iou on dense maps (IoU against the original's map).
// A threshold that no output of the model can be checked against is a usage error.

import { UsageError } from '../errors.js';
import type { OutputAgreement } from './compare.js';

export type TaskThresholdFlag = '--max-cer' | '--min-cosine' | '--min-iou';

/** The task options of `tbn verify` that the thresholds read (declared in pipeline/verify-options.ts). */
export interface TaskThresholdOptions {
  /** Thresholds: CTC character error rate, embedding mean cosine, map IoU. */
  maxCer?: number;
  minCosine?: number;
  minIou?: number;
  /** `--task` values, `--blank`, `--charset FILE`, `--threshold` (binary maps). */
  task?: string[];
  blank?: number;
  charset?: string;
  threshold?: number;
}

interface Check {
  flag: TaskThresholdFlag;
  limit: (o: TaskThresholdOptions) => number | undefined;
  kind: string;
  value: (o: OutputAgreement) => number | undefined;
  passed: (value: number, limit: number) => boolean;
}

const CHECKS: Check[] = [
  { flag: '--max-cer', limit: (o) => o.maxCer, kind: 'ctc', value: (o) => o.sequence?.cer, passed: (v, l) => v <= l },
  { flag: '--min-cosine', limit: (o) => o.minCosine, kind: 'embedding', value: (o) => o.embedding?.meanCosine, passed: (v, l) => v >= l },
  { flag: '--min-iou', limit: (o) => o.minIou, kind: 'dense', value: (o) => o.dense?.iou, passed: (v, l) => v >= l },
];

export function checkTaskThresholds(o: TaskThresholdOptions, outputs: OutputAgreement[]): { flag: TaskThresholdFlag; output: string; limit: number; value: number; passed: boolean }[] {
  const results = [];
  for (const c of CHECKS) {
    const limit = c.limit(o);
    if (limit === undefined) continue;
    const matching = outputs.filter((x) => c.value(x) !== undefined);
    if (!matching.length) {
      const kinds = outputs.map((x) => `${x.name} (${x.task.kind})`).join(', ');
      throw new UsageError(`${c.flag}: no ${c.kind} output to check (outputs: ${kinds || 'none'}); set one with --task NAME=${c.kind}`);
    }
    for (const x of matching) {
      const value = c.value(x)!;
      results.push({ flag: c.flag, output: x.name, limit, value, passed: c.passed(value, limit) });
    }
  }
  return results;
}
