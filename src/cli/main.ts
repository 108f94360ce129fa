// The tbn command line: the yargs parser over the four commands, and the process entry point.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../errors.js';
import { hook as hookSignals } from '../util/atomic.js';
import { packageVersion } from '../util/package.js';
import { GLOBAL_OPTIONS, INVOCATION, reportError, type Invocation } from './command.js';
import { compressCommand } from './commands/compress.js';
import { exportCommand } from './commands/export.js';
import { inspectCommand } from './commands/inspect.js';
import { verifyCommand } from './commands/verify.js';
import type { UiOptions } from './ui.js';

class FlagError extends UserError {
  override readonly exitCode = 2;
}

export function buildCli(argv: string[]) {
  return yargs(argv)
    .scriptName('tbn')
    .usage('$0 <command> [options]\n\nCompress ONNX models below one bit per weight with Tiled Bit Networks.')
    .command(inspectCommand)
    .command(compressCommand)
    .command(verifyCommand)
    .command(exportCommand)
    .options(GLOBAL_OPTIONS)
    .demandCommand(1, 'give a command: inspect, compress, verify or export')
    .strict()
    .strictCommands()
    .recommendCommands()
    .version(packageVersion())
    .help()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs wraps what a declared option's coerce throws (a bad flag value) in a YError.
      if (err && err.name !== 'YError') throw err;
      throw new FlagError((err?.message ?? msg).replace(/\s*\n\s*/g, ' '));
    });
}

/** Runs the CLI on argv (without node and script) and returns the exit code. */
export async function runCli(argv: string[], ui: UiOptions = {}): Promise<number> {
  const invocation: Invocation = { ui, exitCode: 0 };
  const write = ui.stderr ?? ((s: string) => process.stderr.write(s));
  const out = ui.stdout ?? ((s: string) => process.stdout.write(s));
  try {
    let printed = '';
    await buildCli(argv).parseAsync(argv, { [INVOCATION]: invocation }, (err, _argv, output) => {
      if (output && !err) printed = output;
    });
    if (printed) out(printed + '\n');
  } catch (e) {
    if (e instanceof FlagError) {
      write(`tbn: ${e.message} (see tbn --help)\n`);
      return 2;
    }
    return reportError(e, argv.includes('--verbose'), ui.stderr);
  }
  return invocation.exitCode;
}

export async function main(argv: string[]): Promise<void> {
  hookSignals(true);
  // `tbn inspect m.onnx | head` closes stdout early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = await runCli(hideBin(argv));
}
