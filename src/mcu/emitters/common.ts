// Helpers shared by the emitters: image geometry (1-D signals are 2-D planes of height 1),
// sliding windows from ONNX attributes (pads, auto_pad, strides, dilations), matrix strides
// for broadcast operands, and the activation spelling.

import { spatialGeometry } from '../../ir/conv-geometry.js';
import { f32, type CInit } from '../c-text.js';
import { attrsOf, numel, type LNode, type Post } from '../graph.js';

/** [1, C, H, W] or [1, C, L] → channels and plane; undefined for other ranks or batch ≠ 1. */
export function plane(shape: number[]): { c: number; h: number; w: number } | undefined {
  if (shape[0] !== 1) return undefined;
  if (shape.length === 4) return { c: shape[1]!, h: shape[2]!, w: shape[3]! };
  if (shape.length === 3) return { c: shape[1]!, h: 1, w: shape[2]! };
  return undefined;
}

export interface Window {
  k_h: number;
  k_w: number;
  stride_h: number;
  stride_w: number;
  dil_h: number;
  dil_w: number;
  pad_t: number;
  pad_l: number;
  pad_b: number;
  pad_r: number;
  out_h: number;
  out_w: number;
}

/**
 * The sliding window of a Conv / pooling node over spatial dims `inDims` giving `outDims`
 * (1 or 2 dims). Kernel size from kernel_shape, or `kernel` (a Conv weight's trailing dims).
 */
export function windowOf(n: LNode, inDims: number[], outDims: number[], kernel?: number[]): Window | string {
  const d = inDims.length;
  const k = attrsOf(n).ints('kernel_shape') ?? kernel;
  if (!k || k.length !== d) return `kernel_shape has ${k?.length ?? 0} dims for ${d} spatial dims`;
  const geo = spatialGeometry(attrsOf(n), inDims, k, outDims);
  if (typeof geo === 'string') return geo;
  const { strides, dilations: dil } = geo;
  const begin = geo.pads.slice(0, d);
  const end = geo.pads.slice(d);
  const at = (a: number[], i: number, def: number) => (d === 1 ? (i === 0 ? def : a[0]!) : a[i]!);
  return {
    k_h: at(k, 0, 1),
    k_w: at(k, 1, 1),
    stride_h: at(strides, 0, 1),
    stride_w: at(strides, 1, 1),
    dil_h: at(dil, 0, 1),
    dil_w: at(dil, 1, 1),
    pad_t: at(begin, 0, 0),
    pad_l: at(begin, 1, 0),
    pad_b: at(end, 0, 0),
    pad_r: at(end, 1, 0),
    out_h: d === 1 ? 1 : outDims[0]!,
    out_w: d === 1 ? outDims[0]! : outDims[1]!,
  };
}

/** A window that changes nothing (no pooling fused). */
export function identityWindow(outH: number, outW: number): Window {
  return { k_h: 1, k_w: 1, stride_h: 1, stride_w: 1, dil_h: 1, dil_w: 1, pad_t: 0, pad_l: 0, pad_b: 0, pad_r: 0, out_h: outH, out_w: outW };
}

export const windowInit = (w: Window): CInit => ({ ...w });

/** Row and column strides of a tensor broadcast to a [rows, cols] matrix (0 = repeated). */
export function matStrides(shape: number[], rows: number, cols: number): { rs: number; cs: number } | undefined {
  const s = shape.slice();
  while (s.length > 2 && s[0] === 1) s.shift();
  if (s.length > 2) return undefined;
  const [r, c] = s.length === 2 ? s : s.length === 1 ? [1, s[0]!] : [1, 1];
  if ((r !== 1 && r !== rows) || (c !== 1 && c !== cols)) return undefined;
  return { rs: r === 1 ? 0 : c!, cs: c === 1 ? 0 : 1 };
}

const ACT_C = ['TBN_ACT_NONE', 'TBN_ACT_RELU', 'TBN_ACT_LEAKY_RELU', 'TBN_ACT_CLIP', 'TBN_ACT_HARD_SWISH', 'TBN_ACT_SIGMOID', 'TBN_ACT_SILU', 'TBN_ACT_GELU', 'TBN_ACT_GELU_TANH'];

export const actInit = (post: Post | undefined): string => ACT_C[post?.act ?? 0]!;

/** act_alpha / act_beta for the activations that read them (absent fields are 0 in C). */
export function actParams(post: Post | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const finite = (v: number) => f32(Math.max(-3.4028234663852886e38, Math.min(3.4028234663852886e38, v)));
  if (post && (post.act === 2 || post.act === 3)) out.act_alpha = finite(post.actAlpha ?? 0.01);
  if (post && post.act === 3) out.act_beta = finite(post.actBeta ?? 0);
  return out;
}

/** The call, or (a fused residual: a runtime pointer) a copy of the const parameters with it set. */
export function withResidual(call: (params: string) => string, params: string, type: string, field: string, residual: string | undefined): string[] {
  if (!residual) return [call(`&${params}`)];
  return ['{', `    ${type} q = ${params};`, `    q.${field} = ${residual};`, `    ${call('&q')}`, '}'];
}

export const shapeText = (s: number[]): string => `[${s.join(',')}]`;

export { numel };
