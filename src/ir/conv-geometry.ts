// Sliding-window geometry of ONNX Conv, ConvTranspose and pooling: auto_pad resolved to explicit
// pads [begin…, end…], with kernel, strides and dilations read from the node. The one TypeScript
// definition, used by the interpreter and the C export; the custom-op kernels compute the same in
// C (axis_geometry in native/kernels/tbn_conv.c).

import type { Attrs } from './attrs.js';

export const AUTO_PADS = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

/** Why a node's auto_pad is not one ONNX defines, or undefined. */
export const autoPadProblem = (a: Attrs): string | undefined =>
  AUTO_PADS.includes(a.string('auto_pad', 'NOTSET')) ? undefined : `auto_pad='${a.string('auto_pad')}'`;

/** Positions a kernel of k taps spans at dilation d. */
export const dilatedExtent = (k: number, d: number): number => (k - 1) * d + 1;

/** Splits `total` padding of a SAME mode: SAME_UPPER puts the odd one at the end. */
function splitSame(mode: string, total: number): [number, number] {
  const begin = mode === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
  return [begin, total - begin];
}

export interface SpatialGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin…, end…], one pair per spatial dim. */
  pads: number[];
}

/**
 * The window of a Conv / pooling node over spatial dims `inDims`. Kernel from kernel_shape, else
 * `kernel` (a Conv weight's trailing dims); strides and dilations default to 1. SAME pads make
 * `outDims` outputs (by default ceil(in / stride), what shape inference gives). A string: the
 * auto_pad mode is not one of ONNX's.
 */
export function spatialGeometry(a: Attrs, inDims: readonly number[], kernel: readonly number[] | undefined, outDims?: readonly number[]): SpatialGeometry | string {
  const d = inDims.length;
  const k = a.ints('kernel_shape') ?? [...(kernel ?? [])];
  const strides = a.ints('strides') ?? new Array<number>(d).fill(1);
  const dilations = a.ints('dilations') ?? new Array<number>(d).fill(1);
  const mode = a.string('auto_pad', 'NOTSET');
  let pads: number[];
  if (mode === 'NOTSET') pads = a.ints('pads') ?? new Array<number>(2 * d).fill(0);
  else if (mode === 'VALID') pads = new Array<number>(2 * d).fill(0);
  else if (mode === 'SAME_UPPER' || mode === 'SAME_LOWER') {
    pads = new Array<number>(2 * d);
    inDims.forEach((x, i) => {
      const out = outDims?.[i] ?? Math.ceil(x / strides[i]!);
      [pads[i], pads[i + d]] = splitSame(mode, Math.max(0, (out - 1) * strides[i]! + dilatedExtent(k[i]!, dilations[i]!) - x));
    });
  } else return `auto_pad '${mode}' is not supported`;
  return { kernel: k, strides, dilations, pads };
}

/**
 * Pads of a ConvTranspose that gives `wanted` spatial outputs (output_shape, or in·stride for a
 * SAME mode): the total the output is short of, split as SAME splits it.
 */
export function convTransposePads(mode: string, inDims: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[], outputPadding: readonly number[], wanted: readonly number[]): number[] {
  const r = inDims.length;
  const pads = new Array<number>(2 * r);
  inDims.forEach((d, i) => {
    const total = strides[i]! * (d - 1) + outputPadding[i]! + dilatedExtent(kernel[i]!, dilations[i]!) - wanted[i]!;
    [pads[i], pads[i + r]] = splitSame(mode, total);
  });
  return pads;
}
