// The tape. Ops call record() after computing their output; it links the output to its inputs
// through a GradFn that holds the op's backward rule and the tensors it saved. backward() walks
// the recorded graph in reverse topological order (iterative, no recursion), accumulates
// gradients, and releases each GradFn's saved tensors as soon as its rule has run.
// Backward rules run with recording off: no higher-order gradients.

import { tidy, trackGradFn } from './scope.js';
import { contiguousStrides } from './shape.js';
import { Storage, Tensor } from './tensor.js';

export type BackwardRule = (gy: Tensor, saved: readonly Tensor[], needs: readonly boolean[]) => (Tensor | undefined)[];

export class GradFn {
  private saved_: Tensor[] | undefined;
  constructor(
    readonly op: string,
    /** The op's inputs (graph edges only; their data may be disposed). */
    readonly inputs: readonly (Tensor | undefined)[],
    saved: Tensor[],
    readonly rule: BackwardRule,
  ) {
    this.saved_ = saved;
  }

  get released(): boolean {
    return this.saved_ === undefined;
  }

  get saved(): readonly Tensor[] {
    if (!this.saved_) throw new Error(`the graph through '${this.op}' was already released (backward twice, or after tidy/releaseGraph)`);
    return this.saved_;
  }

  release(): void {
    for (const t of this.saved_ ?? []) t.dispose();
    this.saved_ = undefined;
  }
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording: results have no gradFn and save nothing. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op over `inputs` must be recorded. */
export function needsGrad(...inputs: readonly (Tensor | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t?.requiresGrad) return true;
  return false;
}

/**
 * Records `out = op(inputs)` when any input requires grad. `saves` are retained as extra
 * handles (so callers may dispose their own) and handed to `rule` during backward.
 */
export function record(out: Tensor, op: string, inputs: readonly (Tensor | undefined)[], saves: readonly Tensor[], rule: BackwardRule): Tensor {
  if (!needsGrad(...inputs)) return out;
  const saved = saves.map((t) => t.alias(t.shape, false));
  const fn = new GradFn(op, inputs, saved, rule);
  out.requiresGrad = true;
  out.gradFn = fn;
  trackGradFn(fn);
  return out;
}

/** Reverse topological order of the GradFns reachable from `root` (iterative DFS). */
function reverseTopo(root: GradFn): GradFn[] {
  const order: GradFn[] = [];
  const state = new Map<GradFn, number>();
  const stack: [GradFn, number][] = [[root, 0]];
  state.set(root, 1);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const inputs = top[0].inputs;
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++]?.gradFn;
      if (next && !state.has(next)) {
        state.set(next, 1);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  /** Keep saved tensors for another backward pass (they are released otherwise). */
  retainGraph?: boolean;
}

/**
 * Accumulates d(root)/d(leaf) into every leaf's `.grad` (leaf grads survive tidy scopes).
 * `seed` is dRoot (default: ones, for a scalar root). The seed is not disposed.
 */
export function backward(root: Tensor, seed?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error('backward() of a tensor that does not require grad');
  if (seed && seed.shape.join() !== root.shape.join()) throw new Error(`seed shape [${seed.shape}] ≠ root shape [${root.shape}]`);
  const first = seed ? seed.alias() : ones(root);
  if (!root.gradFn) {
    accumulateLeaf(root, first);
    return;
  }
  const grads = new Map<GradFn, Tensor>([[root.gradFn, first]]);
  noGrad(() => {
    for (const fn of reverseTopo(root.gradFn!)) {
      const gy = grads.get(fn);
      grads.delete(fn);
      if (gy) propagate(fn, gy, grads);
      if (!opts.retainGraph) fn.release();
    }
  });
}

function propagate(fn: GradFn, gy: Tensor, grads: Map<GradFn, Tensor>): void {
  const needs = fn.inputs.map((t) => !!t?.requiresGrad);
  // The rule's temporaries are freed here; only the gradients it returns survive.
  const gxs = tidy(() => fn.rule(gy, fn.saved, needs));
  gy.dispose();
  fn.inputs.forEach((input, i) => {
    const g = gxs[i];
    if (!g) return;
    if (!input || !needs[i]) return g.dispose();
    if (g.shape.join() !== input.shape.join()) throw new Error(`backward of '${fn.op}' gave a gradient [${g.shape}] for an input [${input.shape}]`);
    if (input.gradFn) {
      const prev = grads.get(input.gradFn);
      grads.set(input.gradFn, prev ? addInto(prev, g) : g);
    } else accumulateLeaf(input, g);
  });
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  leaf.grad = leaf.grad ? addInto(leaf.grad, g) : g;
  leaf.grad.kept = true;
}

/** a + b as a new tensor; both inputs are disposed. */
function addInto(a: Tensor, b: Tensor): Tensor {
  const out = new Tensor(newStorage(a), a.shape, a.dtype);
  a.backend.binary('add', a.buf, b.buf, out.buf, { shape: a.shape, strides: [contiguousStrides(a.shape), contiguousStrides(a.shape)] });
  a.dispose();
  b.dispose();
  return out;
}

function ones(like: Tensor): Tensor {
  const t = new Tensor(newStorage(like), like.shape, like.dtype);
  t.backend.fill(t.buf, 1);
  return t;
}

function newStorage(like: Tensor): Storage {
  return new Storage(like.backend, like.backend.alloc(like.dtype, like.size));
}

/** Releases every saved tensor of the graph behind `root` without computing gradients. */
export function releaseGraph(root: Tensor): void {
  if (root.gradFn) for (const fn of reverseTopo(root.gradFn)) fn.release();
}
