// Tensor handles. A Tensor is a shape, a dtype and a reference-counted Storage (one backend
// buffer); reshapes and saved-for-backward copies are new handles on the same storage, so the
// buffer is freed exactly when its last handle is disposed. Tensors are always contiguous and
// immutable, except that optimizers update parameters in place.

import type { GradFn } from './autograd.js';
import { getBackend, type Backend, type Buf } from './backend.js';
import type { DType, HostArray } from './dtype.js';
import { trackTensor } from './scope.js';

export class Storage {
  private refs = 1;
  constructor(
    readonly backend: Backend,
    readonly buf: Buf,
  ) {}
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) this.backend.free(this.buf);
  }
}

let nextId = 1;

/**
 * What a weight tensor made by the TBN tile op (src/tbn/parametrize.ts) is, for ops that can
 * use it: W = α ⊙ tile(t) with its p regions along axis 0, region r being rows
 * [r·rows/p, (r+1)·rows/p) = α[r] · T, T = `signs` (±1) of shape [rows/p, …]. conv() then
 * convolves with T alone (p× fewer multiply-adds) and scales. The tensors are owned by the
 * weight and disposed with it.
 */
export interface Tiling {
  readonly p: number;
  /** [p] */
  readonly alpha: Tensor;
  /** T, [rows/p, …the weight's other dims]. */
  readonly signs: Tensor;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  /** Set on leaves by the user (parameters); propagated to outputs of recorded ops. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after backward(). */
  grad: Tensor | undefined;
  /** The recorded op that made this tensor (undefined for leaves and untracked results). */
  gradFn: GradFn | undefined;
  /** Survives the tidy() scopes it was made in. */
  kept = false;
  /** Set on TBN-tiled weights (see Tiling); ops may ignore it. */
  tiling: Tiling | undefined;
  private storage_: Storage | undefined;

  /** Takes over one reference to `storage`. */
  constructor(storage: Storage, shape: readonly number[], readonly dtype: DType, track = true) {
    this.storage_ = storage;
    // `| 0` keeps dims small integers: a dim computed by division is a heap double to V8, and
    // kernels fed doubles deoptimise to slow float index arithmetic.
    this.shape = Object.freeze(shape.map((d) => {
      if (!(Number.isInteger(d) && d >= 0 && d < 2 ** 31)) throw new Error(`invalid tensor shape [${shape}]`);
      return d | 0;
    }));
    this.size = numel(shape);
    if (this.size > storage.buf.size) throw new Error(`tensor of shape [${shape}] over a buffer of ${storage.buf.size}`);
    if (track) trackTensor(this);
  }

  get disposed(): boolean {
    return this.storage_ === undefined;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The storage, for ops; throws on a disposed tensor. */
  get storage(): Storage {
    if (!this.storage_) throw new Error(`tensor #${this.id} [${this.shape}] was disposed and cannot be used`);
    return this.storage_;
  }

  get buf(): Buf {
    return this.storage.buf;
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  /** Releases this handle (not the gradient, not the graph). Safe to call twice. */
  dispose(): void {
    const s = this.storage_;
    if (!s) return;
    this.storage_ = undefined;
    s.release();
    if (this.tiling) {
      this.tiling.alpha.dispose();
      this.tiling.signs.dispose();
      this.tiling = undefined;
    }
  }

  /** A copy of the values (int64 as float64 numbers, bool as 0/1 bytes). */
  toArray(): HostArray {
    return this.backend.read(this.buf);
  }

  item(): number {
    if (this.size !== 1) throw new Error(`item() of a tensor with ${this.size} elements`);
    return this.toArray()[0]!;
  }

  /** A new handle on the same storage with another shape of the same size (no graph). */
  alias(shape: readonly number[] = this.shape, track = true): Tensor {
    if (numel(shape) !== this.size) throw new Error(`cannot view [${this.shape}] as [${shape}]`);
    const s = this.storage;
    s.retain();
    return new Tensor(s, shape, this.dtype, track);
  }

  toString(): string {
    return `Tensor#${this.id}(${this.dtype}[${this.shape.join(',')}]${this.requiresGrad ? ', grad' : ''})`;
  }
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A new uninitialised tensor on the current backend (ops fill it). */
export function empty(shape: readonly number[], dtype: DType = 'float32', backend: Backend = getBackend()): Tensor {
  return new Tensor(new Storage(backend, backend.alloc(dtype, numel(shape))), shape, dtype);
}

export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  const t = empty(shape, dtype);
  t.backend.fill(t.buf, value);
  return t;
}

export const zeros = (shape: readonly number[], dtype: DType = 'float32'): Tensor => full(shape, 0, dtype);
export const ones = (shape: readonly number[], dtype: DType = 'float32'): Tensor => full(shape, 1, dtype);
export const scalar = (value: number, dtype: DType = 'float32'): Tensor => full([], value, dtype);

/** A tensor holding `data` (copied). */
export function tensor(data: ArrayLike<number>, shape: readonly number[] = [data.length], dtype: DType = 'float32'): Tensor {
  if (numel(shape) !== data.length) throw new Error(`${data.length} values for shape [${shape}]`);
  const t = empty(shape, dtype);
  t.backend.write(t.buf, data);
  return t;
}

/** A trainable leaf: a copy of `data` with requiresGrad set. */
export function parameter(data: ArrayLike<number>, shape: readonly number[]): Tensor {
  const t = tensor(data, shape, 'float32');
  t.requiresGrad = true;
  return t;
}
