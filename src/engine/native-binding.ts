// The native engine's surface (native/engine/addon.cc, which documents each method) and the
// only place that loads tbn_engine.node. Candidates, in order: TBN_NATIVE_PATH, then
// build/Release, build/Debug and prebuilds/<platform>-<arch> under the package root; every
// failure is collected into one message for the caller's single warning. Buffers cross the
// boundary as numeric handles; geometry as a Float64Array of integers (layouts in
// backends/native.ts); every method is synchronous and throws an Error on bad input.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type NativeArray = Float32Array | Float64Array | Uint8Array;

export interface NativeBinding {
  /** Interface version; NATIVE_ABI must match. */
  readonly abi: number;
  kernelPaths(): string[];
  kernelPath(): string;
  setKernelPath(name: string): void;
  threads(): number;
  setThreads(n: number): void;
  /** Op names in native code order: an op's code is its index. */
  opNames(): { unary: string[]; binary: string[]; reduce: string[] };

  /** dtype 0 float32, 1 int64 (held as float64), 2 bool. */
  alloc(dtype: number, size: number): number;
  free(h: number): void;
  fill(h: number, value: number): void;
  /** `data` must be the buffer's own array type (Float32Array, Float64Array, Uint8Array). */
  write(h: number, data: NativeArray, offset: number): void;
  read(h: number): NativeArray;
  /** [live buffers, live bytes, cached bytes]. */
  stats(): Float64Array;

  unary(op: number, x: number, out: number, p0: number, p1: number): void;
  binary(op: number, a: number, b: number, out: number, g: Float64Array, p0: number, p1: number): void;
  where(cond: number, a: number, b: number, out: number, g: Float64Array): void;
  cast(x: number, out: number): void;
  copy(src: number, dst: number, g: Float64Array, accumulate: boolean): void;
  reduce(op: number, x: number, out: number, outer: number, size: number, inner: number): void;
  argReduce(isMax: boolean, x: number, out: number, outer: number, size: number, inner: number, selectLast: boolean): void;
  matmul(a: number, b: number, out: number, g: Float64Array): void;
  /** pass 0: conv(x, w → y); 1: data gradient (dy, w → dx); 2: filter gradient (x, dy → dw). */
  conv(pass: number, in0: number, in1: number, out: number, g: Float64Array): void;
  /** argmax −1: no indices. */
  maxPool(x: number, out: number, argmax: number, g: Float64Array): void;
  maxPoolBackward(dy: number, argmax: number, dx: number, g: Float64Array): void;
  avgPool(x: number, out: number, g: Float64Array): void;
  avgPoolBackward(dy: number, dx: number, g: Float64Array): void;
  softmax(x: number, out: number, outer: number, size: number, inner: number, log: boolean): void;
  softmaxBackward(y: number, dy: number, dx: number, outer: number, size: number, inner: number, log: boolean): void;
  layerNorm(x: number, out: number, invStd: number, rows: number, cols: number, eps: number): void;
  layerNormBackward(xhat: number, invStd: number, dy: number, dx: number, rows: number, cols: number): void;
  channelAffine(x: number, scale: number, shift: number, out: number, outer: number, channels: number, inner: number, relu: boolean): void;
  /** dx, dscale, dshift −1: not wanted. */
  channelAffineBackward(x: number, scale: number, shift: number, dy: number, dx: number, dscale: number, dshift: number, outer: number, channels: number, inner: number, relu: boolean): void;
  gather(table: number, idx: number, out: number, outer: number, axisLen: number, inner: number): void;
  gatherBackward(dy: number, idx: number, dTable: number, outer: number, axisLen: number, inner: number): void;
  adam(param: number, grad: number, m: number, v: number, g: Float64Array): void;
  /** a −1: α from w itself. */
  tileForward(w: number, a: number, out: number, alpha: number, signs: number, g: Float64Array): void;
  /** da −1: the α-source gradient is added into dw. */
  tileBackward(gy: number, a: number, alpha: number, signs: number, dw: number, da: number, g: Float64Array): void;
}

export const NATIVE_ABI = 2;

export type NativeLoad = { binding: NativeBinding; path: string; error?: undefined } | { binding?: undefined; path?: undefined; error: string };

const FILE = 'tbn_engine.node';

/** The package root: the nearest folder above this module with tbn's package.json. */
function packageRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    try {
      if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tbn') return dir;
    } catch {
      // unreadable package.json: keep looking upwards
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function candidates(): string[] {
  const list: string[] = [];
  if (process.env.TBN_NATIVE_PATH) list.push(path.resolve(process.env.TBN_NATIVE_PATH));
  const root = packageRoot();
  if (root) {
    list.push(path.join(root, 'build', 'Release', FILE), path.join(root, 'build', 'Debug', FILE));
    list.push(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, FILE));
  }
  return list;
}

let cached: NativeLoad | undefined;

/** Loads the addon once; later calls return the same result (binding or the collected reasons). */
export function loadNativeBinding(): NativeLoad {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const file of candidates()) {
    if (!fs.existsSync(file)) {
      failures.push(`${file}: not built`);
      continue;
    }
    try {
      const binding = require(file) as NativeBinding;
      if (binding.abi !== NATIVE_ABI) throw new Error(`interface version ${binding.abi}, expected ${NATIVE_ABI} (rebuild with npm run build:native)`);
      cached = { binding, path: file };
      return cached;
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0]!;
      failures.push(msg.includes(file) ? msg : `${file}: ${msg}`);
    }
  }
  cached = { error: failures.length ? failures.join('; ') : 'no candidate paths (package root not found)' };
  return cached;
}
