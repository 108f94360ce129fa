// The options of `tbn inspect`, declared once (see option-spec.ts).

import { DEFAULT_MIN_PARAMS } from '../tbn/sizes.js';
import { labelledDataOptions, type OptionSpecs, type OptionValues } from './option-spec.js';

export const INSPECT_OPTIONS = {
  'min-params': { type: 'number', default: DEFAULT_MIN_PARAMS, describe: 'λ: layers with fewer parameters are not tiled' },
  ...labelledDataOptions('Calibration data for --sensitivity'),
  sensitivity: { type: 'boolean', default: false, describe: 'Measure each layer at each p (and fp32) on --data' },
} as const satisfies OptionSpecs;

export type InspectSettings = OptionValues<typeof INSPECT_OPTIONS>;
