// Shared by the native tier (test/native): whether the engine addon is built — the tests skip
// locally without it and run (failing with the reason) under CI=true — and a harness that runs
// one sequence of kernel calls on the JS reference backend and on the native backend, with
// outputs pre-filled with NaN so an element a kernel forgets to write shows up as a mismatch.
import { expect } from 'vitest';
import * as E from '../../src/engine/index.js';
import type { Buf } from '../../src/engine/backend.js';
import type { DType, HostArray } from '../../src/engine/dtype.js';
import { compile } from '../../src/interp/index.js';
import { loadModel } from '../../src/onnx/file.js';
import { tiledWeight } from '../../src/tbn/parametrize.js';
import { Rng } from '../../src/util/random.js';
import { modelPath } from '../helpers/fixtures.js';

const status = E.nativeBackend();
export const skipNative = !status.backend && process.env.CI !== 'true';
export const nativeReason = status.backend ? '' : ` (skipped: ${status.error})`;

export function nativeBackend(): E.NativeBackend {
  if (!status.backend) throw new Error(`the native engine backend is not available: ${status.error}`);
  return status.backend;
}

export const BACKENDS = ['js', 'native'] as const;
export type BackendName = (typeof BACKENDS)[number];
const jsBackend = new E.JsBackend();
export const backendOf = (name: BackendName): E.Backend => (name === 'js' ? jsBackend : nativeBackend());

/** Buffers made on one backend, freed together. */
export class Arena {
  private readonly bufs: Buf[] = [];
  constructor(readonly b: E.Backend) {}
  /** A buffer holding `data`, or (given a count) one filled with NaN / `fill`. */
  buf(dtype: DType, data: ArrayLike<number> | number, fill = NaN): Buf {
    const n = typeof data === 'number' ? data : data.length;
    const x = this.b.alloc(dtype, n);
    if (typeof data === 'number') this.b.fill(x, dtype === 'bool' && Number.isNaN(fill) ? 7 : fill);
    else this.b.write(x, data);
    this.bufs.push(x);
    return x;
  }
  read(x: Buf): HostArray {
    return this.b.read(x);
  }
  dispose(): void {
    for (const x of this.bufs) this.b.free(x);
    this.bufs.length = 0;
  }
}

/** Runs `fn` on both backends; returns what each produced. */
export function onBoth(fn: (a: Arena) => HostArray[]): { js: HostArray[]; native: HostArray[] } {
  const out = {} as { js: HostArray[]; native: HostArray[] };
  for (const name of BACKENDS) {
    const a = new Arena(backendOf(name));
    try {
      out[name] = fn(a);
    } finally {
      a.dispose();
    }
  }
  return out;
}

/** Native ≈ JS: |Δ| ≤ atol·max|js| + rtol·|js| elementwise (NaN/±Inf in the same places; bool exact). */
export function expectParity(r: { js: HostArray[]; native: HostArray[] }, rtol = 1e-6, atol = 1e-6, what = ''): void {
  expect(r.native.length).toBe(r.js.length);
  r.js.forEach((want, i) => {
    const got = r.native[i]!;
    expect(got.constructor.name, `${what} output ${i} type`).toBe(want.constructor.name);
    expect(got.length, `${what} output ${i} length`).toBe(want.length);
    if (want instanceof Uint8Array) {
      expect(Array.from(got), `${what} output ${i}`).toEqual(Array.from(want));
      return;
    }
    let scale = 0;
    for (const v of want) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    const infOk = Array.from(want).every((v, k) => Number.isFinite(v) || Object.is(v, got[k]) || (Number.isNaN(v) && Number.isNaN(got[k]!)));
    expect(infOk, `${what} output ${i}: NaN/±Inf positions differ`).toBe(true);
    const finite = (a: HostArray) => Float64Array.from(a, (v, k) => (Number.isFinite(want[k]!) ? v : 0));
    expect(finite(got), `${what} output ${i}`).toBeAllclose(finite(want), { atol: atol * Math.max(scale, 1), rtol });
  });
}

export function randomData(rng: Rng, n: number, kind: 'normal' | 'positive' | 'unit' | 'int' | 'bool' | 'special' = 'normal'): number[] {
  const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -0.5, 2.5, -2.5];
  return Array.from({ length: n }, () => {
    switch (kind) {
      case 'positive':
        return 0.05 + Math.abs(rng.normal()) * 2;
      case 'unit':
        return (rng.next() * 2 - 1) * 0.95;
      case 'int':
        return rng.int(41) - 20;
      case 'bool':
        return rng.int(2);
      case 'special':
        return rng.next() < 0.4 ? SPECIAL[rng.int(SPECIAL.length)]! : rng.normal() * 3;
      default:
        return rng.normal() * 2;
    }
  });
}

/** A random shape of rank ≤ maxRank with dims in [1, maxDim] (some 1s). */
export function randomShape(rng: Rng, maxRank = 4, maxDim = 7): number[] {
  return Array.from({ length: rng.int(maxRank + 1) }, () => (rng.next() < 0.2 ? 1 : 1 + rng.int(maxDim)));
}

/** `shape` with some dims set to 1 and some leading dims dropped: a shape that broadcasts to it. */
export function broadcastable(rng: Rng, shape: readonly number[]): number[] {
  const drop = rng.int(shape.length + 1);
  return shape.slice(drop).map((d) => (rng.next() < 0.3 ? 1 : d));
}

export { numel } from '../../src/util/host-tensor.js';

/**
 * The fixture CNN compiled for training as src/tbn/finetune.ts builds its student: every
 * Conv/Gemm weight produced by the TBN tile op from a latent tensor (p = 4, or 2 where 4 does
 * not divide the outputs), BatchNorm affine parameters trainable. The caller disposes.
 */
export function tiledCnn(tileAxis: 0 | 1) {
  const { model } = loadModel(modelPath('mnist-cnn.onnx'));
  const program = compile(model);
  const latent: E.Tensor[] = [];
  for (const node of model.graph.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm')) {
    const init = model.graph.initializers.find((t) => t.name === node.inputs[1])!;
    const shape = init.dims;
    const w = E.keep(E.parameter(init.data as Float32Array, shape));
    latent.push(w);
    program.setProducer(init.name!, () => tiledWeight(w, undefined, { shape, p: shape[0]! % 4 === 0 ? 4 : 2, tileAxis }, 'per-tile'));
  }
  program.setTrainable(model.graph.initializers.filter((t) => !t.name!.includes('running') && t.dims.length === 1).map((t) => t.name!));
  return { program, latent, params: [...latent, ...program.parameters().values()] };
}
