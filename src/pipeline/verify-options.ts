// The options of `tbn verify`, declared once (see option-spec.ts).

import { labelledDataOptions, nonNegativeNumber, positiveInteger, type OptionSpecs, type OptionValues } from './option-spec.js';
import { UsageError } from '../errors.js';

function fraction(flag: string, lo: number, example: string) {
  return (v: number): number => {
    if (!(v >= lo && v <= 1)) throw new UsageError(`${flag} is a fraction between ${lo} and 1 (e.g. ${example})`);
    return v;
  };
}

function probability(v: number): number {
  if (!(v > 0 && v < 1)) throw new UsageError('--threshold is a probability strictly between 0 and 1');
  return v;
}

function classIndex(v: number): number {
  if (!(Number.isInteger(v) && v >= 0)) throw new UsageError('--blank must be a class index ≥ 0');
  return v;
}

export const VERIFY_OPTIONS = {
  ...labelledDataOptions('Test data'),
  runtime: { choices: ['ort', 'custom-ops'] as const, default: 'ort' as 'ort' | 'custom-ops', describe: 'How the compressed model runs: ort = stock onnxruntime (its ONNX functions); custom-ops = with the ai.tbn kernel library' },
  'batch-size': { type: 'number', default: 64, coerce: positiveInteger('--batch-size'), describe: 'Samples per run' },
  samples: { type: 'number', coerce: positiveInteger('--samples'), describe: 'Compare at most this many samples (default: all data, or 256 synthetic)' },
  threads: { type: 'number', default: 0, describe: 'onnxruntime intra-op threads (0 = its default)' },
  'latency-runs': { type: 'number', default: 10, coerce: positiveInteger('--latency-runs'), describe: 'Timed runs per model (after 3 warm-up runs)' },
  'max-drop': { type: 'number', coerce: nonNegativeNumber('--max-drop'), describe: 'Fail (exit 3) if accuracy drops by more than this many points' },
  'min-agreement': { type: 'number', coerce: fraction('--min-agreement', 0, '0.98'), describe: 'Fail (exit 3) if top-1 agreement is below this fraction' },
  'max-mse': { type: 'number', coerce: nonNegativeNumber('--max-mse'), describe: 'Fail (exit 3) if the MSE between the outputs is above this' },
  'max-cer': { type: 'number', coerce: fraction('--max-cer', 0, '0.05'), describe: "Fail (exit 3) if a CTC output's character error rate against the original's decode is above this fraction" },
  'min-cosine': { type: 'number', coerce: fraction('--min-cosine', -1, '0.9'), describe: "Fail (exit 3) if an embedding output's mean cosine to the original is below this" },
  'min-iou': { type: 'number', coerce: fraction('--min-iou', 0, '0.9'), describe: "Fail (exit 3) if a dense output's IoU with the original's map is below this" },
  task: { type: 'string', array: true, describe: 'What an output is: KIND or OUTPUT=KIND, KIND one of classification, ctc, embedding, dense, regression (default: detected)' },
  blank: { type: 'number', coerce: classIndex, describe: 'CTC blank index (default: the model metadata, or detected; 0 otherwise)' },
  charset: { type: 'string', describe: 'CTC tokens, one per line (PaddleOCR dictionary format), to compare the decode with text labels' },
  threshold: { type: 'number', coerce: probability, describe: 'Probability threshold of binary maps for IoU (default 0.5)' },
} as const satisfies OptionSpecs;

export type VerifySettings = OptionValues<typeof VERIFY_OPTIONS>;
