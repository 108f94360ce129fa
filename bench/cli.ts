// bin/tbn.js in a child process, as a user runs it: for the benches that time or measure the
// CLI end to end (engine: compress wall times; verify: tbn verify figures).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** bin/tbn.js runs dist/: compile it when it is missing. */
export function ensureDist(): void {
  if (fs.existsSync(path.join(root, 'dist', 'cli', 'main.js'))) return;
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
}

/** stdout of `tbn <args>`; throws on a non-zero exit. */
export function tbnCli(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(process.execPath, [path.join(root, 'bin', 'tbn.js'), ...args], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
}
