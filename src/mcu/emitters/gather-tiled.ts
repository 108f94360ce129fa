// TbnGather: an embedding lookup of a tiled table (lowering fuses TbnDecode → Gather into it).
// Inputs: indices, tile bits, scales; each looked-up row is decoded from the tile bits, so the
// table never exists in RAM or flash.

import { cStruct } from '../c-text.js';
import { attrsOf, isConst, numel, tensorOf } from '../graph.js';
import { tileInit, tileOf, type TileInfo } from './tile.js';
import type { OpEmitter } from './types.js';

const tbnGather: OpEmitter = {
  check(n, g) {
    const t = tileOf(n, g);
    if (typeof t === 'string') return t;
    if (t.shape.length !== 2) return `weight_shape [${t.shape}] is not a 2-D table`;
    if (attrsOf(n).int('axis', 0) !== 0) return 'only row lookups (axis 0) read tiles';
    const idx = tensorOf(g, n.inputs[0]!);
    if (!['int64', 'int32'].includes(idx.dtype)) return `indices are ${idx.dtype}`;
    if (!isConst(g, n.inputs[0]!) && !g.inputs.includes(n.inputs[0]!)) return 'run-time indices must be a graph input';
    return undefined;
  },
  emit(n, cx) {
    const t = tileOf(n, cx.g) as TileInfo;
    const idx = tensorOf(cx.g, n.inputs[0]!);
    const tile = cx.define(`${n.name}_tile`, 'tbn_tile', cStruct(tileInit(n, cx, t) as { [f: string]: string | number }));
    const i64 = idx.dtype === 'int64' && !idx.data;
    const ix = idx.data ? cx.constArray(`${n.inputs[0]}`, 'int32_t', Int32Array.from(Array.from(idx.data as ArrayLike<number | bigint>, Number)), `indices of ${n.name}`) : cx.ptr(n.inputs[0]!);
    const args = i64 ? `${ix}, NULL` : `NULL, (const int32_t *)${ix}`;
    return {
      code: [`tbn_tiled_gather(&${tile}, ${t.shape[0]}, ${t.shape[1]}, ${t.axis}, ${args}, ${numel(idx.shape)}, ${cx.ptr(n.outputs[0]!)});`],
      kernel: 'tbn_tiled_gather',
      note: `rows decoded from the tile (tile_axis ${t.axis}, p = ${t.p})`,
    };
  },
};

export const GATHER_TILED_EMITTERS = { TbnGather: tbnGather };
