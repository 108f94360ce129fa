// The interpreter (tbn's engine) runs folded models through their ai.tbn functions — the
// version-2 epilogue bodies (Where on the activation code, Erf/Tanh GELU, HardSwish, Clip,
// channels-last Transposes) included — and gives onnxruntime's outputs.
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../../src/data/synthetic.js';
import { compile } from '../../../src/interp/index.js';
import { createOrtSession } from '../../../src/runtime/ort.js';
import { fuseEpilogues } from '../../../src/tbn/fuse-epilogue.js';
import { compressInMemory, toBytes } from '../../helpers/compress.js';
import { EPILOGUE_CASES } from '../../helpers/epilogue-models.js';

describe.each(EPILOGUE_CASES)('interpreter on the folded $name', (c) => {
  it('equals onnxruntime', async () => {
    const base = compressInMemory(c.model(), 'custom', { p: 2, minParams: 0 });
    const { model } = await fuseEpilogues(base.model);
    const feeds = syntheticInputs(base.original, { batch: 2, seed: 4 });
    const program = compile(model);
    const ours = program.runHost(feeds);
    const ort = await createOrtSession(toBytes(model), { threads: 1 });
    const want = await ort.run(feeds);
    await ort.release();
    for (const [k, v] of Object.entries(want)) {
      const ref = v.data as Float32Array;
      const scale = Math.max(...Array.from(ref, Math.abs));
      expect(ours[k]!.data as Float32Array).toBeAllclose(ref, { atol: 1e-5 * scale, rtol: 1e-4 });
    }
    program.dispose();
  });
});
