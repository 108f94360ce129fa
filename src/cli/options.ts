// Option builders shared by commands, and the context every run<Cmd> receives.

import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { Ui } from './ui.js';

export interface CommonArgs {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export interface Ctx {
  ui: Ui;
  /** Set when the process is asked to stop (SIGINT): long work checks it between steps. */
  signal?: AbortSignal;
}

export function withJson<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', default: false, describe: 'Print one JSON document on stdout and nothing else' });
}

export const DATA_FLAG_HELP = '.npz (keys = input names, label), .npy, a folder of .pb tensors, or a folder / list file of images or WAV files';

export interface MediaDataArgs {
  preprocess?: string[];
  labels?: string;
}

/** --preprocess and --labels: how a folder or list of images / WAV files becomes model inputs. */
export function withMediaData<T>(y: Argv<T>) {
  return y
    .option('preprocess', {
      type: 'string',
      array: true,
      describe: "Recipe for images/WAVs: key=value,… (e.g. 'resize=keep-aspect-pad:48x320,channels=bgr,scale=1/255,mean=0.5,std=0.5') or a .json/.yaml file; input=NAME per input",
    })
    .option('labels', { type: 'string', describe: "Labels for a folder: a labels.txt or CSV file (file,label), or 'none' to ignore class subfolders" });
}

/** Parses a duration such as 90s, 10m, 1.5h (a bare number is seconds) into seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/i.exec(text);
  const seconds = m ? Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[(m[2] ?? 's').toLowerCase() as 's' | 'm' | 'h']) : NaN;
  if (!(seconds > 0)) throw new UsageError(`${flag} ${text}: expected a duration such as 90s, 10m or 1.5h`);
  return seconds;
}
