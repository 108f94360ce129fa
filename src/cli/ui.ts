// Everything the CLI prints goes through a Ui: results to stdout, progress and warnings to
// stderr. The ora spinner runs only on an interactive stderr, never under CI, --json or
// --quiet, so piped and machine-read output stays clean.

import ora, { type Ora } from 'ora';

export interface Ui {
  out(text: string): void;
  warn(text: string): void;
  info(text: string): void;
  json: boolean;
  quiet: boolean;
  progress(text: string): Progress;
}

export interface Progress {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

export interface UiOptions {
  json?: boolean;
  quiet?: boolean;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  interactive?: boolean;
}

const silentProgress: Progress = { update() {}, succeed() {}, fail() {}, stop() {} };

export function createUi(opts: UiOptions = {}): Ui {
  const stdout = opts.stdout ?? ((s: string) => process.stdout.write(s));
  const stderr = opts.stderr ?? ((s: string) => process.stderr.write(s));
  const json = !!opts.json;
  const quiet = !!opts.quiet;
  const interactive = (opts.interactive ?? (!!process.stderr.isTTY && !process.env.CI)) && !json && !quiet;
  let spinner: Ora | undefined;
  const aside = (fn: () => void) => {
    if (spinner?.isSpinning) {
      spinner.clear();
      fn();
      spinner.render();
    } else fn();
  };
  return {
    json,
    quiet,
    out: (text) => aside(() => stdout(text.endsWith('\n') ? text : text + '\n')),
    warn: (text) => aside(() => stderr(`warning: ${text}\n`)),
    info: (text) => {
      if (!quiet && !json) aside(() => stderr(text + '\n'));
    },
    progress(text) {
      if (!interactive) return silentProgress;
      spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
      const s = spinner;
      return {
        update: (t) => {
          s.text = t;
        },
        succeed: (t) => s.succeed(t),
        fail: (t) => s.fail(t),
        stop: () => s.stop(),
      };
    },
  };
}

export type Align = 'l' | 'r';

/** An aligned plain-text table (no colour codes). */
export function renderTable(headers: string[], rows: (string | number)[][], align?: Align[]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const al = align ?? headers.map((_, c) => (rows.every((r) => typeof r[c] === 'number') ? 'r' : 'l'));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (al[c] === 'r' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(cells[0]!), sep, ...cells.slice(1).map(line)].join('\n') + '\n';
}
