// Matrix products: Gemm, MatMul (batched, broadcast batch dims, either operand constant) and
// their tiled forms TbnGemm / TbnMatMul, which read the tile bits directly. A tiled product
// uses the p-fold reuse of docs/design.md §6 when the tile regions are whole output columns
// (out_reuse) or whole input rows (in_combine), and the general kernel otherwise.
// Fused by fuse.ts: a following bias Add (MatMul forms) and ReLU.

import { cStruct, f32, type CInit } from '../c-text.js';
import { attrsOf, isConst, numel, tensorOf, type LGraph, type LNode } from '../graph.js';
import { actInit, actParams, matStrides, withResidual } from './common.js';
import { inputIndex } from '../../tbn/format.js';
import { tileInit, tileOf, type TileInfo } from './tile.js';
import type { EmitCtx, Emitted, OpEmitter } from './types.js';

interface Product {
  batch: number;
  m: number;
  n: number;
  k: number;
  a: { rs: number; cs: number; batch: number };
  b: { rs: number; cs: number; batch: number };
  y: { rs: number; cs: number; batch: number };
}

/** Layout of MatMul(A, B) with numpy batch broadcasting; a string says why it is not supported. */
function matmulLayout(aShape: number[], bShape: number[]): Product | string {
  const a = aShape.length === 1 ? [1, ...aShape] : aShape;
  const b = bShape.length === 1 ? [...bShape, 1] : bShape;
  const m = a[a.length - 2]!;
  const k = a[a.length - 1]!;
  const n = b[b.length - 1]!;
  if (b[b.length - 2] !== k) return `inner dimensions differ (${aShape} × ${bShape})`;
  const batA = a.slice(0, -2);
  const batB = b.slice(0, -2);
  if (numel(batB) === 1) {
    // B has no batch: every row of A (batch dims included) is one row of the product.
    const rows = numel(a) / k;
    return { batch: 1, m: rows, n, k, a: { rs: k, cs: 1, batch: 0 }, b: { rs: n, cs: 1, batch: 0 }, y: { rs: n, cs: 1, batch: 0 } };
  }
  const rank = Math.max(batA.length, batB.length);
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const pa = pad(batA);
  const pb = pad(batB);
  const batY = pa.map((d, i) => Math.max(d, pb[i]!));
  const stride = (s: number[], size: number) => (numel(s) === 1 ? 0 : s.every((d, i) => d === batY[i]) ? size : -1);
  const sa = stride(pa, m * k);
  const sb = stride(pb, k * n);
  if (sa < 0 || sb < 0) return `batch dims [${batA}] and [${batB}] broadcast partially (only all-or-nothing is supported)`;
  return { batch: numel(batY), m, n, k, a: { rs: k, cs: 1, batch: sa }, b: { rs: n, cs: 1, batch: sb }, y: { rs: n, cs: 1, batch: m * n } };
}

type Strategy = 'out_reuse' | 'in_combine' | 'general';

/** Which tiled kernel: the regions are whole output columns, whole input rows, or neither. */
function strategy(nMajor: boolean, n: number, k: number, p: number): Strategy {
  if (nMajor && n % p === 0) return 'out_reuse';
  if (!nMajor && k % p === 0) return 'in_combine';
  return 'general';
}

function strategyNote(s: Strategy, t: TileInfo, n: number, k: number): string {
  const head = `tile p = ${t.p}, ${t.q} bits`;
  if (s === 'out_reuse') return `${head}: regions are output columns, so ${n / t.p} of ${n} outputs come from the tile, each scaled by the ${t.p} α`;
  if (s === 'in_combine') return `${head}: regions are input rows, so the ${t.p} input chunks of ${k / t.p} are combined with their α first, then one ${k / t.p}×${n} product`;
  return `${head}: regions cut across rows, so each weight is read from its stream position (general kernel)`;
}

interface GemmFields {
  m: number;
  n: number;
  k: number;
  a: { rs: number; cs: number };
  b: { rs: number; cs: number };
  c: { rs: number; cs: number };
  y: { rs: number; cs: number };
  alpha: number;
  beta: number;
  act: string;
  /** The epilogue's other fields (post_scale, post_shift, act_alpha, act_beta). */
  post?: Record<string, CInit>;
}

