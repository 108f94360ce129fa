// Timers shared by the benches that run sessions in the custom-op host's native loop (no
// JavaScript per run): a timer gives the median seconds of enough runs to fill ~0.2 s, and
// measure() interleaves rounds over several timers, each keeping its best median (the machine
// is shared, so a round that another process disturbed does not count).
import { createCustomOpSession } from '../src/runtime/custom-ops.js';
import type { HostTensor } from '../src/util/host-tensor.js';

/** time(): median wall seconds of a batch of runs; cpu: the least process CPU seconds per run seen
 * (with one onnxruntime thread that is the run's own work, whatever else the machine runs). */
export type Timer = { time(): Promise<number>; release(): Promise<void>; cpu: number };

export function median(xs: ArrayLike<number>): number {
  const s = Array.from(xs).sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export async function nativeTimer(m: Uint8Array, feeds: Record<string, HostTensor>, threads: number, maxRuns = 2000, opsLibrary?: string | null): Promise<Timer> {
  const s = await createCustomOpSession(m, { threads, ...(opsLibrary !== undefined ? { opsLibrary } : {}) });
  const first = Math.min(...s.benchmark(feeds, 3));
  const n = Math.max(5, Math.min(maxRuns, Math.round(0.2 / Math.max(1e-6, first))));
  const timer: Timer = {
    cpu: Infinity,
    async time() {
      const c0 = process.cpuUsage();
      const wall = s.benchmark(feeds, n);
      const c = process.cpuUsage(c0);
      timer.cpu = Math.min(timer.cpu, (c.user + c.system) / 1e6 / n);
      return median(wall);
    },
    release: () => s.release(),
  };
  return timer;
}

/** Best of `rounds` interleaved rounds per timer; every other round runs them in reverse order,
 * since a fixed order favoured one slot (an A/A run of one library in two slots: 4 %). */
export async function measure(timers: Timer[], rounds = 2): Promise<number[]> {
  const best = timers.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    const order = [...timers.keys()];
    if (r % 2) order.reverse();
    for (const i of order) best[i] = Math.min(best[i]!, await timers[i]!.time());
  }
  for (const t of timers) await t.release();
  return best;
}
