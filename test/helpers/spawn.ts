// A child process of minutes without blocking the vitest worker: the worker must answer its
// RPC pings while it waits (a spawnSync that long makes vitest report an unhandled "Timeout
// calling onTaskUpdate" and exit 1, though every test passed).
import { spawn, type SpawnOptions } from 'node:child_process';

export interface ChildResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runChild(cmd: string, args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    const [out, err]: string[][] = [[], []];
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => err.push(d.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, stdout: out.join(''), stderr: err.join('') + (signal ? `\nkilled by ${signal}` : '') });
    });
  });
}