const gemmInit = (f: GemmFields): CInit => ({
  m: f.m,
  n: f.n,
  k: f.k,
  a_rs: f.a.rs,
  a_cs: f.a.cs,
  b_rs: f.b.rs,
  b_cs: f.b.cs,
  c_rs: f.c.rs,
  c_cs: f.c.cs,
  y_rs: f.y.rs,
  y_cs: f.y.cs,
  alpha: f32(f.alpha),
  beta: f32(f.beta),
  act: f.act,
  ...f.post,
});

/** The C bias pointer and its strides: Gemm's C input, or a bias fused from a following Add. */
function bias(n: LNode, cx: EmitCtx | undefined, g: LGraph, cName: string | undefined, m: number, nn: number) {
  if (cName) {
    const s = matStrides(tensorOf(g, cName).shape, m, nn);
    if (!s) return undefined;
    return { ptr: cx ? cx.ptr(cName) : '', s };
  }
  const shift = n.post?.scale ? undefined : n.post?.shift;
  if (shift) return { ptr: cx ? cx.constArray(`${n.name}/bias`, 'float', shift, `bias of ${n.name} (fused Add)`) : '', s: { rs: 0, cs: 1 } };
  return { ptr: 'NULL', s: { rs: 0, cs: 0 } };
}

/** The epilogue's per-column scale (with its shift, which then cannot ride on C) and the
 * activation's parameters. */
function postInit(n: LNode, cx: EmitCtx): Record<string, CInit> {
  const out: Record<string, CInit> = { ...actParams(n.post) };
  if (n.post?.scale) {
    out.post_scale = cx.constArray(`${n.name}/scale`, 'float', n.post.scale, `per-output scale of ${n.name} (folded epilogue)`);
    if (n.post.shift) out.post_shift = cx.constArray(`${n.name}/shift`, 'float', n.post.shift, `per-output shift of ${n.name} (folded epilogue)`);
  }
  return out;
}

function gemmShape(n: LNode, g: LGraph, wShape: number[]) {
  const a = tensorOf(g, n.inputs[0]!).shape;
  const transA = attrsOf(n).int('transA', 0);
  const transB = attrsOf(n).int('transB', 0);
  if (a.length !== 2 || wShape.length !== 2) return undefined;
  const [m, k] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const nn = transB ? wShape[0]! : wShape[1]!;
  if ((transB ? wShape[1] : wShape[0]) !== k) return undefined;
  return { m, k, n: nn, transA, transB, a: transA ? { rs: 1, cs: m } : { rs: k, cs: 1 } };
}

const gemm: OpEmitter = {
  check(n, g) {
    const s = gemmShape(n, g, tensorOf(g, n.inputs[1]!).shape);
    if (!s) return 'A and B must be 2-D with matching inner dimensions';
    if (n.inputs[2] && !bias(n, undefined, g, n.inputs[2], s.m, s.n)) return `C [${tensorOf(g, n.inputs[2]).shape}] does not broadcast to [${s.m},${s.n}]`;
    return undefined;
  },
  emit(n, cx) {
    const s = gemmShape(n, cx.g, tensorOf(cx.g, n.inputs[1]!).shape)!;
    const c = bias(n, cx, cx.g, n.inputs[2] || undefined, s.m, s.n)!;
    const init = gemmInit({
      ...s,
      b: s.transB ? { rs: 1, cs: s.k } : { rs: s.n, cs: 1 },
      c: c.s,
      y: { rs: s.n, cs: 1 },
      alpha: attrsOf(n).float('alpha', 1),
      beta: n.inputs[2] ? attrsOf(n).float('beta', 1) : 1,
      act: actInit(n.post),
    });
    const p = cx.define(n.name, 'tbn_gemm_params', cStruct(init as Record<string, CInit>));
    return { code: [`tbn_gemm(&${p}, ${cx.ptr(n.inputs[0]!)}, ${cx.ptr(n.inputs[1]!)}, ${c.ptr}, ${cx.ptr(n.outputs[0]!)});`], kernel: 'tbn_gemm' };
  },
};

