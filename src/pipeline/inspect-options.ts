// The options of `tbn inspect`, declared once (see option-spec.ts).

import { labelledDataOptions, minParamsOption, type OptionSpecs, type OptionValues } from './option-spec.js';

export const INSPECT_OPTIONS = {
  ...minParamsOption,
  ...labelledDataOptions('Calibration data for --sensitivity'),
  sensitivity: { type: 'boolean', default: false, describe: 'Measure each layer at each p (and fp32) on --data' },
} as const satisfies OptionSpecs;

export type InspectSettings = OptionValues<typeof INSPECT_OPTIONS>;
