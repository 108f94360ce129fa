// Convolutions: Conv and TbnConv, 1-D and 2-D, any stride / dilation / padding / group. The
// kernels apply a per-channel affine (bias, and a BatchNormalization folded by fuse.ts or by
// tbn compress into TbnConv's epilogue), a residual, the activation,
// and a following MaxPool on the fly, so the full-resolution convolution output never exists
// in RAM. TbnConv with tile_axis 0, group 1 and p | out_channels computes out/p filters from the
// tile and scales each by the p α (out_reuse); other layouts use the general tiled kernel.

import { cStruct, type CInit } from '../c-text.js';
import { attrsOf, constFloats, isConst, tensorOf, type LGraph, type LNode } from '../graph.js';
import { actInit, actParams, identityWindow, plane, windowOf, withResidual, type Window } from './common.js';
import { inputIndex } from '../../tbn/format.js';
import { tileInit, tileOf, type TileInfo } from './tile.js';
import type { EmitCtx, Emitted, OpEmitter } from './types.js';

interface ConvGeometry {
  x: { c: number; h: number; w: number };
  /** Convolution output (before any fused pooling). */
  conv: { c: number; h: number; w: number };
  win: Window;
  pool: Window;
  group: number;
}

const spatial = (s: number[]) => s.slice(2);

function geometry(n: LNode, g: LGraph, wShape: number[]): ConvGeometry | string {
  const xs = tensorOf(g, n.inputs[0]!).shape;
  const ys = tensorOf(g, n.outputs[0]!).shape;
  const convShape = n.pool ? n.pool.inShape : ys;
  const x = plane(xs);
  const conv = plane(convShape);
  if (!x || !conv || xs.length !== convShape.length) return `input [${xs}]: only 1-D and 2-D convolutions of batch 1 are supported`;
  if (wShape.length !== xs.length) return `weight [${wShape}] does not match input [${xs}]`;
  const group = attrsOf(n).int('group', 1);
  if (group < 1 || x.c % group || conv.c % group || wShape[1]! * group !== x.c || wShape[0] !== conv.c) {
    return `weight [${wShape}] and group ${group} do not fit ${x.c} → ${conv.c} channels`;
  }
  const win = windowOf(n, spatial(xs), spatial(convShape), wShape.slice(2));
  if (typeof win === 'string') return win;
  let pool = identityWindow(conv.h, conv.w);
  if (n.pool) {
    const pw = windowOf(n.pool.node, spatial(convShape), spatial(ys));
    if (typeof pw === 'string') return `fused MaxPool: ${pw}`;
    pool = pw;
  }
  return { x, conv, win, pool, group };
}

function convInit(n: LNode, cx: EmitCtx, geo: ConvGeometry, weight: string): CInit {
  const bias = n.inputs[n.op === 'TbnConv' ? 3 : 2];
  const shift = n.post?.shift ?? (bias ? constFloats(cx.g, bias) : undefined);
  const scale = n.post?.scale;
  const { win } = geo;
  return {
    in_c: geo.x.c,
    in_h: geo.x.h,
    in_w: geo.x.w,
    out_c: geo.conv.c,
    out_h: geo.conv.h,
    out_w: geo.conv.w,
    k_h: win.k_h,
    k_w: win.k_w,
    stride_h: win.stride_h,
    stride_w: win.stride_w,
    dil_h: win.dil_h,
    dil_w: win.dil_w,
    pad_t: win.pad_t,
    pad_l: win.pad_l,
    group: geo.group,
    weight,
    scale: scale ? cx.constArray(`${n.name}/scale`, 'float', scale, `per-channel scale of ${n.name} (folded BatchNormalization)`) : 'NULL',
    shift: shift ? cx.constArray(bias && !scale ? bias : `${n.name}/shift`, 'float', shift, `per-channel shift of ${n.name}${scale ? ' (bias and BatchNormalization folded)' : ' (bias)'}`) : 'NULL',
    act: actInit(n.post),
    ...actParams(n.post),
    pool: { ...geo.pool },
  };
}

