// tidy() scopes: every tensor and recorded op made inside a scope is released when the scope
// ends, except what the callback returns and what keep() marked. Recorded ops (and the tensors
// they saved for backward) that no surviving tensor can reach are released too, so a forward
// pass that is never backpropagated frees its native memory deterministically.

import type { GradFn } from './autograd.js';
import type { Tensor } from './tensor.js';

interface Scope {
  tensors: Tensor[];
  fns: Set<GradFn>;
}

const stack: Scope[] = [];

export function trackTensor(t: Tensor): void {
  stack[stack.length - 1]?.tensors.push(t);
}

export function trackGradFn(fn: GradFn): void {
  stack[stack.length - 1]?.fns.add(fn);
}

/** Marks `t` to survive every enclosing tidy(); the caller then owns it. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

/** Runs `fn` in a scope; tensors it made and did not return (or keep) are disposed. */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tensors: [], fns: new Set() };
  stack.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy() takes a synchronous function');
  } finally {
    stack.pop();
  }
  close(scope, result);
  return result;
}

function close(scope: Scope, result: unknown): void {
  const returned = new Set<Tensor>();
  collect(result, returned, 0);
  const parent = stack[stack.length - 1];
  const roots: Tensor[] = [];
  for (const t of scope.tensors) {
    if (returned.has(t) || t.kept) {
      roots.push(t);
      if (parent && !t.kept) parent.tensors.push(t);
    } else t.dispose();
  }
  for (const t of returned) if (!roots.includes(t)) roots.push(t); // made before this scope
  releaseUnreachable(scope.fns, roots, parent);
}

/** Releases the scope's recorded ops that no root reaches; hands the others to the parent. */
function releaseUnreachable(fns: Set<GradFn>, roots: Tensor[], parent: Scope | undefined): void {
  if (!fns.size) return;
  const reached = new Set<GradFn>();
  const todo: GradFn[] = [];
  const visit = (fn: GradFn | undefined) => {
    if (fn && fns.has(fn) && !reached.has(fn)) {
      reached.add(fn);
      todo.push(fn);
    }
  };
  for (const r of roots) visit(r.gradFn);
  while (todo.length) for (const input of todo.pop()!.inputs) visit(input?.gradFn);
  for (const fn of fns) {
    if (reached.has(fn)) parent?.fns.add(fn);
    else fn.release();
  }
}

function collect(v: unknown, out: Set<Tensor>, depth: number): void {
  if (!v || typeof v !== 'object' || depth > 4) return;
  if ('storage' in v && 'shape' in v && 'gradFn' in v) {
    out.add(v as Tensor);
    return;
  }
  const values = Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : Object.values(v);
  for (const x of values) collect(x, out, depth + 1);
}
