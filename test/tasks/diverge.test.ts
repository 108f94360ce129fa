// A fine-tune whose loss stops being finite stops with one line naming the step and --lr, and
// writes nothing (instead of a model full of NaN).
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { tbn } from '../cli/run.js';
import { dataPath, modelPath } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

it('a diverging fine-tune exits 1 with nothing written', async () => {
  const out = path.join(tmpDir(), 'out.onnx');
  const r = await tbn('compress', modelPath('tcn-1d.onnx'), '--data', dataPath('tcn-calib.npz'), '--steps', '40', '--lr', '1e30', '-o', out);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/fine-tuning diverged: the loss is (NaN|Infinity) at step \d+ \(try a lower --lr; now 1e\+30\)/);
  expect(fs.existsSync(out)).toBe(false);
});
