// Temporary files of the data readers (inflated .npz members): one folder per process under
// the system temp folder, removed when the process exits, however it exits normally or by a
// signal the CLI handles (it calls process.exit, which runs 'exit' listeners).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let dir: string | undefined;
let count = 0;

function removeDir(): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

/** A fresh path in this process's temporary data folder (the file is not created). */
export function tempDataFile(name: string): string {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(process.env.TBN_TMPDIR || os.tmpdir(), 'tbn-data-'));
    process.once('exit', removeDir);
  }
  return path.join(dir, `${count++}-${path.basename(name).replace(/[^\w.-]/g, '_')}`);
}
