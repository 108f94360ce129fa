// The arena planner: buffers are reused once dead, views and in-place outputs share storage,
// the caller's input and output buffers never enter the arena, and — checked on random
// schedules — no two tensors alive at the same step ever overlap in bytes.
import { describe, expect, it } from 'vitest';
import { planArena, type PlanStep, type PlanValue } from '../../src/mcu/arena.js';
import { Rng } from '../../src/util/random.js';

const v = (name: string, bytes: number, role: PlanValue['role'] = 'temp'): PlanValue => ({ name, bytes, role });

describe('arena planner', () => {
  it('reuses a chain of buffers: three tensors alive at most two at a time', () => {
    // x → a → b → c → y: a and c can share, b sits beside them
    const plan = planArena(
      [v('x', 400, 'input'), v('a', 100), v('b', 100), v('c', 100), v('y', 40, 'output')],
      [
        { reads: ['x'], writes: ['a'] },
        { reads: ['a'], writes: ['b'] },
        { reads: ['b'], writes: ['c'] },
        { reads: ['c'], writes: ['y'] },
      ],
    );
    expect(plan.bytes).toBe(200);
    expect(plan.lowerBound).toBe(200);
    expect(plan.storage.get('a')!.offset).toBe(plan.storage.get('c')!.offset);
    expect(plan.storage.get('b')!.offset).not.toBe(plan.storage.get('a')!.offset);
    expect(plan.storage.get('x')).toMatchObject({ kind: 'input', buffer: 'x' });
    expect(plan.storage.get('y')).toMatchObject({ kind: 'output', buffer: 'y' });
  });

  it('keeps a residual input alive across the branch', () => {
    // a → b → c; y = c + a: a lives until the add, so a, b and c are all alive at step 2
    const plan = planArena(
      [v('x', 64, 'input'), v('a', 64), v('b', 64), v('c', 64), v('y', 64, 'output')],
      [
        { reads: ['x'], writes: ['a'] },
        { reads: ['a'], writes: ['b'] },
        { reads: ['b'], writes: ['c'] },
        { reads: ['c', 'a'], writes: ['y'] },
      ],
    );
    const off = ['a', 'b', 'c'].map((n) => plan.storage.get(n)!.offset);
    expect(new Set(off).size).toBe(3);
    expect(plan.bytes).toBe(192);
    expect(plan.lowerBound).toBe(192);
  });

  it('in place: an elementwise output takes over an input that dies there, never a caller input', () => {
    const steps: PlanStep[] = [
      { reads: ['x'], writes: ['a'], inPlace: [0] }, // x is the caller's (read-only): no
      { reads: ['a'], writes: ['b'], inPlace: [0] }, // a dies here: b takes its buffer
      { reads: ['b'], writes: ['y'] },
    ];
    const plan = planArena([v('x', 32, 'input'), v('a', 32), v('b', 32), v('y', 8, 'output')], steps);
    expect(plan.storage.get('a')!.kind).toBe('temp');
    expect(plan.storage.get('b')!.offset).toBe(plan.storage.get('a')!.offset);
    expect(plan.bytes).toBe(32);
  });

  it('in place is refused while the input is still read later', () => {
    const plan = planArena(
      [v('x', 32, 'input'), v('a', 32), v('b', 32), v('y', 32, 'output')],
      [
        { reads: ['x'], writes: ['a'] },
        { reads: ['a'], writes: ['b'], inPlace: [0] },
        { reads: ['a', 'b'], writes: ['y'] },
      ],
    );
    expect(plan.storage.get('b')!.offset).not.toBe(plan.storage.get('a')!.offset);
    expect(plan.bytes).toBe(64);
  });

  it('views share storage; a view of a temp that is an output lives in the caller’s buffer', () => {
    const plan = planArena(
      [v('x', 16, 'input'), v('a', 16), v('y', 16, 'output'), v('xv', 16)],
      [
        { reads: ['x'], writes: ['xv'], alias: true },
        { reads: ['xv'], writes: ['a'] },
        { reads: ['a'], writes: ['y'], alias: true },
      ],
    );
    expect(plan.storage.get('xv')).toMatchObject({ kind: 'input', buffer: 'x' });
    expect(plan.storage.get('a')).toMatchObject({ kind: 'output', buffer: 'y' });
    expect(plan.bytes).toBe(0);
  });

  it('never merges two caller buffers (the view becomes a copy)', () => {
    const plan = planArena([v('x', 16, 'input'), v('y', 16, 'output')], [{ reads: ['x'], writes: ['y'], alias: true }]);
    expect(plan.storage.get('y')).toMatchObject({ kind: 'output', buffer: 'y' });
  });

  it('gives scratch space only for its own step', () => {
    const plan = planArena(
      [v('x', 16, 'input'), v('a', 100), v('y', 16, 'output')],
      [
        { reads: ['x'], writes: ['a'], scratchBytes: 50 },
        { reads: ['a'], writes: ['y'], scratchBytes: 100 },
      ],
    );
    expect(plan.bytes).toBe(200);
    expect(plan.scratch.get(0)).toBeDefined();
    const [s0, s1, a] = [plan.scratch.get(0)!, plan.scratch.get(1)!, plan.storage.get('a')!.offset];
    expect(s0 + 52 <= a || a + 100 <= s0).toBe(true);
    expect(s1 + 100 <= a || a + 100 <= s1).toBe(true);
  });

  it('random schedules: live tensors never overlap and the arena is at least the largest live set', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 200; trial++) {
      const n = 3 + rng.int(12);
      const values: PlanValue[] = [v('in', 64, 'input')];
      const steps: PlanStep[] = [];
      const made = ['in'];
      for (let i = 0; i < n; i++) {
        const name = `t${i}`;
        const last = i === n - 1;
        values.push(v(name, 4 * (1 + rng.int(64)), last ? 'output' : 'temp'));
        const reads = [made[made.length - 1]!, made[rng.int(made.length)]!];
        steps.push({ reads, writes: [name], inPlace: rng.next() < 0.5 ? [0, 1] : [], alias: rng.next() < 0.15 });
        made.push(name);
      }
      // equal sizes for aliases, as the exporter guarantees
      steps.forEach((s) => {
        if (s.alias) values.find((x) => x.name === s.writes[0])!.bytes = values.find((x) => x.name === s.reads[0])!.bytes;
      });
      const plan = planArena(values, steps);
      const live = (name: string) => {
        const first = name === 'in' ? -1 : steps.findIndex((s) => s.writes.includes(name));
        const reads = steps.map((s, i) => (s.reads.includes(name) ? i : -1)).filter((i) => i >= 0);
        return [first, Math.max(first, ...reads)] as const;
      };
      const size = new Map(values.map((x) => [x.name, x.bytes]));
      const bufferOf = new Map(plan.buffers.flatMap((b, i) => b.values.map((name) => [name, i] as const)));
      for (const a of made) {
        for (const b of made) {
          if (a >= b) continue;
          const [sa, sb] = [plan.storage.get(a)!, plan.storage.get(b)!];
          if (sa.kind !== 'temp' || sb.kind !== 'temp' || bufferOf.get(a) === bufferOf.get(b)) continue; // one storage class: planned sharing
          const [la, lb] = [live(a), live(b)];
          if (la[0] > lb[1] || lb[0] > la[1]) continue;
          const disjoint = sa.offset + size.get(a)! <= sb.offset || sb.offset + size.get(b)! <= sa.offset;
          expect(disjoint, `trial ${trial}: ${a} and ${b} overlap`).toBe(true);
        }
      }
      expect(plan.bytes).toBeGreaterThanOrEqual(plan.lowerBound);
      for (const b of plan.buffers) expect(b.offset + b.bytes).toBeLessThanOrEqual(plan.bytes);
    }
  });
});
