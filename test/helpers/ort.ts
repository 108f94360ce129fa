// One onnxruntime run of a model (IR or file), and the check that two models compute the same
// function: the same outputs on the same inputs within a tolerance scaled to the output's range.
import { expect } from 'vitest';
import type { syntheticInputs } from '../../src/data/synthetic.js';
import type { Model } from '../../src/ir/types.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import { toBytes } from './compress.js';

type Feeds = ReturnType<typeof syntheticInputs>;

export async function runOnce(m: Model | string, feeds: Feeds, opts: { noOptimize?: boolean } = {}) {
  const s = await createOrtSession(typeof m === 'string' ? m : toBytes(m), { threads: 1, ...opts });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** Every output of `b` equals `a`'s within atol·max|a| + rtol·|a|. */
export async function expectSameOutputs(a: Model, b: Model, feeds: Feeds, tol: { atol: number; rtol: number }): Promise<void> {
  const [x, y] = [await runOnce(a, feeds), await runOnce(b, feeds)];
  for (const k of Object.keys(x)) {
    const ref = x[k]!.data as Float32Array;
    const scale = Math.max(...Array.from(ref, Math.abs));
    expect(y[k]!.data as Float32Array).toBeAllclose(ref, { atol: tol.atol * scale, rtol: tol.rtol });
  }
}
