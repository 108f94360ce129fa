// Pooling: MaxPool, AveragePool (1-D and 2-D, pads, strides, ceil_mode via the output shape,
// count_include_pad), GlobalAveragePool and GlobalMaxPool. A MaxPool right after a
// convolution is usually fused into it by fuse.ts and never reaches this emitter.

import { cStruct } from '../c-text.js';
import { attrsOf, tensorOf, type LGraph, type LNode } from '../graph.js';
import { numel, plane, windowOf, type Window } from './common.js';
import type { OpEmitter } from './types.js';

function poolGeometry(n: LNode, g: LGraph): { c: number; h: number; w: number; win: Window } | string {
  const xs = tensorOf(g, n.inputs[0]!).shape;
  const ys = tensorOf(g, n.outputs[0]!).shape;
  const x = plane(xs);
  if (!x || ys.length !== xs.length) return `input [${xs}]: only 1-D and 2-D pooling of batch 1 is supported`;
  if (n.outputs[1]) return 'the Indices output is not supported';
  const win = windowOf(n, xs.slice(2), ys.slice(2));
  if (typeof win === 'string') return win;
  return { ...x, win };
}

function windowed(kernel: 'tbn_maxpool2d' | 'tbn_avgpool2d'): OpEmitter {
  return {
    check(n, g) {
      const geo = poolGeometry(n, g);
      if (typeof geo === 'string') return geo;
      if (kernel === 'tbn_avgpool2d' && (geo.win.dil_h !== 1 || geo.win.dil_w !== 1)) return 'dilated average pooling is not supported';
      return undefined;
    },
    emit(n, cx) {
      const geo = poolGeometry(n, cx.g) as Exclude<ReturnType<typeof poolGeometry>, string>;
      const init = { c: geo.c, in_h: geo.h, in_w: geo.w, win: { ...geo.win }, count_include_pad: attrsOf(n).int('count_include_pad', 0) };
      const p = cx.define(n.name, 'tbn_pool_params', cStruct(init));
      return { code: [`${kernel}(&${p}, ${cx.ptr(n.inputs[0]!)}, ${cx.ptr(n.outputs[0]!)});`], kernel };
    },
  };
}

function global(kernel: 'tbn_global_avgpool' | 'tbn_global_maxpool'): OpEmitter {
  return {
    check(n, g) {
      const xs = tensorOf(g, n.inputs[0]!).shape;
      return xs.length >= 3 && xs[0] === 1 ? undefined : `input [${xs}]: expected [1, C, …]`;
    },
    emit(n, cx) {
      const xs = tensorOf(cx.g, n.inputs[0]!).shape;
      const c = xs[1]!;
      return { code: [`${kernel}(${cx.ptr(n.inputs[0]!)}, ${cx.ptr(n.outputs[0]!)}, ${c}, ${numel(xs) / c});`], kernel };
    },
  };
}

export const POOL_EMITTERS = {
  MaxPool: windowed('tbn_maxpool2d'),
  AveragePool: windowed('tbn_avgpool2d'),
  GlobalAveragePool: global('tbn_global_avgpool'),
  GlobalMaxPool: global('tbn_global_maxpool'),
};
