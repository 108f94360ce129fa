// Runs models with the ai.tbn custom-op library registered. onnxruntime-node cannot register a
// custom-op library from JavaScript, so a small N-API host (native/ort-host) loads the
// onnxruntime that onnxruntime-node ships (same library, same process), registers
// build/Release/libtbn_ort_ops and runs sessions. Same OrtSession interface as runtime/ort.ts.
// Everything native is optional: customOpsStatus() says whether it is built and why not.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UserError } from '../errors.js';
import { arrayTypeFor, dtypeCode, dtypeFromCode, type NumericArray } from '../ir/dtype.js';
import type { HostTensor } from '../util/host-tensor.js';
import { packageRoot } from '../util/package.js';
import type { OrtSession, OrtSessionOptions } from './ort.js';

interface NativeFeed {
  name: string;
  type: number;
  dims: number[];
  data: NumericArray;
}
interface NativeFetch {
  name: string;
  type: number;
  dims: number[];
  data: ArrayBuffer;
}
interface NativeSession {
  inputNames: string[];
  outputNames: string[];
  run(feeds: NativeFeed[]): Promise<NativeFetch[]>;
  benchmark(feeds: NativeFeed[], iterations: number): Float64Array;
  endProfiling(): string;
  release(): void;
}
interface NativeHost {
  load(ortLibrary: string): string;
  kernelPaths(): string[];
  Session: new (
    model: string | Uint8Array,
    opts: { threads: number; optimize: boolean; opsLibrary?: string; profile?: string; optimizedModel?: string },
  ) => NativeSession;
}

export type CustomOpsStatus =
  | { available: true; library: string; host: string; runtime: string; version: string; kernelPaths: string[] }
  | { available: false; reason: string };

export interface CustomOpSession extends OrtSession {
  /** Seconds of each of `iterations` runs, timed natively (no JavaScript in the loop). */
  benchmark(feeds: Record<string, HostTensor>, iterations: number): Float64Array;
  /** Ends onnxruntime's per-node profile (opened with `profile`) and returns its JSON file ('' without). */
  endProfiling(): string;
}

export interface CustomOpSessionOptions extends OrtSessionOptions {
  /** File prefix for onnxruntime's per-node profile (a JSON trace written by endProfiling). */
  profile?: string;
  /** Where onnxruntime saves the graph as it optimized it (with the reorders it inserted). */
  optimizedModel?: string;
  /** Another build of the op library (benches compare two builds in one process); null: none,
   * so the ai.tbn nodes run as their ONNX functions, as in stock onnxruntime. */
  opsLibrary?: string | null;
}

const require = createRequire(import.meta.url);
const LIB_NAME = process.platform === 'win32' ? 'tbn_ort_ops.dll' : process.platform === 'darwin' ? 'libtbn_ort_ops.dylib' : 'libtbn_ort_ops.so';

/** onnxruntime's shared library inside onnxruntime-node (what the host loads). */
export function ortLibrary(): string {
  const dir = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  const found = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => /^(lib)?onnxruntime(\.so\.\d+|\.\d[\d.]*\.dylib|\.dll)$/.test(f)) : undefined;
  if (!found) throw new Error(`no onnxruntime shared library in ${dir}`);
  return path.join(dir, found);
}

let cached: { status: CustomOpsStatus; host?: NativeHost } | undefined;

function probe(): { status: CustomOpsStatus; host?: NativeHost } {
  try {
    const release = path.join(packageRoot(), 'build', 'Release');
    const hostPath = process.env.TBN_ORT_HOST || path.join(release, 'tbn_ort_host.node');
    const library = process.env.TBN_OPS_LIBRARY || path.join(release, LIB_NAME);
    for (const [what, file] of [['host', hostPath], ['custom-op library', library]]) {
      if (!fs.existsSync(file!)) return { status: { available: false, reason: `the ${what} is not built (${file}); run npm run build:native` } };
    }
    const host = require(hostPath) as NativeHost;
    const runtime = ortLibrary();
    const version = host.load(runtime);
    return { status: { available: true, library, host: hostPath, runtime, version, kernelPaths: host.kernelPaths() }, host };
  } catch (e) {
    return { status: { available: false, reason: e instanceof Error ? e.message : String(e) } };
  }
}

/** Whether the custom-op library and its host are built and load, with paths, or why not. */
export function customOpsStatus(): CustomOpsStatus {
  cached ??= probe();
  return cached.status;
}

export function customOpsAvailable(): boolean {
  return customOpsStatus().available;
}

function toFeeds(feeds: Record<string, HostTensor>): NativeFeed[] {
  return Object.entries(feeds).map(([name, t]) => ({ name, type: dtypeCode(t.dtype), dims: t.dims, data: t.data }));
}

function fromFetch(f: NativeFetch): HostTensor {
  const dtype = dtypeFromCode(f.type);
  const kind = dtype && arrayTypeFor(dtype);
  if (!dtype || !kind) throw new UserError(`output '${f.name}' has an element type (${f.type}) tbn cannot read`);
  return { dtype, dims: f.dims, data: new kind.ctor(f.data, 0, f.data.byteLength / kind.ctor.BYTES_PER_ELEMENT) };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

/** A session over `model` (path or bytes) with the ai.tbn kernels registered. */
export async function createCustomOpSession(model: string | Uint8Array, opts: CustomOpSessionOptions = {}): Promise<CustomOpSession> {
  const status = customOpsStatus();
  if (!status.available || !cached?.host) throw new UserError(`the tbn custom-op library is not available: ${(status as { reason: string }).reason}`);
  let s: NativeSession;
  try {
    s = new cached.host.Session(model, {
      threads: opts.threads ?? 0,
      optimize: !opts.noOptimize,
      ...(opts.opsLibrary === null ? {} : { opsLibrary: opts.opsLibrary ?? status.library }),
      ...(opts.profile ? { profile: opts.profile } : {}),
      ...(opts.optimizedModel ? { optimizedModel: opts.optimizedModel } : {}),
    });
  } catch (e) {
    const what = typeof model === 'string' ? model : 'model';
    throw new UserError(`${what}: onnxruntime with the tbn custom ops cannot load it (${firstLine(e)})`);
  }
  return {
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(feeds) {
      let out: NativeFetch[];
      try {
        out = await s.run(toFeeds(feeds));
      } catch (e) {
        throw new UserError(`onnxruntime (tbn custom ops) failed to run the model (${firstLine(e)})`);
      }
      return Object.fromEntries(out.map((f) => [f.name, fromFetch(f)]));
    },
    benchmark: (feeds, iterations) => s.benchmark(toFeeds(feeds), iterations),
    endProfiling: () => s.endProfiling(),
    release: async () => s.release(),
  };
}
