// Atomic file output: write beside the target under a temporary name, fsync, rename. Pending
// temporaries are removed on exit and on SIGINT/SIGTERM so that an interrupted run leaves
// either the complete output or nothing.

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

const pending = new Set<string>();
let hooked = false;
let announce = false;

function cleanup(): void {
  for (const p of pending) {
    try {
      fs.unlinkSync(p);
    } catch {
      /* already gone */
    }
  }
  pending.clear();
}

/**
 * Installs the exit/signal cleanup. The CLI does it at start (`cli`: a signal is reported on
 * stderr and Ctrl-C always exits 130); library use gets it with its first AtomicFile, quietly
 * unless an output was being written.
 */
export function hook(cli = false): void {
  announce ||= cli;
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      const writing = pending.size > 0;
      cleanup();
      if (announce || writing) process.stderr.write(`tbn: interrupted (${sig}); no partial output was left\n`);
      process.exit(sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : 129);
    });
  }
}

export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** A temporary file that becomes `target` on commit(), or disappears on abort(). */
export class AtomicFile {
  readonly tmp: string;
  private fd: number | undefined;
  constructor(readonly target: string) {
    hook();
    this.tmp = tempPathFor(target);
    pending.add(this.tmp);
    this.fd = fs.openSync(this.tmp, 'wx', 0o644);
  }
  write(data: Uint8Array, position?: number): void {
    if (this.fd === undefined) throw new Error('write after close');
    let off = 0;
    while (off < data.length) {
      off += fs.writeSync(this.fd, data, off, data.length - off, position === undefined ? null : position + off);
    }
  }
  commit(): void {
    if (this.fd !== undefined) {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    fs.renameSync(this.tmp, this.target);
    pending.delete(this.tmp);
  }
  abort(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    try {
      fs.unlinkSync(this.tmp);
    } catch {
      /* never created or already gone */
    }
    pending.delete(this.tmp);
  }
}

/** Writes several files so that each appears complete or not at all; all are aborted on error. */
export function writeFilesAtomic(files: { path: string; write: (f: AtomicFile) => void }[]): void {
  const open: AtomicFile[] = [];
  try {
    for (const spec of files) {
      const f = new AtomicFile(spec.path);
      open.push(f);
      spec.write(f);
    }
    for (const f of open) f.commit();
  } catch (e) {
    for (const f of open) f.abort();
    throw e;
  }
}
