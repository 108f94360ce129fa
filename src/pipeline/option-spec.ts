// Each command's options are declared once, as yargs option objects keyed by flag name; the
// CLI builds its parser from them and the pipeline's option types are derived from them, so a
// flag keeps one name (its camelCase) from the command line to the code that uses it, and its
// default is written once (taken from the method's own defaults where there are some).
// Validation that yargs cannot express lives in `coerce`, which yargs runs while parsing:
// a bad value is a UsageError (exit 2) naming the flag.

import type { InferredOptionTypes, Options } from 'yargs';
import { UsageError } from '../errors.js';

export type OptionSpecs = Record<string, Options>;

type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** The parsed values of a declaration, keyed by the camelCase of each flag. */
export type OptionValues<F extends OptionSpecs> = { [K in keyof F & string as CamelCase<K>]: InferredOptionTypes<F>[K] };

export const camelCase = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Fills what a programmatic caller left out with the declared defaults (the CLI's parser already has). */
export function withDefaults<F extends OptionSpecs, G extends Partial<OptionValues<F>>>(specs: F, given: G): OptionValues<F> & G {
  const values: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(specs)) if (spec.default !== undefined) values[camelCase(flag)] = spec.default;
  for (const [key, value] of Object.entries(given)) if (value !== undefined) values[key] = value;
  return values as OptionValues<F> & G;
}

export function positiveInteger(flag: string) {
  return (v: number): number => {
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${flag} must be a positive integer`);
    return v;
  };
}

export function nonNegativeInteger(flag: string) {
  return (v: number): number => {
    if (!Number.isInteger(v) || v < 0) throw new UsageError(`${flag} must be an integer ≥ 0`);
    return v;
  };
}

export function positiveNumber(flag: string) {
  return (v: number): number => {
    if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`${flag} must be a positive number`);
    return v;
  };
}

export function nonNegativeNumber(flag: string) {
  return (v: number): number => {
    if (!(v >= 0) || !Number.isFinite(v)) throw new UsageError(`${flag} must be a number ≥ 0`);
    return v;
  };
}

/** A duration such as 90s, 10m, 1.5h (a bare number is seconds), in seconds. */
export function duration(flag: string) {
  return (text: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/i.exec(String(text));
    const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? 's').toLowerCase() as 's' | 'm' | 'h'] : NaN;
    if (!(seconds > 0)) throw new UsageError(`${flag} ${text}: expected a duration such as 90s, 10m or 1.5h`);
    return seconds;
  };
}

const DATA_FORMATS = '.npz (keys = input names, label), .npy, a folder of .pb tensors, or a folder / list file of images or WAV files';

/** The data options every command shares; `purpose` says what the command uses the data for. */
export function dataOptions(purpose: string) {
  return {
    data: { type: 'string', describe: `${purpose}: ${DATA_FORMATS}` },
    'input-shape': { type: 'string', array: true, describe: 'Shape for a dynamic input, name=d1,d2,… (repeatable)' },
    preprocess: {
      type: 'string',
      array: true,
      describe: "Recipe for images/WAVs: key=value,… (e.g. 'resize=keep-aspect-pad:48x320,channels=bgr,scale=1/255,mean=0.5,std=0.5') or a .json/.yaml file; input=NAME per input",
    },
    labels: { type: 'string', describe: "Labels for a folder: a labels.txt or CSV file (file,label), or 'none' to ignore class subfolders" },
  } as const satisfies OptionSpecs;
}

/** dataOptions plus the key of the class labels in an .npz. */
export function labelledDataOptions(purpose: string) {
  return {
    ...dataOptions(purpose),
    'label-key': { type: 'string', default: 'label', describe: 'Key of the integer class labels in --data' },
  } as const satisfies OptionSpecs;
}

/** λ, shared by inspect and compress (the rule: chooseLambda in tbn/sizes.ts). */
export const minParamsOption = {
  'min-params': {
    type: 'number',
    coerce: nonNegativeInteger('--min-params'),
    describe: 'λ: layers with fewer parameters are not tiled (default: chosen from the model — the largest layers until they hold ≥ 90 % of the tileable weight bytes and the rest, the first layer aside, no more bytes than they would at 1 bit per weight, never under 1 024)',
  },
} as const satisfies OptionSpecs;
