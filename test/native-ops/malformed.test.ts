// A malformed compressed model gets a clean error from the custom-op library — a UserError
// naming what is wrong, at load or at the first run — never a crash. The unmutated models run.
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { UserError } from '../../src/errors.js';
import type { Model } from '../../src/ir/types.js';
import { createCustomOpSession } from '../../src/runtime/custom-ops.js';
import { toBytes } from '../helpers/compress.js';
import { BASES, MUTATIONS } from './malformed-models.js';
import { nativeReason, skipNative } from './helpers.js';

async function loadAndRun(m: Model): Promise<void> {
  const s = await createCustomOpSession(toBytes(m), { threads: 2 });
  try {
    await s.run(syntheticInputs(m, { batch: 2, seed: 1 }));
  } finally {
    await s.release();
  }
}

describe.skipIf(skipNative)(`malformed ai.tbn models${nativeReason}`, () => {
  it.each(Object.keys(BASES))('the valid %s model runs', async (base) => {
    await expect(loadAndRun(BASES[base]!())).resolves.toBeUndefined();
  });

  it.each(MUTATIONS.map((m) => [m.name, m] as const))('%s', async (_name, mutation) => {
    const err = await loadAndRun(mutation.mutate(BASES[mutation.base]!())).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(mutation.message);
  });
});
