// Under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/, built here by
// scripts/build-native.mjs --sanitize): the kernel self-test, then a fuzz pass in which the
// sanitized ai.tbn library loads and runs the malformed models of malformed-models.ts (each must
// fail with its message), the valid bases (each must run) and seeded random corruptions of
// attributes, tiles and input shapes (any verdict, but no crash and no sanitizer report).
// Runs under CI=true, with TBN_SANITIZE=1, or when build-asan/ exists.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runChild } from '../helpers/spawn.js';
import { attr, floatTensor, valueInfo } from '../../src/ir/build.js';
import type { Attribute, Model } from '../../src/ir/types.js';
import { ortLibrary } from '../../src/runtime/custom-ops.js';
import { TBN_DOMAIN } from '../../src/tbn/format.js';
import { Rng } from '../../src/util/random.js';
import { toBytes } from '../helpers/compress.js';
import { ROOT } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { BASES, MUTATIONS } from './malformed-models.js';

const ASAN = path.join(ROOT, 'build-asan', 'Release');
const enabled = process.env.CI === 'true' || process.env.TBN_SANITIZE === '1' || fs.existsSync(ASAN);
const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer/;
// Full unwinding so the one suppression (onnxruntime's CreateEnv) can match by frame.
const env = {
  ...process.env,
  ASAN_OPTIONS: 'abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=64',
  LSAN_OPTIONS: `suppressions=${path.join(ROOT, 'custom-ops', 'test', 'lsan.supp')}:print_suppressions=0`,
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};

async function selftest(args: string[]) {
  const r = await runChild(path.join(ASAN, 'tbn_selftest'), args, { env, timeoutMs: 240_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const VALUES = [-1, 0, 1, 2, 3, 7, 2 ** 31, 2 ** 62];

/** 1–3 random corruptions of the ai.tbn node's attributes, tile or first input. */
function corrupt(m: Model, rng: Rng): Model {
  let g = m.graph;
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const n = g.nodes.find((x) => x.domain === TBN_DOMAIN)!;
    const v = () => VALUES[rng.int(VALUES.length)]!;
    const ints = () => Array.from({ length: rng.int(5) }, v);
    const edits: (() => Attribute | 'bits' | 'scales' | 'input')[] = [
      () => attr.int('p', v()),
      () => attr.int('tile_axis', v()),
      () => attr.ints('weight_shape', ints()),
      () => attr.int('group', v()),
      () => attr.ints(['strides', 'dilations', 'kernel_shape', 'pads'][rng.int(4)]!, ints()),
      () => attr.int(['transA', 'transB'][rng.int(2)]!, v()),
      () => attr.string('auto_pad', ['SAME_UPPER', 'VALID', 'x'][rng.int(3)]!),
      () => 'bits',
      () => 'scales',
      () => 'input',
    ];
    const e = edits[rng.int(edits.length)]!();
    if (e === 'bits' || e === 'scales') {
      const len = 1 + rng.int(12);
      g = { ...g, initializers: g.initializers.map((t) => (!t.name?.endsWith(`_${e}`) ? t : e === 'bits' ? { ...t, dims: [len], data: new Uint8Array(len).fill(0xa5) } : floatTensor(t.name, [len], new Float32Array(len).fill(0.5)))) };
    } else if (e === 'input') {
      const [first, ...rest] = g.inputs;
      g = { ...g, inputs: [valueInfo(first!.name!, 'float32', Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(13))), ...rest] };
    } else {
      g = { ...g, nodes: g.nodes.map((x) => (x === n ? { ...n, attributes: [...n.attributes.filter((a) => a.name !== e.name), e] } : x)) };
    }
  }
  return { ...m, graph: g };
}

describe.skipIf(!enabled)('ai.tbn under ASan + UBSan', () => {
  it('builds the sanitizer configuration', async () => {
    const r = await runChild(process.execPath, [path.join(ROOT, 'scripts', 'build-native.mjs'), '--sanitize', '--quiet'], { env: { ...process.env, CI: 'true' } });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  }, 300_000);

  it('kernel self-test: every path against the naive references, malformed sizes', async () => {
    const r = await selftest(['kernels', '400']);
    expect(r.err).not.toMatch(SANITIZER_REPORT);
    expect(r.out).toContain('400 cases, 0 failures');
    expect(r.status).toBe(0);
  }, 240_000);

  it('malformed and corrupted models: clean errors, no reports', async () => {
    const dir = tmpDir('tbn-fuzz-');
    const expected = new Map<string, RegExp | 'ok' | 'any'>();
    const write = (name: string, m: Model, want: RegExp | 'ok' | 'any') => {
      fs.writeFileSync(path.join(dir, name), toBytes(m));
      expected.set(name, want);
    };
    for (const [base, make] of Object.entries(BASES)) write(`valid-${base}.onnx`, make(), 'ok');
    MUTATIONS.forEach((mu, i) => write(`malformed-${String(i).padStart(3, '0')}.onnx`, mu.mutate(BASES[mu.base]!()), mu.message));
    const rng = new Rng(2024);
    const bases = Object.values(BASES);
    for (let i = 0; i < 120; i++) write(`random-${String(i).padStart(3, '0')}.onnx`, corrupt(bases[i % bases.length]!(), rng), 'any');

    const r = await selftest(['fuzz', ortLibrary(), path.join(ASAN, process.platform === 'darwin' ? 'libtbn_ort_ops.dylib' : 'libtbn_ort_ops.so'), dir]);
    expect(r.err).not.toMatch(SANITIZER_REPORT);
    expect(r.status, r.err.slice(-2000)).toBe(0);
    const verdicts = new Map(r.out.split('\n').filter((l) => l.endsWith('.onnx') || l.includes('.onnx ')).map((l) => {
      const [file, stage, ...msg] = l.split(' ');
      return [file!, { stage: stage!, message: msg.join(' ') }] as const;
    }));
    expect(verdicts.size).toBe(expected.size);
    let rejected = 0;
    for (const [file, want] of expected) {
      const v = verdicts.get(file)!;
      if (want === 'ok') expect(v.stage, `${file}: ${v.message}`).toBe('ok');
      else if (want instanceof RegExp) {
        expect(v.stage, file).not.toBe('ok');
        expect(v.message, file).toMatch(want);
      }
      if (v.stage !== 'ok') rejected++;
    }
    expect(rejected).toBeGreaterThan(MUTATIONS.length);
  }, 240_000);
});
