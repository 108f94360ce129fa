// Shared by the native-ops tests: whether the custom-op library is built (the tests skip
// without it locally, and run — failing with the reason — under CI=true), running a model in
// both forms, and the scale-aware comparison the tier uses (|Δ| ≤ 1e-5·max|ref| + 1e-5·|ref|).
import { expect } from 'vitest';
import { createCustomOpSession, customOpsStatus } from '../../src/runtime/custom-ops.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import type { HostTensor } from '../../src/util/host-tensor.js';

const status = customOpsStatus();
export const KERNEL_PATHS: string[] = status.available ? status.kernelPaths : ['portable'];
/** Skip (with the reason in the name) only off CI: under CI=true a missing library fails. */
export const skipNative = !status.available && process.env.CI !== 'true';
export const nativeReason = status.available ? '' : ` (skipped: ${status.reason})`;

type Feeds = Record<string, HostTensor>;

/** The function form: stock onnxruntime-node, no library, so the ONNX function bodies run. */
export async function runFunctionForm(bytes: Uint8Array, feeds: Feeds): Promise<Record<string, HostTensor>> {
  const s = await createOrtSession(bytes, { threads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** The custom-op form on one kernel path (TBN_KERNEL is read when the kernels are created). */
export async function runKernels(bytes: Uint8Array, feeds: Feeds, path: string, threads = 1): Promise<Record<string, HostTensor>> {
  const saved = process.env.TBN_KERNEL;
  process.env.TBN_KERNEL = path;
  try {
    const s = await createCustomOpSession(bytes, { threads });
    try {
      return await s.run(feeds);
    } finally {
      await s.release();
    }
  } finally {
    if (saved === undefined) delete process.env.TBN_KERNEL;
    else process.env.TBN_KERNEL = saved;
  }
}

export function expectClose(got: Record<string, HostTensor>, want: Record<string, HostTensor>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    const g = got[name]!;
    expect(g.dims, `dims of ${name}`).toEqual(w.dims);
    const ref = w.data as Float32Array;
    let scale = 0;
    for (const v of ref) scale = Math.max(scale, Math.abs(v));
    expect(g.data as Float32Array).toBeAllclose(ref, { atol: 1e-5 * scale, rtol: 1e-5 });
  }
}
