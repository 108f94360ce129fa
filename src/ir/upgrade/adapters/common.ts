// Shared pieces of the adapters: the adapter signature and attribute helpers.

import { getAttr } from '../../attrs.js';
import type { Attribute, Node } from '../../types.js';
import type { AdaptContext } from '../context.js';

/**
 * Converts one node to the schema of `ctx.opset` (the version at which its op changed).
 * Returns the nodes that replace it, in order, or undefined when this node needs no change
 * (an attribute that moved was not set). Throws through ctx.refuse when it cannot be done.
 */
export type Adapter = (node: Node, ctx: AdaptContext) => Node[] | undefined;

export const ints = (n: Node, name: string): number[] | undefined => getAttr(n, name)?.ints?.map(Number);
export const int = (n: Node, name: string): number | undefined => {
  const a = getAttr(n, name);
  return a?.i === undefined ? undefined : Number(a.i);
};
export const floats = (n: Node, name: string): number[] | undefined => getAttr(n, name)?.floats;
export const float = (n: Node, name: string): number | undefined => getAttr(n, name)?.f;
export const str = (n: Node, name: string): string | undefined => {
  const s = getAttr(n, name)?.s;
  return s === undefined ? undefined : new TextDecoder().decode(s);
};

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
