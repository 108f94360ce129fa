// The options of `tbn export`, declared once (see option-spec.ts).

import { dataOptions, positiveInteger, type OptionSpecs, type OptionValues } from './option-spec.js';

export const EXPORT_TARGETS = ['mcu'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

export const EXPORT_OPTIONS = {
  target: { choices: EXPORT_TARGETS, demandOption: true, describe: 'What to generate' },
  out: { type: 'string', describe: 'Output folder (default <name>_c)' },
  name: { type: 'string', describe: 'C name of the model: <name>_run(), <name>.h (default from the file name)' },
  ...dataOptions('Reference inputs, the first --samples of'),
  samples: { type: 'number', default: 10, coerce: positiveInteger('--samples'), describe: 'Reference samples in the test harness' },
  verify: { type: 'boolean', default: true, describe: 'Compile and run the harness with the host C compiler (--no-verify skips)' },
  qemu: { type: 'boolean', default: false, describe: 'Also cross-compile for Cortex-M4 and run on QEMU mps2-an386' },
  'qemu-samples': { type: 'number', default: 5, coerce: positiveInteger('--qemu-samples'), describe: 'Samples run on QEMU' },
  fit: { type: 'string', default: '256K:64K', describe: 'FLASH:RAM of the part the deployment image must fit (with --qemu)' },
  force: { type: 'boolean', default: false, describe: 'Replace an existing export in --out' },
} as const satisfies OptionSpecs;

export type ExportSettings = OptionValues<typeof EXPORT_OPTIONS>;