const matmul: OpEmitter = {
  check(n, g) {
    const l = matmulLayout(tensorOf(g, n.inputs[0]!).shape, tensorOf(g, n.inputs[1]!).shape);
    return typeof l === 'string' ? l : undefined;
  },
  emit(n, cx) {
    const l = matmulLayout(tensorOf(cx.g, n.inputs[0]!).shape, tensorOf(cx.g, n.inputs[1]!).shape) as Product;
    const c = bias(n, cx, cx.g, undefined, l.m, l.n)!;
    const init = gemmInit({ ...l, c: c.s, alpha: 1, beta: 1, act: actInit(n.post) });
    const p = cx.define(n.name, 'tbn_gemm_params', cStruct(init as Record<string, CInit>));
    const [a, b, y] = [cx.ptr(n.inputs[0]!), cx.ptr(n.inputs[1]!), cx.ptr(n.outputs[0]!)];
    if (l.batch === 1) return { code: [`tbn_gemm(&${p}, ${a}, ${b}, ${c.ptr}, ${y});`], kernel: 'tbn_gemm' };
    const off = (ptr: string, stride: number) => (stride ? `${ptr} + bt * ${stride}` : ptr);
    return {
      code: [`for (int bt = 0; bt < ${l.batch}; ++bt) tbn_gemm(&${p}, ${off(a, l.a.batch)}, ${off(b, l.b.batch)}, ${c.ptr}, ${off(y, l.y.batch)});`],
      kernel: 'tbn_gemm',
      note: `${l.batch} batched products of ${l.m}×${l.k} by ${l.k}×${l.n}`,
    };
  },
};

function emitTiled(n: LNode, cx: EmitCtx, t: TileInfo, nMajor: boolean, f: Omit<GemmFields, 'b'>, cArg: string, batch?: { count: number; a: number; y: number }): Emitted {
  const s = strategy(nMajor, f.n, f.k, t.p);
  const init = { g: gemmInit({ ...f, b: { rs: 0, cs: 0 }, post: postInit(n, cx) }), tile: tileInit(n, cx, t), n_major: nMajor ? 1 : 0 };
  const p = cx.define(n.name, 'tbn_tiled_gemm_params', cStruct(init));
  const kernel = `tbn_tiled_gemm_${s}`;
  const call = (a: string, y: string) => (params: string) => `${kernel}(${params}, ${a}, ${cArg}, ${y}${s === 'in_combine' ? `, ${cx.scratch}` : ''});`;
  const [a, y] = [cx.ptr(n.inputs[0]!), cx.ptr(n.outputs[0]!)];
  const res = n.post?.residual ? cx.ptr(n.post.residual) : undefined;
  const note = strategyNote(s, t, f.n, f.k);
  if (!batch || batch.count === 1) return { code: withResidual(call(a, y), p, 'tbn_tiled_gemm_params', 'g.residual', res), kernel, note };
  const body = withResidual(call(`${a} + bt * ${batch.a}`, `${y} + bt * ${batch.y}`), p, 'tbn_tiled_gemm_params', 'g.residual', res && `${res} + bt * ${batch.y}`);
  return { code: [`for (int bt = 0; bt < ${batch.count}; ++bt) ${body.join('\n')}`], kernel, note };
}

const TBN_GEMM = { C: inputIndex('TbnGemm', 'C'), scale: inputIndex('TbnGemm', 'scale'), shift: inputIndex('TbnGemm', 'shift') };
const TBN_MATMUL = { A: inputIndex('TbnMatMul', 'A'), scale: inputIndex('TbnMatMul', 'scale'), shift: inputIndex('TbnMatMul', 'shift') };

const tbnGemm: OpEmitter = {
  check(n, g) {
    const t = tileOf(n, g);
    if (typeof t === 'string') return t;
    const s = gemmShape(n, g, t.shape);
    if (!s) return 'A must be 2-D and match weight_shape';
    const c = n.inputs[TBN_GEMM.C];
    if (c && !bias(n, undefined, g, c, s.m, s.n)) return `C does not broadcast to [${s.m},${s.n}]`;
    if ([TBN_GEMM.scale, TBN_GEMM.shift].some((i) => n.inputs[i] && !isConst(g, n.inputs[i]!))) return 'the epilogue scale and shift must be constants';
    return undefined;
  },
  scratch(n, g) {
    const t = tileOf(n, g) as TileInfo;
    const s = gemmShape(n, g, t.shape)!;
    const nMajor = (s.transB === 1) !== (t.axis === 1);
    return strategy(nMajor, s.n, s.k, t.p) === 'in_combine' ? s.k / t.p : 0;
  },
  emit(n, cx) {
    const t = tileOf(n, cx.g) as TileInfo;
    const s = gemmShape(n, cx.g, t.shape)!;
    const c = bias(n, cx, cx.g, n.inputs[TBN_GEMM.C] || undefined, s.m, s.n)!;
    const nMajor = (s.transB === 1) !== (t.axis === 1);
    const alpha = attrsOf(n).float('alpha', 1);
    return emitTiled(n, cx, t, nMajor, { ...s, c: c.s, y: { rs: s.n, cs: 1 }, alpha, beta: n.inputs[TBN_GEMM.C] ? attrsOf(n).float('beta', 1) : 1, act: actInit(n.post) }, c.ptr);
  },
};

