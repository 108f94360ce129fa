// The tbn command line: yargs wiring, and the one place where errors become exit codes.
// UserError → its message on one line and its code (1 input, 2 flags, 3 thresholds);
// anything else → "internal error" and exit 70 (stack with --verbose).

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { INTERNAL_ERROR_EXIT, UserError } from '../errors.js';
import { hook as hookSignals } from '../util/atomic.js';
import { packageVersion } from '../util/package.js';
import { compressCommand } from './commands/compress.js';
import { exportCommand } from './commands/export.js';
import { inspectCommand } from './commands/inspect.js';
import { verifyCommand } from './commands/verify.js';
import type { CommonArgs, Ctx } from './options.js';
import { createUi, type UiOptions } from './ui.js';

export const VERSION = packageVersion();

let uiOverrides: UiOptions = {};
let exitCode = 0;

export function buildCli(argv: string[]) {
  return yargs(argv)
    .scriptName('tbn')
    .usage('$0 <command> [options]\n\nCompress ONNX models below one bit per weight with Tiled Bit Networks.')
    .command(inspectCommand)
    .command(compressCommand)
    .command(verifyCommand)
    .command(exportCommand)
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress or notes on stderr' })
    .option('verbose', { type: 'boolean', default: false, describe: 'Stack traces for internal errors' })
    .demandCommand(1, 'give a command: inspect, compress, verify or export')
    .strict()
    .strictCommands()
    .recommendCommands()
    .version(VERSION)
    .help()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new FlagError(msg.replace(/\s*\n\s*/g, ' '));
    });
}

class FlagError extends UserError {
  override readonly exitCode = 2;
}

export async function runHandler<A extends CommonArgs>(args: A, run: (args: A, ctx: Ctx) => Promise<unknown>): Promise<void> {
  const ui = createUi({ json: args.json, quiet: args.quiet, ...uiOverrides });
  try {
    await run(args, { ui });
  } catch (e) {
    exitCode = reportError(e, ui, !!args.verbose, uiOverrides.stderr);
  }
}

function reportError(e: unknown, _ui: unknown, verbose: boolean, stderr?: (s: string) => void): number {
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

/** Runs the CLI on argv (without node and script) and returns the exit code. */
export async function runCli(argv: string[], overrides: UiOptions = {}): Promise<number> {
  uiOverrides = overrides;
  exitCode = 0;
  const write = overrides.stderr ?? ((s: string) => process.stderr.write(s));
  const out = overrides.stdout ?? ((s: string) => process.stdout.write(s));
  try {
    const cli = buildCli(argv);
    let printed = '';
    await cli.parseAsync(argv, {}, (err, _argv, output) => {
      if (output && !err) printed = output;
    });
    if (printed) out(printed + '\n');
  } catch (e) {
    if (e instanceof FlagError) {
      write(`tbn: ${e.message} (see tbn --help)\n`);
      return 2;
    }
    return reportError(e, undefined, argv.includes('--verbose'), overrides.stderr);
  } finally {
    uiOverrides = {};
  }
  return exitCode;
}

export async function main(argv: string[]): Promise<void> {
  hookSignals(true);
  // `tbn inspect m.onnx | head` closes stdout early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const code = await runCli(hideBin(argv));
  process.exitCode = code;
}
