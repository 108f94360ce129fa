// The static arena: one byte array that holds every run-time tensor, with buffers reused once
// their tensors are dead. Invariants:
//  * a storage class is a set of tensors sharing one buffer: views (Reshape, Flatten, …) and
//    outputs computed in place over an input that dies at that step;
//  * a class lives from the step that first writes it to the step that last reads it (both
//    included), so a kernel's inputs and outputs never overlap unless the kernel is in place;
//  * the model's inputs and outputs live in the caller's buffers (never in the arena); input
//    buffers are read-only, and two caller buffers are never merged (a copy is emitted);
//  * classes of overlapping lifetimes get disjoint byte ranges: greedy placement by size, each
//    at the lowest offset free for its whole lifetime (TFLite's "greedy by size" planner).

export type Role = 'input' | 'output' | 'temp';

export interface PlanValue {
  name: string;
  bytes: number;
  role: Role;
}

export interface PlanStep {
  reads: string[];
  writes: string[];
  /** Output 0 is a view of input 0 (share storage when allowed). */
  alias?: boolean;
  /** Indices into reads whose storage writes[0] may take when that input dies here. */
  inPlace?: number[];
  scratchBytes?: number;
}

export interface Storage {
  kind: Role;
  /** Byte offset in the arena (temp), or the name of the caller's buffer (input/output). */
  offset: number;
  buffer?: string;
}

export interface ArenaBuffer {
  offset: number;
  bytes: number;
  first: number;
  last: number;
  values: string[];
}

export interface ArenaPlan {
  bytes: number;
  /** Largest sum of live arena bytes at any one step: no plan can do better. */
  lowerBound: number;
  storage: Map<string, Storage>;
  /** Arena offset of each step's scratch space. */
  scratch: Map<number, number>;
  buffers: ArenaBuffer[];
}

interface Cls {
  id: number;
  bytes: number;
  role: Role;
  buffer?: string;
  first: number;
  last: number;
  values: string[];
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

export function planArena(values: PlanValue[], steps: PlanStep[], align = 4): ArenaPlan {
  const cls = new Map<string, Cls>();
  const end = steps.length;
  values.forEach((v, id) =>
    cls.set(v.name, { id, bytes: v.bytes, role: v.role, buffer: v.role === 'temp' ? undefined : v.name, first: v.role === 'input' ? -1 : end, last: v.role === 'output' ? end : -1, values: [v.name] }),
  );
  const at = (name: string) => {
    const c = cls.get(name);
    if (!c) throw new Error(`internal: arena plan has no value '${name}'`);
    return c;
  };
  steps.forEach((s, i) => {
    for (const w of s.writes) if (w) at(w).first = Math.min(at(w).first, i);
    for (const r of s.reads) if (r && cls.has(r)) at(r).last = Math.max(at(r).last, i);
  });
  for (const c of new Set(cls.values())) c.last = Math.max(c.last, c.first);

  const merge = (a: Cls, b: Cls) => {
    const keep = a.role !== 'temp' ? a : b;
    const gone = keep === a ? b : a;
    keep.bytes = Math.max(a.bytes, b.bytes);
    keep.first = Math.min(a.first, b.first);
    keep.last = Math.max(a.last, b.last);
    keep.values.push(...gone.values);
    for (const v of gone.values) cls.set(v, keep);
  };
  steps.forEach((s, i) => {
    const out = s.writes[0];
    if (!out) return;
    if (s.alias && cls.has(s.reads[0]!)) {
      const [a, b] = [at(s.reads[0]!), at(out)];
      if (a !== b && (a.role === 'temp' || b.role === 'temp') && a.bytes === b.bytes) merge(a, b);
      return;
    }
    for (const k of s.inPlace ?? []) {
      const name = s.reads[k];
      if (!name || !cls.has(name)) continue;
      const [a, b] = [at(name), at(out)];
      const dies = a.last === i && a.role !== 'input' && a.role !== 'output';
      if (a !== b && dies && b.role !== 'input' && a.bytes === b.bytes) {
        merge(a, b);
        break;
      }
    }
  });

  // Arena items: temp classes and per-step scratch.
  const classes = [...new Set(cls.values())];
  const items = classes.filter((c) => c.role === 'temp').map((c) => ({ bytes: alignUp(c.bytes, align), first: c.first, last: c.last, cls: c as Cls | undefined, step: -1, offset: 0 }));
  steps.forEach((s, i) => {
    if (s.scratchBytes) items.push({ bytes: alignUp(s.scratchBytes, align), first: i, last: i, cls: undefined, step: i, offset: 0 });
  });
  const placed: typeof items = [];
  for (const it of [...items].sort((a, b) => b.bytes - a.bytes || a.first - b.first)) {
    const busy = placed.filter((p) => p.first <= it.last && it.first <= p.last).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of busy) {
      if (offset + it.bytes <= p.offset) break;
      offset = Math.max(offset, p.offset + p.bytes);
    }
    it.offset = offset;
    placed.push(it);
  }
  const bytes = placed.reduce((m, p) => Math.max(m, p.offset + p.bytes), 0);
  let lowerBound = 0;
  for (let i = 0; i < steps.length; i++) {
    lowerBound = Math.max(lowerBound, items.filter((p) => p.first <= i && i <= p.last).reduce((a, p) => a + p.bytes, 0));
  }

  const storage = new Map<string, Storage>();
  for (const c of classes) {
    const item = items.find((p) => p.cls === c);
    for (const v of c.values) storage.set(v, { kind: c.role, offset: item?.offset ?? 0, buffer: c.buffer });
  }
  const scratch = new Map(items.filter((p) => p.step >= 0).map((p) => [p.step, p.offset]));
  const buffers = placed
    .map((p) => ({ offset: p.offset, bytes: p.bytes, first: p.first, last: p.last, values: p.cls ? p.cls.values : [`(scratch of step ${p.step})`] }))
    .sort((a, b) => a.offset - b.offset || a.first - b.first);
  return { bytes, lowerBound, storage, scratch, buffers };
}
