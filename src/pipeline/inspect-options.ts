// The options of `tbn inspect`, declared once (see option-spec.ts).

import { labelledDataOptions, nonNegativeInteger, type OptionSpecs, type OptionValues } from './option-spec.js';

export const INSPECT_OPTIONS = {
  'min-params': { type: 'number', coerce: nonNegativeInteger('--min-params'), describe: 'λ: layers with fewer parameters are not tiled (default: chosen from the model — the largest layers until they hold ≥ 90 % of the tileable weight bytes, never under 1 024)' },
  ...labelledDataOptions('Calibration data for --sensitivity'),
  sensitivity: { type: 'boolean', default: false, describe: 'Measure each layer at each p (and fp32) on --data' },
} as const satisfies OptionSpecs;

export type InspectSettings = OptionValues<typeof INSPECT_OPTIONS>;
