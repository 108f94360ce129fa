// Malformed compressed models for the error tests and the sanitizer fuzz pass: small valid
// ai.tbn models of each op (with and without a version-2 epilogue, channels first and last, in
// float16 and bfloat16) and mutations of their attributes, tiles, epilogue inputs and input
// shapes. Each
// mutation names the message the custom-op library must answer with (at load or at run).
import { attr, floatTensor, floatTensorOf, graph, model, node, valueInfo } from '../../src/ir/build.js';
import type { Attribute, Model, Node, OnnxTensor } from '../../src/ir/types.js';
import { tileChoices } from '../../src/tbn/method.js';
import { TBN_DOMAIN } from '../../src/tbn/format.js';
import { normalizeEpilogues } from '../../src/tbn/fuse-epilogue.js';
import { rewriteModel } from '../../src/tbn/rewrite.js';
import { selectLayers } from '../../src/tbn/select.js';
import { Rng } from '../../src/util/random.js';
import { narrowModel } from '../helpers/narrow.js';

const rng = new Rng(42);
const w = (name: string, dims: number[]) => floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()));

function compressed(n: Node, inputs: [string, number[]][], inits: OnnxTensor[], p: number): Model {
  const m = model(graph({ nodes: [n], inputs: inputs.map(([v, d]) => valueInfo(v, 'float32', d)), outputs: [valueInfo('y', 'float32')], initializers: inits }), { opset: 17 });
  const tiled = tileChoices(selectLayers(m, { p, minParams: 0, tileAxis: 'output' }).chosen, 'per-tile');
  return rewriteModel(m, tiled, { format: 'custom' });
}

/** A version-2 epilogue on the model's fused node: per-channel scale and shift (initializers), a
 * residual fed as a graph input of Y's shape, and an activation (with its parameters). */
function withEpilogue(m: Model, channels: number, ydims: number[], act: Attribute[]): Model {
  const n = m.graph.nodes.find((x) => x.domain === TBN_DOMAIN)!;
  const base = n.opType === 'TbnMatMul' ? 3 : 4;
  const inputs = [...n.inputs.slice(0, base), 'e_scale', 'e_shift', 'e_residual'];
  const nodes = m.graph.nodes.map((x) => (x === n ? { ...n, inputs, attributes: [...n.attributes, ...act] } : x));
  const g = { ...m.graph, nodes, initializers: [...m.graph.initializers, w('e_scale', [channels]), w('e_shift', [channels])], inputs: [...m.graph.inputs, valueInfo('e_residual', 'float32', ydims)] };
  return normalizeEpilogues({ ...m, graph: g });
}

const gemm = () => compressed(node('Gemm', ['a', 'w', 'c'], ['y'], [attr.int('transB', 1)]), [['a', [3, 12]]], [w('w', [8, 12]), w('c', [8])], 4);
const conv = () => compressed(node('Conv', ['x', 'w', 'b'], ['y'], [attr.ints('pads', [1, 1, 1, 1])]), [['x', [1, 4, 6, 6]]], [w('w', [8, 4, 3, 3]), w('b', [8])], 4);

export const BASES: Record<string, () => Model> = {
  gemm,
  matmul: () => compressed(node('MatMul', ['a', 'w'], ['y']), [['a', [2, 3, 12]]], [w('w', [12, 8])], 4),
  conv,
  decode: () => compressed(node('MatMul', ['w', 'a'], ['y']), [['a', [5, 2]]], [w('w', [6, 5])], 2),
  conv_epilogue: () => withEpilogue(conv(), 8, [1, 8, 6, 6], [attr.int('activation', 7)]),
  // Every input but the bits (the epilogue's included) and the output in float16/bfloat16.
  conv_epilogue_fp16: () => normalizeEpilogues(narrowModel(withEpilogue(conv(), 8, [1, 8, 6, 6], [attr.int('activation', 6)]), 'float16')),
  gemm_epilogue_bf16: () => normalizeEpilogues(narrowModel(withEpilogue(gemm(), 8, [3, 8], [attr.int('activation', 2)]), 'bfloat16')),
  matmul_epilogue: () =>
    withEpilogue(compressed(node('MatMul', ['a', 'w'], ['y']), [['a', [2, 3, 12]]], [w('w', [12, 8])], 4), 8, [2, 3, 8], [attr.int('activation', 3), attr.float('activation_alpha', -1), attr.float('activation_beta', 2)]),
  conv_nhwc: () => {
    const m = conv();
    const nodes = m.graph.nodes.map((n) => (n.domain === TBN_DOMAIN ? { ...n, opType: 'TbnConvNhwc' } : n));
    return normalizeEpilogues({ ...m, graph: { ...m.graph, nodes, inputs: [valueInfo('x', 'float32', [1, 6, 6, 4])] } });
  },
  // TbnConvMaxPool (version 3) with an epilogue whose residual has the conv's 6×6 output shape.
  conv_max_pool: () => {
    const m = withEpilogue(conv(), 8, [1, 8, 6, 6], [attr.int('activation', 1)]);
    const pool = [attr.ints('pool_kernel_shape', [2, 2]), attr.ints('pool_strides', [2, 2]), attr.ints('pool_pads', [0, 0, 0, 0])];
    const nodes = m.graph.nodes.map((n) => (n.domain === TBN_DOMAIN ? { ...n, opType: 'TbnConvMaxPool', attributes: [...n.attributes, ...pool] } : n));
    const opsetImports = m.opsetImports.map((o) => (o.domain === TBN_DOMAIN ? { ...o, version: 3 } : o));
    return normalizeEpilogues({ ...m, opsetImports, graph: { ...m.graph, nodes } });
  },
};

