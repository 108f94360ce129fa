// The per-element tile math that the CPU and the CUDA kernels share (native/kernels/
// tbn_tile_math.h) against the format's definition in src/tbn/tile.ts, on seeded random tiles
// (odd shapes, p dividing or not either matrix axis, both tile axes, one α per layer, random
// padding bits): decoded values, stream ↔ weight index both ways, bits, 32-bit windows at any
// position, the strategy chosen for W as [out][in] with the weight rebuilt from its
// decomposition (tile rows reused with region scales / input chunks combined / per element),
// and the conv bookkeeping of which channels a computed tile row feeds. tile_math_check.cc is
// built with the host C++ compiler and — when nvcc is installed — as CUDA (functions
// __host__ __device__), and the header must also compile as strict C99. No GPU is needed.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTile, numel, streamIndex, unpackBits, type TileLayout } from '../../src/tbn/tile.js';
import { Rng } from '../../src/util/random.js';
import { ROOT } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { cc, cxx, exec, nvcc } from './helpers.js';

interface Case {
  layout: TileLayout;
  bits: Uint8Array;
  alpha: Float32Array;
}

const KERNELS = path.join(ROOT, 'native', 'kernels');
const SOURCE = path.join(ROOT, 'test', 'gpu', 'tile_math_check.cc');

function makeCases(): Case[] {
  const rng = new Rng(42);
  const shapes: number[][] = [[7], [12, 40], [33, 8], [40, 12], [6, 6], [1, 9], [9, 1], [16, 3, 3, 3], [8, 2, 3]];
  for (let i = 0; i < 40; i++) shapes.push(Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(9)));
  return shapes.map((shape) => {
    const n = numel(shape);
    const divisors = Array.from({ length: Math.min(16, n) }, (_, k) => k + 1).filter((k) => n % k === 0);
    const p = rng.int(6) === 0 ? n : divisors[rng.int(divisors.length)]!;
    const q = n / p;
    const bits = new Uint8Array(Math.ceil(q / 8)).map(() => rng.int(256)); // padding bits random too
    const alpha = new Float32Array(rng.int(4) === 0 ? 1 : p).map(() => Math.fround(0.05 + rng.next()));
    return { layout: { shape, p, tileAxis: rng.int(2) as 0 | 1 }, bits, alpha };
  });
}

function input(cs: Case[]): string {
  const lines = [String(cs.length)];
  for (const c of cs) {
    const { shape, p, tileAxis } = c.layout;
    lines.push([shape.length, ...shape, p, tileAxis, c.bits.length, ...c.bits, c.alpha.length, ...Array.from(c.alpha, (a) => a.toPrecision(9))].join(' '));
  }
  return lines.join('\n') + '\n';
}

/** The checker's output, split per case into its keyed lines. */
function parse(out: string): Map<string, string[]>[] {
  const cases: Map<string, string[]>[] = [];
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [key, ...rest] = line.split(' ');
    if (key === 'case') cases.push(new Map());
    else cases.at(-1)!.set(key === 'plan' || key === 'conv' ? `${key} ${rest[0]}` : key!, rest);
  }
  return cases;
}

/** A float the checker printed with %.9g, back to the float32 it was (9 digits round-trip). */
const f32 = (s: string) => Math.fround(Number(s));

/** Bit `i` of the raw tile bytes (what a window reads, padding included); 0 past the end. */
const rawBit = (bits: Uint8Array, i: number) => (i >> 3 < bits.length ? (bits[i >> 3]! >> (i & 7)) & 1 : 0);

