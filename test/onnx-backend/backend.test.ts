// The ONNX backend test cases (libonnx-testdata) for every op tbn supports, discovered
// automatically: a case runs when all its ops, attributes and input/output types are supported.
// Passing cases are written to docs/onnx-backend-cases.md (a file snapshot: `vitest -u`
// refreshes it; in CI a stale list fails). Without the data: CI fails, a local run skips.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/interp/index.js';
import { toFloat64 } from '../../src/util/host-tensor.js';
import { DATA_ROOT, dataSets, listCases, type Case } from './cases.js';
import { renderCasesDoc } from './doc.js';

const present = fs.existsSync(path.join(DATA_ROOT, 'node'));

/** Cases whose expected output depends on behaviour tbn chooses not to copy; each with why. */
const RANDOM_DROPOUT = 'random masks of Dropout in training mode (tbn runs Dropout as inference)';
const EXCLUDED: Record<string, string> = Object.fromEntries(
  ['', '_default', '_default_mask', '_mask'].map((s) => [`node/test_training_dropout${s}`, RANDOM_DROPOUT]),
);

if (!present) {
  if (process.env.CI === 'true') {
    it('libonnx-testdata is installed', () => {
      throw new Error(`${DATA_ROOT} is missing: apt-get install libonnx-testdata (or set ONNX_TESTDATA)`);
    });
  } else {
    it.skip(`ONNX backend cases (libonnx-testdata not found at ${DATA_ROOT}; apt-get install libonnx-testdata)`, () => {});
  }
} else {
  const cases = listCases();
  const passed: Case[] = [];
  const runnable = cases.filter((c) => !c.skip && !EXCLUDED[`${c.suite}/${c.name}`]);

  describe.each([...new Set(runnable.map((c) => c.suite))])('%s', (suite) => {
    for (const c of runnable.filter((x) => x.suite === suite)) {
      it(c.name, () => {
        const program = compile(c.model!);
        try {
          for (const set of dataSets(c)) {
            const feeds = Object.fromEntries(program.inputs.map((inp, i) => [inp.name, set.inputs[i]!]));
            const got = program.runHost(feeds);
            program.outputNames.forEach((name, i) => {
              const want = set.outputs[i]!;
              expect(got[name]!.dims, `${name} shape`).toEqual(want.dims);
              expect(toFloat64(got[name]!), name).toBeAllclose(toFloat64(want), { atol: 1e-5, rtol: 1e-3 });
            });
          }
        } finally {
          program.dispose();
        }
        passed.push(c);
      });
    }
  });

  // Declared last, so it runs after every case. A filtered or failing run leaves the list alone.
  it('docs/onnx-backend-cases.md lists the passing cases', async (ctx) => {
    if (passed.length !== runnable.length) ctx.skip();
    await expect(renderCasesDoc(cases, passed, EXCLUDED)).toMatchFileSnapshot('../../docs/onnx-backend-cases.md');
  });
}
