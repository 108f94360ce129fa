// How a command is defined and run: its positionals and declared options become the yargs
// builder and the type of its arguments; its run function gets the arguments and a context and
// returns the exit code. Errors become exit codes here, in one place: a UserError prints its
// message on one line and exits with its code (1 input, 2 flags, 3 thresholds); anything else
// is "internal error", exit 70 (stack with --verbose).
//
// What one invocation needs (the UI settings, where its exit code goes) travels in the parse
// context that runCli hands to yargs, not in module state, so runCli can run twice at once.

import type { Argv, CommandModule, Options, PositionalOptions } from 'yargs';
import { INTERNAL_ERROR_EXIT, UserError } from '../errors.js';
import type { OptionSpecs, OptionValues } from '../pipeline/option-spec.js';
import { createUi, type Progress, type Ui, type UiOptions } from './ui.js';

export interface Ctx {
  ui: Ui;
  /** Set when the process is asked to stop (SIGINT): long work checks it between steps. */
  signal?: AbortSignal;
}

/** The options every command has besides its own. */
export const JSON_OPTION = {
  json: { type: 'boolean', default: false, describe: 'Print one JSON document on stdout and nothing else' },
} as const satisfies OptionSpecs;

/** The global flags (declared on the top-level parser). */
export const GLOBAL_OPTIONS = {
  quiet: { alias: 'q', type: 'boolean', default: false, describe: 'No progress or notes on stderr' },
  verbose: { type: 'boolean', default: false, describe: 'Stack traces for internal errors' },
} as const satisfies OptionSpecs;

type Positionals = Record<string, PositionalOptions & { type: 'string' }>;

export type CommandArgs<P extends Positionals, F extends OptionSpecs> = { [K in keyof P]: string } & OptionValues<F & typeof JSON_OPTION & typeof GLOBAL_OPTIONS>;

/** One invocation of the CLI: set by runCli, read by the command that runs. */
export interface Invocation {
  ui: UiOptions;
  exitCode: number;
}

/** The key under which runCli passes the Invocation to yargs (as parse context). */
export const INVOCATION = '__tbnInvocation';

export function defineCommand<P extends Positionals, F extends OptionSpecs>(def: {
  command: string;
  describe: string;
  positionals: P;
  options: F;
  /** Flags that exclude each other: flag → the flags it conflicts with. */
  conflicts?: Record<string, readonly string[]>;
  run: (args: CommandArgs<P, F>, ctx: Ctx) => Promise<number>;
}): CommandModule {
  return {
    command: def.command,
    describe: def.describe,
    builder: (y: Argv) => {
      for (const [name, spec] of Object.entries(def.positionals)) y = y.positional(name, spec);
      y = y.options({ ...def.options, ...JSON_OPTION } as Record<string, Options>);
      for (const [flag, others] of Object.entries(def.conflicts ?? {})) y = y.conflicts(flag, [...others]);
      return y;
    },
    handler: async (argv) => {
      const invocation = argv[INVOCATION] as Invocation;
      // yargs has parsed argv against exactly these positionals and options.
      const args = argv as unknown as CommandArgs<P, F>;
      const ui = createUi({ json: args.json, quiet: args.quiet, ...invocation.ui });
      try {
        invocation.exitCode = await def.run(args, { ui });
      } catch (e) {
        invocation.exitCode = reportError(e, !!args.verbose, invocation.ui.stderr);
      }
    },
  };
}

/** Prints an error the way the CLI reports it and returns the exit code. */
export function reportError(e: unknown, verbose: boolean, stderr?: (s: string) => void): number {
  const write = stderr ?? ((s: string) => process.stderr.write(s));
  if (e instanceof UserError) {
    write(`tbn: ${e.message.split('\n')[0]}\n`);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  write(`tbn: internal error: ${err.message.split('\n')[0]}${verbose ? '' : ' (run with --verbose for details)'}\n`);
  if (verbose && err.stack) write(err.stack + '\n');
  return INTERNAL_ERROR_EXIT;
}

/** Runs long work under a progress display that ends as the work does, failed or not. */
export async function withProgress<T>(ui: Ui, label: string, work: (progress: Progress) => Promise<T>): Promise<T> {
  const progress = ui.progress(label);
  let result: T;
  try {
    result = await work(progress);
  } catch (e) {
    progress.fail();
    throw e;
  }
  progress.stop();
  return result;
}
