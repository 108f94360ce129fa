// The opset upgrade (src/ir/upgrade) against onnxruntime: every converted model gives the
// same outputs as its original, reports the rewrites it made, and leaves the original
// untouched; a node it cannot convert is named in one error line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { attr, graph, model, node, valueInfo } from '../../src/ir/build.js';
import { defaultOpset } from '../../src/ir/graph.js';
import { MAX_UPGRADE_TARGET, OP_HISTORY, upgradeOpset } from '../../src/ir/upgrade/index.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import type { HostTensor } from '../../src/util/host-tensor.js';
import { loadModel } from '../../src/onnx/file.js';
import { toBytes } from '../helpers/compress.js';
import { hasPythonOnnx } from '../helpers/models.js';
import { OLD_OPSET_CASES } from '../helpers/old-opset-models.js';
import { tmpDir } from '../helpers/tmp.js';

async function runOrt(bytes: Uint8Array, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const s = await createOrtSession(bytes, { threads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

describe.each(OLD_OPSET_CASES)('upgrade of $name', ({ model: original, target, converted }) => {
  it('gives the original outputs in onnxruntime and reports each rewrite', async () => {
    const before = JSON.stringify(toBytes(original));
    const { model: up, report } = upgradeOpset(original, target);
    expect(JSON.stringify(toBytes(original))).toBe(before);
    expect(defaultOpset(up)).toBe(target);
    expect(report.from).toBe(defaultOpset(original));
    expect(report.converted.map((s) => `${s.op}@${s.version}`).sort()).toEqual([...converted].sort());
    for (const s of report.converted) expect(s.how.length).toBeGreaterThan(0);
    const feeds = syntheticInputs(original, { batch: 2, seed: 3 });
    const [a, b] = [await runOrt(toBytes(original), feeds), await runOrt(toBytes(up), feeds)];
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) {
      expect(b[k]!.dims).toEqual(a[k]!.dims);
      expect(Array.from(b[k]!.data as ArrayLike<number>)).toEqual(Array.from(a[k]!.data as ArrayLike<number>));
    }
  });
});

describe('upgrade refusals', () => {
  it('names every node it cannot convert in one line', () => {
    const g = graph({
      nodes: [
        node('Relu', ['x'], ['r']),
        node('Frobnicate', ['r'], ['f'], [], { name: 'mystery' }),
        node('Dropout', ['f'], ['d', 'mask'], [], { name: 'drop' }),
        node('Cast', ['mask'], ['y'], [attr.int('to', 1)]),
      ],
      inputs: [valueInfo('x', 'float32', [1, 4])],
      outputs: [valueInfo('y', 'float32')],
    });
    const m = model(g, { opset: 9 });
    expect(() => upgradeOpset(m, 12)).toThrow(
      /^cannot convert the model from opset 9 to 12: node 'mystery' \(Frobnicate\): op Frobnicate is not in tbn's opset table.*; node 'drop' \(Dropout\): its mask output 'mask' is read/,
    );
  });

  it('refuses opsets below 7 and leaves models at or above the target alone', () => {
    const g = graph({ nodes: [node('Relu', ['x'], ['y'])], inputs: [valueInfo('x', 'float32', [1])], outputs: [valueInfo('y', 'float32')] });
    expect(() => upgradeOpset(model(g, { opset: 6 }), 12)).toThrow(/opset 6; tbn converts models from opset 7 on/);
    const m13 = model(g, { opset: 13 });
    const r = upgradeOpset(m13, 12);
    expect(r.model).toBe(m13);
    expect(r.report.converted).toEqual([]);
  });
});

/**
 * Where Debian's onnx 1.12 converter changes what the model computes (so its output is not
 * a reference): Resize 10 → 11 keeps Resize-11's default half_pixel coordinates (Resize-10
 * was asymmetric), and Hardmax 12 → 13 is treated as compatible although its axis changed
 * meaning as Softmax's did.
 */
const PYTHON_CONVERTER_GAPS = new Set(['upsample-opset7', 'softmax-opset11-to-13']);

const opTypes = (file: string) =>
  loadModel(file)
    .model.graph.nodes.map((n) => n.opType)
    .filter((op) => op !== 'Constant' && op !== 'Shape')
    .sort();

describe.skipIf(!hasPythonOnnx && process.env.CI !== 'true')('cross-check with python onnx.version_converter', () => {
  it('converts every case to the same ops, with the same outputs where python keeps the meaning; onnx.checker accepts ours', async () => {
    const dir = tmpDir();
    const file = (name: string, kind: string) => path.join(dir, `${name}.${kind}.onnx`);
    const args: string[] = [];
    for (const c of OLD_OPSET_CASES) {
      fs.writeFileSync(file(c.name, 'orig'), toBytes(c.model));
      fs.writeFileSync(file(c.name, 'tbn'), toBytes(upgradeOpset(c.model, c.target).model));
      args.push(file(c.name, 'orig'), String(c.target), file(c.name, 'python'));
    }
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'convert_version.py');
    const results = execFileSync('/usr/bin/python3', [script, ...args], { encoding: 'utf8' }).trim().split('\n');
    const check = 'import onnx,sys\nfor f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)\nprint("ok")';
    const ours = OLD_OPSET_CASES.map((c) => file(c.name, 'tbn'));
    expect(execFileSync('/usr/bin/python3', ['-c', check, ...ours], { encoding: 'utf8' }).trim()).toBe('ok');
    for (const [i, c] of OLD_OPSET_CASES.entries()) {
      expect(results[i], c.name).toBe('ok');
      if (PYTHON_CONVERTER_GAPS.has(c.name)) continue;
      expect(opTypes(file(c.name, 'tbn')), c.name).toEqual(opTypes(file(c.name, 'python')));
      const feeds = syntheticInputs(c.model, { batch: 2, seed: 7 });
      const [a, b] = [await runOrt(fs.readFileSync(file(c.name, 'tbn')), feeds), await runOrt(fs.readFileSync(file(c.name, 'python')), feeds)];
      for (const k of Object.keys(a)) expect(Array.from(b[k]!.data as ArrayLike<number>), `${c.name} ${k}`).toEqual(Array.from(a[k]!.data as ArrayLike<number>));
    }
  });
});

describe.skipIf(!hasPythonOnnx && process.env.CI !== 'true')('the opset table', () => {
  it("lists every default-domain op of opsets ≤ 13 with onnx's schema versions", () => {
    const script = `
import json
from onnx import defs
h = {}
for s in defs.get_all_schemas_with_history():
    if s.domain in ("", "ai.onnx") and s.since_version <= ${MAX_UPGRADE_TARGET}:
        h.setdefault(s.name, []).append(s.since_version)
print(json.dumps({k: sorted(v) for k, v in h.items()}))`;
    const onnxVersions = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' })) as Record<string, number[]>;
    const ours = Object.fromEntries(Object.entries(OP_HISTORY).map(([op, h]) => [op, h.versions]));
    expect(ours).toEqual(onnxVersions);
    for (const [op, h] of Object.entries(OP_HISTORY)) {
      for (const v of h.versions.slice(1).filter((x) => x > 7)) expect(h.changes[v], `${op}@${v}`).toBeTruthy();
    }
  });
});
