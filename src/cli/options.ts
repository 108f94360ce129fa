// Option builders shared by commands, and the context every run<Cmd> receives.

import type { Argv } from 'yargs';
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