function check(c: Case, got: Map<string, string[]>) {
  const { shape, p, tileAxis } = c.layout;
  const n = numel(shape);
  const q = n / p;
  const w = decodeTile({ bits: c.bits, alpha: c.alpha }, c.layout);
  const label = `shape [${shape}] p ${p} axis ${tileAxis} scales ${c.alpha.length}`;
  expect(got.get('decode')!.map(f32), `decode, ${label}`).toEqual(Array.from(w));
  expect(got.get('s2i')!.map(Number), `stream → index, ${label}`).toEqual(Array.from({ length: n }, (_, k) => streamIndex(k, c.layout)));
  expect(got.get('i2s')!.map((k) => streamIndex(Number(k), c.layout)), `index → stream, ${label}`).toEqual(Array.from({ length: n }, (_, i) => i));
  expect(got.get('bits')!.map(Number), `bits, ${label}`).toEqual(Array.from(unpackBits(c.bits, q), (s) => (s > 0 ? 1 : 0)));
  for (const pair of got.get('win')!) {
    const [pos, value] = pair.split(':').map(Number) as [number, number];
    let want = 0;
    for (let t = 31; t >= 0; t--) want = want * 2 + rawBit(c.bits, pos + t);
    expect(value, `window at ${pos}, ${label}`).toBe(want);
  }
  const m = shape[0]!;
  const kc = n / m;
  for (const wof of [0, 1]) {
    const [om, mode, ro, ri] = got.get(`plan ${wof}`)!.slice(1, 5).map(Number) as number[];
    const vals = got.get(`plan ${wof}`)!.slice(5).map(f32);
    const out = wof ? m : kc;
    const inp = wof ? kc : m;
    const outMajor = (wof === 1) === (tileAxis === 0);
    const want = outMajor && out % p === 0 ? [0, out / p, inp] : !outMajor && inp % p === 0 ? [1, out, inp / p] : [2, out, inp];
    expect([om, mode, ro, ri], `plan (w_out_first ${wof}), ${label}`).toEqual([outMajor ? 1 : 0, ...want]);
    // W as [out][in]: shape[0] is the output (row o of W) or the input (column o of W).
    const matrix = Array.from({ length: out * inp }, (_, k) => {
      const o = Math.floor(k / inp);
      const i = k % inp;
      return w[wof ? o * inp + i : i * out + o]!;
    });
    expect(vals, `W rebuilt from strategy ${mode} (w_out_first ${wof}), ${label}`).toEqual(matrix);
  }
  // conv (shape[0] = output channels, OUT_REUSE): rows of a group feed each channel exactly
  // once, and channel oc is fed by tile row oc mod ro (decodeTile: its row is that row × α).
  for (const [key, parts] of got) {
    if (!key.startsWith('conv ')) continue;
    const groups = Number(parts[0]);
    const ro = m / p;
    const ocg = m / groups;
    const perGroup = parts.slice(1).join(' ').split('/').slice(1);
    expect(perGroup, `conv groups ${groups}, ${label}`).toHaveLength(groups);
    perGroup.forEach((text, g) => {
      const fed: number[] = [];
      for (const row of text.split('|').slice(1)) {
        const [j, list] = row.split(':') as [string, string];
        const channels = list.trim().split(' ').filter(Boolean).map(Number);
        expect(channels.length, `row ${j} feeds a channel`).toBeGreaterThan(0);
        for (const oc of channels) expect(oc % ro, `channel ${oc} uses tile row ${j}`).toBe(Number(j));
        fed.push(...channels);
      }
      expect(fed.sort((a, b) => a - b), `group ${g} of ${groups}, ${label}`).toEqual(Array.from({ length: ocg }, (_, t) => g * ocg + t));
    });
  }
}

const compilers: [string, () => string | undefined, (src: string, exe: string) => string[]][] = [
  ['host C++', cxx, (src, exe) => ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', `-I${KERNELS}`, src, '-o', exe]],
  ['nvcc (CUDA, host side)', nvcc, (src, exe) => ['-std=c++17', '-x', 'cu', `-I${KERNELS}`, '-Werror', 'all-warnings', src, '-o', exe]],
];

describe('tbn_tile_math.h (shared by the CPU and CUDA kernels) = src/tbn/tile.ts', () => {
  const cs = makeCases();

  it('compiles as strict C99', () => {
    const c = cc();
    if (!c) return;
    const r = exec(c, ['-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror', '-fsyntax-only', '-x', 'c', path.join(KERNELS, 'tbn_tile_math.h')]);
    expect(r.status, r.err).toBe(0);
  });

  for (const [name, find, args] of compilers) {
    const compiler = find();
    it.skipIf(!compiler)(`${name}${compiler ? '' : ' (skipped: not installed)'}: every function agrees on ${cs.length} random tiles`, () => {
      const exe = path.join(tmpDir('tbn-tilemath-'), 'check');
      const b = exec(compiler!, args(SOURCE, exe), { timeout: 300_000 });
      expect(b.status, `${b.out}${b.err}`).toBe(0);
      const r = exec(exe, [], { input: input(cs) });
      expect(r.status, r.err).toBe(0);
      const got = parse(r.out);
      expect(got).toHaveLength(cs.length);
      cs.forEach((c, i) => check(c, got[i]!));
      // The OUT_REUSE conv bookkeeping was exercised (shapes with p dividing shape[0]).
      expect(got.some((g) => [...g.keys()].some((k) => k.startsWith('conv ')))).toBe(true);
    }, 300_000);
  }
});