function describe(geo: ConvGeometry, n: LNode): string {
  const p = geo.pool;
  const pooled = n.pool ? `; ${p.k_h}×${p.k_w} max pooling fused: one ${geo.conv.h}×${geo.conv.w} plane at a time in scratch, never all ${geo.conv.c} channels` : '';
  return `${geo.win.k_h}×${geo.win.k_w} conv, ${geo.x.c}→${geo.conv.c} channels${pooled}`;
}

/** With a fused pooling each channel's full plane is accumulated in scratch, one channel at a time. */
function scratchFloats(n: LNode): number {
  if (!n.pool) return 0;
  const conv = plane(n.pool.inShape)!;
  return conv.h * conv.w;
}

const scratchArg = (n: LNode, cx: EmitCtx) => (n.pool ? cx.scratch : 'NULL');

const conv: OpEmitter = {
  scratch: scratchFloats,
  check(n, g) {
    if (!isConst(g, n.inputs[1]!)) return 'the weight must be a constant';
    if (n.inputs[2] && !isConst(g, n.inputs[2])) return 'the bias must be a constant';
    const geo = geometry(n, g, tensorOf(g, n.inputs[1]!).shape);
    return typeof geo === 'string' ? geo : undefined;
  },
  emit(n, cx) {
    const geo = geometry(n, cx.g, tensorOf(cx.g, n.inputs[1]!).shape) as ConvGeometry;
    const p = cx.define(n.name, 'tbn_conv_params', cStruct(convInit(n, cx, geo, cx.ptr(n.inputs[1]!)) as Record<string, CInit>));
    return { code: [`tbn_conv2d(&${p}, ${cx.ptr(n.inputs[0]!)}, ${cx.ptr(n.outputs[0]!)}, ${scratchArg(n, cx)});`], kernel: 'tbn_conv2d', note: describe(geo, n) };
  },
};

const TBN_CONV = { X: inputIndex('TbnConv', 'X'), B: inputIndex('TbnConv', 'B'), scale: inputIndex('TbnConv', 'scale'), shift: inputIndex('TbnConv', 'shift') };

const outReuse = (t: TileInfo, geo: ConvGeometry) => t.axis === 0 && geo.group === 1 && geo.conv.c % t.p === 0;

const tbnConv: OpEmitter = {
  scratch: scratchFloats,
  check(n, g) {
    const t = tileOf(n, g);
    if (typeof t === 'string') return t;
    const bias = n.inputs[TBN_CONV.B];
    if (bias && !isConst(g, bias)) return 'the bias must be a constant';
    if ([TBN_CONV.scale, TBN_CONV.shift].some((i) => n.inputs[i] && !isConst(g, n.inputs[i]!))) return 'the epilogue scale and shift must be constants';
    const geo = geometry(n, g, t.shape);
    return typeof geo === 'string' ? geo : undefined;
  },
  emit(n, cx): Emitted {
    const t = tileOf(n, cx.g) as TileInfo;
    const geo = geometry(n, cx.g, t.shape) as ConvGeometry;
    const reuse = outReuse(t, geo);
    const init = { c: convInit(n, cx, geo, 'NULL'), tile: tileInit(n, cx, t), tile_axis: t.axis };
    const p = cx.define(n.name, 'tbn_tiled_conv_params', cStruct(init));
    const kernel = reuse ? 'tbn_tiled_conv2d_out_reuse' : 'tbn_tiled_conv2d_general';
    const how = reuse
      ? `tile p = ${t.p}: ${geo.conv.c / t.p} filters from the tile give all ${geo.conv.c} channels, one block per α`
      : `tile p = ${t.p}: regions do not align with filters (or grouped), each weight read from its stream position`;
    const call = (params: string) => `${kernel}(${params}, ${cx.ptr(n.inputs[TBN_CONV.X]!)}, ${cx.ptr(n.outputs[0]!)}, ${scratchArg(n, cx)});`;
    const residual = n.post?.residual ? cx.ptr(n.post.residual) : undefined;
    return { code: withResidual(call, p, 'tbn_tiled_conv_params', 'c.residual', residual), kernel, note: `${describe(geo, n)}; ${how}` };
  },
};

export const CONV_EMITTERS = { Conv: conv, TbnConv: tbnConv };