const tbnNode = (m: Model) => m.graph.nodes.find((n) => n.domain === TBN_DOMAIN)!;

function withAttr(m: Model, a: Attribute | string): Model {
  const n = tbnNode(m);
  const name = typeof a === 'string' ? a : a.name;
  const attributes = [...n.attributes.filter((x) => x.name !== name), ...(typeof a === 'string' ? [] : [a])];
  return { ...m, graph: { ...m.graph, nodes: m.graph.nodes.map((x) => (x === n ? { ...n, attributes } : x)) } };
}

function withInit(m: Model, suffix: string, f: (t: OnnxTensor) => OnnxTensor): Model {
  return { ...m, graph: { ...m.graph, initializers: m.graph.initializers.map((t) => (t.name?.endsWith(suffix) ? f(t) : t)) } };
}

function withInput(m: Model, dims: number[]): Model {
  const [first, ...rest] = m.graph.inputs;
  return { ...m, graph: { ...m.graph, inputs: [valueInfo(first!.name!, 'float32', dims), ...rest] } };
}

const truncate = (t: OnnxTensor): OnnxTensor => ({ ...t, dims: [t.dims[0]! - 1], data: (t.data as Uint8Array).slice(0, -1) });
const scales3 = (t: OnnxTensor): OnnxTensor => floatTensorOf(t.name, t.dtype as 'float32', [3], Float32Array.of(0.1, 0.2, 0.3));

export interface Mutation {
  name: string;
  base: keyof typeof BASES;
  mutate: (m: Model) => Model;
  message: RegExp;
}

