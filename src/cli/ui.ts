// Everything the CLI prints goes through a Ui: results to stdout, progress and warnings to
// stderr. On an interactive stderr progress is the ora spinner; where stderr is a file or a
// pipe (CI, nohup, 2>log) it is plain lines a log can keep: one at each phase change and one
// about every 10 s within a phase, each with the time since the start. --quiet silences both;
// --json keeps stdout to the one JSON document (progress still goes to stderr).

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
  /** New progress text; `phase` groups updates (default: the text with its numbers masked). */
  update(text: string, phase?: string): void;
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
  /** Plain progress lines on stderr (default: when stderr is not interactive and no override is given). */
  progressLines?: boolean;
  /** Seconds between lines within a phase (default 10). */
  lineInterval?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

const silentProgress: Progress = { update() {}, succeed() {}, fail() {}, stop() {} };

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Progress as log lines: at each phase change, else at most one per `interval` seconds. */
function lineProgress(write: (s: string) => void, now: () => number, interval: number): Progress {
  const started = now();
  let lastPhase: string | undefined;
  let lastAt = -Infinity;
  let pending: string | undefined;
  const emit = (text: string) => {
    write(`[${clock(now() - started)}] ${text}\n`);
    lastAt = now();
    pending = undefined;
  };
  return {
    update(text, phase) {
      const key = phase ?? text.replace(/[\d.,:]+/g, '#');
      if (key !== lastPhase || now() - lastAt >= interval * 1000) {
        lastPhase = key;
        emit(text);
      } else pending = text;
    },
    succeed: (text) => emit(text ?? pending ?? 'done'),
    fail: (text) => {
      if (text) emit(text);
    },
    stop: () => {},
  };
}

export function createUi(opts: UiOptions = {}): Ui {
  const stdout = opts.stdout ?? ((s: string) => process.stdout.write(s));
  const stderr = opts.stderr ?? ((s: string) => process.stderr.write(s));
  const json = !!opts.json;
  const quiet = !!opts.quiet;
  const interactive = (opts.interactive ?? (!!process.stderr.isTTY && !process.env.CI)) && !json && !quiet;
  const lines = (opts.progressLines ?? (opts.interactive === undefined && !interactive)) && !quiet;
  const now = opts.now ?? (() => performance.now());
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
      if (!interactive) {
        if (!lines) return silentProgress;
        const p = lineProgress((s) => aside(() => stderr(s)), now, opts.lineInterval ?? 10);
        p.update(text);
        return p;
      }
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