/** TbnMatMul: Y = A·W (tile on the right), or Y = W·X when lowering marked tbn_left (a TbnDecode feeding MatMul's first input). */
function tbnMatMulShape(n: LNode, g: LGraph, t: TileInfo) {
  const x = tensorOf(g, n.inputs[TBN_MATMUL.A]!).shape;
  if (t.shape.length !== 2) return undefined;
  if (attrsOf(n).int('tbn_left', 0)) {
    const [m, k] = t.shape as [number, number];
    const xs = x.length === 1 ? [...x, 1] : x;
    if (xs[xs.length - 2] !== k) return undefined;
    const nn = xs[xs.length - 1]!;
    // Yᵀ = Xᵀ·Wᵀ per batch: rows are X's columns; the stream of W [m][k] runs over (Wᵀ)ᵀ.
    return { left: true, m: nn, n: m, k, batch: numel(xs) / (k * nn), a: { rs: 1, cs: nn }, y: { rs: 1, cs: nn }, nMajor: t.axis === 0, aBatch: k * nn, yBatch: m * nn };
  }
  const [k, nn] = t.shape as [number, number];
  if (x[x.length - 1] !== k) return undefined;
  return { left: false, m: numel(x) / k, n: nn, k, batch: 1, a: { rs: k, cs: 1 }, y: { rs: nn, cs: 1 }, nMajor: t.axis === 1, aBatch: 0, yBatch: 0 };
}

const tbnMatMul: OpEmitter = {
  check(n, g) {
    const t = tileOf(n, g);
    if (typeof t === 'string') return t;
    if ([TBN_MATMUL.scale, TBN_MATMUL.shift].some((i) => n.inputs[i] && !isConst(g, n.inputs[i]!))) return 'the epilogue scale and shift must be constants';
    const s = tbnMatMulShape(n, g, t);
    if (s?.left && (n.post?.scale || n.post?.residual)) return 'a weight-first MatMul takes no epilogue';
    return s ? undefined : `input [${tensorOf(g, n.inputs[TBN_MATMUL.A]!).shape}] does not match weight_shape [${t.shape}]`;
  },
  scratch(n, g) {
    const t = tileOf(n, g) as TileInfo;
    const s = tbnMatMulShape(n, g, t)!;
    return strategy(s.nMajor, s.n, s.k, t.p) === 'in_combine' ? s.k / t.p : 0;
  },
  emit(n, cx) {
    const t = tileOf(n, cx.g) as TileInfo;
    const s = tbnMatMulShape(n, cx.g, t)!;
    const c = bias(n, cx, cx.g, undefined, s.m, s.n)!;
    // Y = W·X is computed as Yᵀ: a bias along Y's last axis runs along the product's rows.
    if (s.left && c.ptr !== 'NULL') c.s = { rs: 1, cs: 0 };
    return emitTiled(n, cx, t, s.nMajor, { ...s, c: c.s, alpha: 1, beta: 1, act: actInit(n.post) }, c.ptr, { count: s.batch, a: s.aBatch, y: s.yBatch });
  },
};

/** TbnDecode never reaches the generator: lowering turns TbnDecode → MatMul/Gemm/Conv into the fused op. */
const tbnDecode: OpEmitter = {
  check: () => 'its decoded weight feeds an op that cannot read tiles (only MatMul, Gemm and Conv can)',
  emit: () => ({ code: [], kernel: '' }),
};

export const MATMUL_EMITTERS = { Gemm: gemm, MatMul: matmul, TbnGemm: tbnGemm, TbnMatMul: tbnMatMul, TbnDecode: tbnDecode };
