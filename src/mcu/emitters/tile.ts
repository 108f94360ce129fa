// Reading the ai.tbn tile attributes and constants of a fused node (inputs 1 and 2 are the
// bits and the scales; attributes weight_shape, p, tile_axis; format.ts is the contract) and
// spelling them as a tbn_tile initialiser.

import type { CInit } from '../c-text.js';
import { attrsOf, isConst, numel, tensorOf, type LGraph, type LNode } from '../graph.js';
import { inputIndex } from '../../tbn/format.js';
import type { EmitCtx } from './types.js';

export interface TileInfo {
  shape: number[];
  p: number;
  q: number;
  axis: number;
  perLayer: boolean;
}

/** Where every op that reads a tile takes its bits and scales: the same position in each ai.tbn
 * op (format.ts) and in the export's own TbnGather (lower.ts builds it the same way). */
const BITS = inputIndex('TbnMatMul', 'bits');
const SCALES = inputIndex('TbnMatMul', 'scales');

export function tileOf(n: LNode, g: LGraph): TileInfo | string {
  const shape = attrsOf(n).ints('weight_shape');
  const p = attrsOf(n).int('p', 0);
  const axis = attrsOf(n).int('tile_axis', 0);
  if (!shape || p < 1) return 'weight_shape and p are required';
  const total = numel(shape);
  if (total % p) return `p = ${p} does not divide the ${total} weights`;
  const q = total / p;
  if (!isConst(g, n.inputs[BITS]!) || !isConst(g, n.inputs[SCALES]!)) return 'the tile bits and scales must be constants';
  const bits = tensorOf(g, n.inputs[BITS]!);
  const scales = tensorOf(g, n.inputs[SCALES]!);
  if (bits.dtype !== 'uint8' || numel(bits.shape) !== Math.ceil(q / 8)) return `expected ${Math.ceil(q / 8)} uint8 tile bytes`;
  if (scales.dtype !== 'float32' || (numel(scales.shape) !== p && numel(scales.shape) !== 1)) return `expected ${p} or 1 float scales`;
  if (axis !== 0 && axis !== 1) return `tile_axis ${axis}`;
  return { shape, p, q, axis, perLayer: numel(scales.shape) === 1 };
}

export function tileInit(n: LNode, cx: EmitCtx, t: TileInfo): CInit {
  const bits = tensorOf(cx.g, n.inputs[BITS]!);
  const scales = tensorOf(cx.g, n.inputs[SCALES]!);
  return {
    bits: cx.constArray(`${n.inputs[BITS]}`, 'uint8_t', bits.data!, `tile bits of ${n.name}: q = ${t.q} bits, LSB first, 1 = +1`, 'tile'),
    scale: cx.constArray(`${n.inputs[SCALES]}`, 'float', scales.data!, `α of ${n.name} (${t.perLayer ? 'one per layer' : `one per region, p = ${t.p}`})`, 'scale'),
    p: t.p,
    q: t.q,
    scale_stride: t.perLayer ? 0 : 1,
  };
}