export const MUTATIONS: Mutation[] = [
  ...(Object.keys(BASES) as (keyof typeof BASES)[]).flatMap((base): Mutation[] => [
    { name: `${base}: bits one byte short`, base, mutate: (m) => withInit(m, '_bits', truncate), message: /bits has \d+ bytes/ },
    { name: `${base}: 3 scales`, base, mutate: (m) => withInit(m, '_scales', scales3), message: /scales has 3 values/ },
    { name: `${base}: p not dividing`, base, mutate: (m) => withAttr(m, attr.int('p', 7)), message: /p = 7 does not divide/ },
    { name: `${base}: p = 0`, base, mutate: (m) => withAttr(m, attr.int('p', 0)), message: /p = 0 does not divide/ },
    { name: `${base}: p = -4`, base, mutate: (m) => withAttr(m, attr.int('p', -4)), message: /p = -4 does not divide/ },
    { name: `${base}: no p`, base, mutate: (m) => withAttr(m, 'p'), message: /missing int attribute 'p'/ },
    { name: `${base}: tile_axis 2`, base, mutate: (m) => withAttr(m, attr.int('tile_axis', 2)), message: /tile_axis = 2/ },
    { name: `${base}: weight_shape with 0`, base, mutate: (m) => withAttr(m, attr.ints('weight_shape', [0, 8])), message: /dimension < 1/ },
    { name: `${base}: weight_shape negative`, base, mutate: (m) => withAttr(m, attr.ints('weight_shape', [-8, -12])), message: /dimension < 1/ },
    { name: `${base}: weight_shape overflowing`, base, mutate: (m) => withAttr(m, attr.ints('weight_shape', [2 ** 31, 2 ** 31, 4])), message: /too large/ },
    { name: `${base}: empty weight_shape`, base, mutate: (m) => withAttr(m, attr.ints('weight_shape', [])), message: /weight_shape is empty|missing attribute weight_shape/ },
  ]),
  { name: 'gemm: 3-D weight_shape', base: 'gemm', mutate: (m) => withAttr(m, attr.ints('weight_shape', [8, 3, 4])), message: /must be 2-D/ },
  { name: 'gemm: A features', base: 'gemm', mutate: (m) => withInput(m, [3, 13]), message: /has 13 features/ },
  { name: 'gemm: A rank 3', base: 'gemm', mutate: (m) => withInput(m, [3, 12, 1]), message: /must be 2-D/ },
  { name: 'gemm: transA mismatch', base: 'gemm', mutate: (m) => withAttr(m, attr.int('transA', 1)), message: /has 3 features/ },
  { name: 'matmul: A features', base: 'matmul', mutate: (m) => withInput(m, [2, 3, 11]), message: /has 11 features/ },
  { name: 'matmul: weight_shape swapped', base: 'matmul', mutate: (m) => withAttr(m, attr.ints('weight_shape', [8, 12])), message: /has 12 features; weight_shape \[8,12\] takes 8/ },
  { name: 'conv: 2-D weight_shape', base: 'conv', mutate: (m) => withAttr(m, attr.ints('weight_shape', [8, 36])), message: /must be 3-D or 4-D/ },
  { name: 'conv: group 3', base: 'conv', mutate: (m) => withAttr(m, attr.int('group', 3)), message: /group = 3 does not divide/ },
  { name: 'conv: group 0', base: 'conv', mutate: (m) => withAttr(m, attr.int('group', 0)), message: /group = 0/ },
  { name: 'conv: group 2 vs channels', base: 'conv', mutate: (m) => withAttr(m, attr.int('group', 2)), message: /input shape does not match/ },
  { name: 'conv: kernel_shape', base: 'conv', mutate: (m) => withAttr(m, attr.ints('kernel_shape', [3, 2])), message: /kernel_shape \[3,2\] does not match/ },
  { name: 'conv: strides 0', base: 'conv', mutate: (m) => withAttr(m, attr.ints('strides', [0, 1])), message: /strides \[0,1\] has a value out of range/ },
  { name: 'conv: strides length', base: 'conv', mutate: (m) => withAttr(m, attr.ints('strides', [1, 1, 1])), message: /strides \[1,1,1\] must have 2 values/ },
  { name: 'conv: dilations huge', base: 'conv', mutate: (m) => withAttr(m, attr.ints('dilations', [2 ** 50, 1])), message: /dilations .* out of range/ },
  { name: 'conv: negative pads', base: 'conv', mutate: (m) => withAttr(m, attr.ints('pads', [-1, 0, 0, 0])), message: /pads .* out of range/ },
  { name: 'conv: pads length', base: 'conv', mutate: (m) => withAttr(m, attr.ints('pads', [1, 1])), message: /pads \[1,1\] must have 4 values/ },
  { name: 'conv: auto_pad', base: 'conv', mutate: (m) => withAttr(m, attr.string('auto_pad', 'SAME')), message: /auto_pad: invalid attribute/ },
  { name: 'conv: X channels', base: 'conv', mutate: (m) => withInput(m, [1, 5, 6, 6]), message: /input shape does not match/ },
  { name: 'conv: X rank', base: 'conv', mutate: (m) => withInput(m, [1, 4, 36]), message: /must have rank 4/ },
  { name: 'conv: kernel larger than input', base: 'conv', mutate: (m) => withInput(withAttr(m, attr.ints('pads', [0, 0, 0, 0])), [1, 4, 2, 2]), message: /input shape does not match/ },
  { name: 'conv: bias length', base: 'conv', mutate: (m) => withInit(m, 'b', () => floatTensor('b', [7], new Float32Array(7))), message: /B \[7\] must be a float vector of 8/ },
  { name: 'conv epilogue: scale length', base: 'conv_epilogue', mutate: (m) => withInit(m, 'e_scale', () => floatTensor('e_scale', [3], new Float32Array(3))), message: /scale \[3\] must be \[8\] or one value/ },
  { name: 'conv epilogue: shift rank', base: 'conv_epilogue', mutate: (m) => withInit(m, 'e_shift', () => floatTensor('e_shift', [8, 1], new Float32Array(8))), message: /shift \[8,1\] must be \[8\] or one value/ },
  { name: 'conv epilogue: residual shape', base: 'conv_epilogue', mutate: (m) => ({ ...m, graph: { ...m.graph, inputs: m.graph.inputs.map((v) => (v.name === 'e_residual' ? valueInfo('e_residual', 'float32', [1, 8, 6, 5]) : v)) } }), message: /residual \[1,8,6,5\] must have Y's shape \[1,8,6,6\]/ },
  { name: 'conv epilogue: activation 9', base: 'conv_epilogue', mutate: (m) => withAttr(m, attr.int('activation', 9)), message: /activation = 9 is not one of/ },
  { name: 'matmul epilogue: Clip min above max', base: 'matmul_epilogue', mutate: (m) => withAttr(m, attr.float('activation_alpha', 5)), message: /Clip needs activation_alpha \(min\) ≤ activation_beta/ },
  // A mixed-type node: onnxruntime itself finds no registration of the op that takes it.
  { name: 'float16 epilogue: a float scale', base: 'conv_epilogue_fp16', mutate: (m) => withInit(m, 'e_scale', () => floatTensor('e_scale', [8], new Float32Array(8))), message: /no kernel def matches node inputs for Op: TbnConv/ },
  { name: 'float16 epilogue: scale length', base: 'conv_epilogue_fp16', mutate: (m) => withInit(m, 'e_scale', (t) => floatTensorOf('e_scale', 'float16', [3], new Float32Array(3).fill(t.dims[0]!))), message: /scale \[3\] must be \[8\] or one value/ },
  { name: 'float16 epilogue: residual shape', base: 'conv_epilogue_fp16', mutate: (m) => ({ ...m, graph: { ...m.graph, inputs: m.graph.inputs.map((v) => (v.name === 'e_residual' ? valueInfo('e_residual', 'float16', [1, 8, 6, 5]) : v)) } }), message: /residual \[1,8,6,5\] must have Y's shape \[1,8,6,6\]/ },
  { name: 'bfloat16 epilogue: a float residual', base: 'gemm_epilogue_bf16', mutate: (m) => ({ ...m, graph: { ...m.graph, inputs: m.graph.inputs.map((v) => (v.name === 'e_residual' ? valueInfo('e_residual', 'float32', [3, 8]) : v)) } }), message: /no kernel def matches node inputs for Op: TbnGemm/ },
  { name: 'bfloat16 epilogue: shift length', base: 'gemm_epilogue_bf16', mutate: (m) => withInit(m, 'e_shift', () => floatTensorOf('e_shift', 'bfloat16', [5], new Float32Array(5))), message: /shift \[5\] must be \[8\] or one value/ },
  { name: 'nhwc: 3-D weight_shape', base: 'conv_nhwc', mutate: (m) => withAttr(m, attr.ints('weight_shape', [8, 4, 9])), message: /must be 4-D \(TbnConvNhwc is 2-D\)/ },
  { name: 'nhwc: X channels', base: 'conv_nhwc', mutate: (m) => withInput(m, [1, 6, 6, 5]), message: /input shape does not match/ },
  { name: 'max pool: no pool_kernel_shape', base: 'conv_max_pool', mutate: (m) => withAttr(m, 'pool_kernel_shape'), message: /pool_kernel_shape is missing/ },
  { name: 'max pool: pool_kernel_shape 0', base: 'conv_max_pool', mutate: (m) => withAttr(m, attr.ints('pool_kernel_shape', [0, 2])), message: /pool_kernel_shape \[0,2\] has a value out of range/ },
  { name: 'max pool: pool_kernel_shape length', base: 'conv_max_pool', mutate: (m) => withAttr(m, attr.ints('pool_kernel_shape', [2, 2, 2])), message: /pool_kernel_shape \[2,2,2\] must have 2 values/ },
  { name: 'max pool: pool_strides 0', base: 'conv_max_pool', mutate: (m) => withAttr(m, attr.ints('pool_strides', [2, 0])), message: /pool_strides \[2,0\] has a value out of range/ },
  { name: 'max pool: pads not under the kernel', base: 'conv_max_pool', mutate: (m) => withAttr(m, attr.ints('pool_pads', [2, 0, 0, 0])), message: /pool_pads \[2,0,0,0\] must be smaller than pool_kernel_shape \[2,2\]/ },
  { name: 'max pool: pool_ceil_mode 2', base: 'conv_max_pool', mutate: (m) => withAttr(m, attr.int('pool_ceil_mode', 2)), message: /pool_ceil_mode = 2 must be 0 or 1/ },
  { name: 'max pool: kernel larger than the conv output', base: 'conv_max_pool', mutate: (m) => withAttr(m, attr.ints('pool_kernel_shape', [7, 7])), message: /the conv's output \[1,8,6,6\] with pool_kernel_shape \[7,7\]/ },
  { name: 'max pool: residual of the pooled shape', base: 'conv_max_pool', mutate: (m) => ({ ...m, graph: { ...m.graph, inputs: m.graph.inputs.map((v) => (v.name === 'e_residual' ? valueInfo('e_residual', 'float32', [1, 8, 3, 3]) : v)) } }), message: /residual \[1,8,3,3\] must have the conv output's shape \[1,8,6,6\]/ },
];
