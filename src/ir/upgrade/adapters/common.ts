// Shared pieces of the adapters: the adapter signature and attribute helpers.

import { Attrs } from '../../attrs.js';
import type { Attribute, Node } from '../../types.js';
import type { AdaptContext } from '../context.js';

/**
 * Converts one node to the schema of the version at which its op changed (the adapter's key).
 * Returns the nodes that replace it, in order, or undefined when this node needs no change
 * (an attribute that moved was not set). Throws through ctx.refuse when it cannot be done.
 */
export type Adapter = (node: Node, ctx: AdaptContext) => Node[] | undefined;

// The attributes as they stand (no spec defaults: an adapter acts on what the node sets).
export const ints = (n: Node, name: string): number[] | undefined => Attrs.of(n).ints(name);
export const int = (n: Node, name: string): number | undefined => Attrs.of(n).int(name);
export const floats = (n: Node, name: string): number[] | undefined => Attrs.of(n).floats(name);
export const float = (n: Node, name: string): number | undefined => Attrs.of(n).float(name);
export const str = (n: Node, name: string): string | undefined => Attrs.of(n).string(name);

export function without(n: Node, ...names: string[]): Attribute[] {
  return n.attributes.filter((a) => !a.name || !names.includes(a.name));
}

/** A base for new value names: the node's name or its first output. */
export const stem = (n: Node): string => n.name || n.outputs[0] || n.opType;

/** Moves an ints attribute to a new int64 input at position `at` (inputs before it padded with ''). */
export function intsAttrToInput(n: Node, ctx: AdaptContext, attr: string, at: number): Node[] | undefined {
  const values = ints(n, attr);
  if (values === undefined) return undefined;
  const inputs = [...n.inputs];
  while (inputs.length < at) inputs.push('');
  inputs[at] = ctx.int64(`${stem(n)}_${attr}`, values);
  return [{ ...n, inputs, attributes: without(n, attr) }];
}
