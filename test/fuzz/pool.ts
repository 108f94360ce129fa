// A small pool of worker threads running CLI invocations with a per-case time limit and a
// bounded heap. A case that times out or kills its worker is reported as such, and the
// worker is replaced.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface CaseResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
  crashed: string | null;
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.mjs');

class Slot {
  worker!: Worker;
  constructor(private heapMb: number) {
    this.spawn();
  }
  spawn(): void {
    this.worker = new Worker(WORKER, { resourceLimits: { maxOldGenerationSizeMb: this.heapMb } });
    this.worker.unref();
  }
  run(argv: string[], timeoutMs: number): Promise<CaseResult> {
    return new Promise((resolve) => {
      const started = performance.now();
      const done = (r: CaseResult) => {
        clearTimeout(timer);
        this.worker.off('message', onMessage);
        this.worker.off('error', onError);
        this.worker.off('exit', onExit);
        resolve(r);
      };
      const onMessage = (m: Omit<CaseResult, 'timedOut' | 'crashed'>) => done({ ...m, timedOut: false, crashed: null });
      const onError = (e: Error) => {
        done({ code: -1, stdout: '', stderr: '', ms: performance.now() - started, timedOut: false, crashed: e.message });
        this.spawn();
      };
      const onExit = (c: number) => {
        done({ code: -1, stdout: '', stderr: '', ms: performance.now() - started, timedOut: false, crashed: `worker exited ${c}` });
        this.spawn();
      };
      const timer = setTimeout(() => {
        void this.worker.terminate();
        done({ code: -1, stdout: '', stderr: '', ms: timeoutMs, timedOut: true, crashed: null });
        this.spawn();
      }, timeoutMs);
      this.worker.on('message', onMessage);
      this.worker.on('error', onError);
      this.worker.on('exit', onExit);
      this.worker.postMessage({ id: 0, argv });
    });
  }
}

export class CliPool {
  private slots: Slot[];
  private free: Slot[];
  private waiting: ((s: Slot) => void)[] = [];
  constructor(size: number, heapMb = 1536) {
    this.slots = Array.from({ length: size }, () => new Slot(heapMb));
    this.free = [...this.slots];
  }
  async run(argv: string[], timeoutMs: number): Promise<CaseResult> {
    const slot = this.free.pop() ?? (await new Promise<Slot>((r) => this.waiting.push(r)));
    try {
      return await slot.run(argv, timeoutMs);
    } finally {
      const next = this.waiting.shift();
      if (next) next(slot);
      else this.free.push(slot);
    }
  }
  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
