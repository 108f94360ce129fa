// The options of `tbn verify`, declared once (see option-spec.ts).

import { labelledDataOptions, nonNegativeNumber, positiveInteger, type OptionSpecs, type OptionValues } from './option-spec.js';
import { UsageError } from '../errors.js';

function fraction(flag: string) {
  return (v: number): number => {
    if (!(v >= 0 && v <= 1)) throw new UsageError(`${flag} is a fraction between 0 and 1 (e.g. 0.98)`);
    return v;
  };
}

export const VERIFY_OPTIONS = {
  ...labelledDataOptions('Test data'),
  runtime: { choices: ['ort', 'custom-ops'] as const, default: 'ort' as 'ort' | 'custom-ops', describe: 'How the compressed model runs: ort = stock onnxruntime (its ONNX functions); custom-ops = with the ai.tbn kernel library' },
  'batch-size': { type: 'number', default: 64, coerce: positiveInteger('--batch-size'), describe: 'Samples per run' },
  samples: { type: 'number', coerce: positiveInteger('--samples'), describe: 'Compare at most this many samples (default: all data, or 256 synthetic)' },
  threads: { type: 'number', default: 0, describe: 'onnxruntime intra-op threads (0 = its default)' },
  'latency-runs': { type: 'number', default: 10, coerce: positiveInteger('--latency-runs'), describe: 'Timed runs per model (after 3 warm-up runs)' },
  'max-drop': { type: 'number', coerce: nonNegativeNumber('--max-drop'), describe: 'Fail (exit 3) if accuracy drops by more than this many points' },
  'min-agreement': { type: 'number', coerce: fraction('--min-agreement'), describe: 'Fail (exit 3) if top-1 agreement is below this fraction' },
  'max-mse': { type: 'number', coerce: nonNegativeNumber('--max-mse'), describe: 'Fail (exit 3) if the MSE between the outputs is above this' },
} as const satisfies OptionSpecs;

export type VerifySettings = OptionValues<typeof VERIFY_OPTIONS>;
