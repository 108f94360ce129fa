// onnxruntime-node behind a small interface: sessions from files or bytes, runs on HostTensors.
// Used by compress (the teacher), verify and the tests.

import ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import type { ElementType, NumericArray } from '../ir/dtype.js';
import type { HostTensor } from '../util/host-tensor.js';

export interface OrtSessionOptions {
  threads?: number;
  /** Disable graph optimisations (for bit-exact comparisons of two encodings of one model). */
  noOptimize?: boolean;
  /**
   * Let idle intra-op threads spin for the next run (onnxruntime's default, true). A session run
   * between other CPU work — the fine-tuning teacher, between native engine steps — should not:
   * its spinning threads take the cores the engine's kernels need.
   */
  spinning?: boolean;
}

export interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

const ORT_TYPES: Partial<Record<ElementType, ort.Tensor.Type>> = {
  float32: 'float32',
  float64: 'float64',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  float16: 'float16',
};

const FROM_ORT = Object.fromEntries(Object.entries(ORT_TYPES).map(([k, v]) => [v, k])) as Record<string, ElementType>;

export async function createOrtSession(model: string | Uint8Array, opts: OrtSessionOptions = {}): Promise<OrtSession> {
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    graphOptimizationLevel: opts.noOptimize ? 'disabled' : 'all',
    logSeverityLevel: 3,
    ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  };
  let session: ort.InferenceSession;
  try {
    session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (e) {
    const what = typeof model === 'string' ? model : 'model';
    throw new UserError(`${what}: onnxruntime cannot load it (${firstLine(e)})`);
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        const type = ORT_TYPES[t.dtype];
        if (!type) throw new UserError(`input '${name}': onnxruntime-node cannot take ${t.dtype} tensors`);
        ortFeeds[name] = new ort.Tensor(type, t.data as never, t.dims);
      }
      let out: ort.InferenceSession.ReturnType;
      try {
        out = await session.run(ortFeeds);
      } catch (e) {
        throw new UserError(`onnxruntime failed to run the model (${firstLine(e)})`);
      }
      const result: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        result[name] = { dtype: FROM_ORT[t.type] ?? 'float32', dims: [...t.dims], data: t.data as NumericArray };
      }
      return result;
    },
    release: () => session.release(),
  };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}
