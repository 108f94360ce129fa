// Model-local ONNX functions for the ai.tbn ops, built from standard ops only, so that a
// compressed model runs in any onnxruntime (which inlines the body when no kernel for the op
// is registered). onnxruntime resolves inlined nodes against the MODEL's default opset, so
// bodies use only ops whose signature is the same from opset 12 on (no Unsqueeze, no
// BitwiseAnd): bits are unpacked with integer Div and Mod. The body is generic in the float
// type T of the scales (format.ts): the weight is Where(bit, α, −α), of type T.

import { attr, int64Tensor, node, tensor } from '../ir/build.js';
import type { Attribute, FunctionDef, Node } from '../ir/types.js';
import { epilogueNodes, type EpilogueUse } from './epilogue-body.js';
import { baseInputCount, EPILOGUE_ATTRS, EPILOGUE_INPUTS, MIN_FUNCTION_OPSET, OPS, POOL_ATTRS, TBN_DOMAIN, type AttrKind, type TbnOpName } from './format.js';

export type { EpilogueUse } from './epilogue-body.js';

const INT32 = 6;
const BOOL = 9;

const constT = (out: string, t: Parameters<typeof attr.tensor>[1]): Node => node('Constant', [], [out], [attr.tensor('value', t)]);
const i64 = (out: string, values: number[]) => constT(out, int64Tensor(undefined, [values.length], values));

/**
 * Nodes that decode (bits, scales) into the weight `out`, using the function attributes
 * weight_shape, p and tile_axis. Value names are local to the function body.
 */
export function decodeBody(bits: string, scales: string, out: string): Node[] {
  return [
    node('Constant', [], ['shape'], [attr.ref('value_ints', 'INTS', 'weight_shape')]),
    node('Constant', [], ['p'], [attr.ref('value_int', 'INT', 'p')]),
    node('Constant', [], ['axis'], [attr.ref('value_int', 'INT', 'tile_axis')]),
    node('ReduceProd', ['shape'], ['n'], [attr.int('keepdims', 1)]),
    node('Div', ['n', 'p'], ['q']),
    // Unpack: byte b → bits (b / 2^k) mod 2 for k = 0..7, LSB first.
    node('Cast', [bits], ['bytes32'], [attr.int('to', INT32)]),
    i64('col', [-1, 1]),
    node('Reshape', ['bytes32', 'col'], ['bytes_col']),
    constT('pow2', tensor(undefined, 'int32', [8], Int32Array.of(1, 2, 4, 8, 16, 32, 64, 128))),
    node('Div', ['bytes_col', 'pow2'], ['shifted']),
    constT('two_i', tensor(undefined, 'int32', [], Int32Array.of(2))),
    node('Mod', ['shifted', 'two_i'], ['bit']),
    node('Cast', ['bit'], ['bit_b'], [attr.int('to', BOOL)]),
    i64('minus1', [-1]),
    node('Reshape', ['bit_b', 'minus1'], ['bits_flat']),
    i64('zero', [0]),
    node('Slice', ['bits_flat', 'zero', 'q'], ['tile_b']),
    // Regions: bit ? α : −α, with α [p or 1, 1] against the tile [1, q], broadcast to [p, q].
    // Selecting ±α keeps the scales' own float type (float, float16, bfloat16): no Cast needed.
    i64('row', [1, -1]),
    node('Reshape', ['tile_b', 'row'], ['tile_row']),
    node('Reshape', [scales, 'col'], ['scale_col']),
    node('Neg', ['scale_col'], ['neg_scale_col']),
    node('Where', ['tile_row', 'scale_col', 'neg_scale_col'], ['regions']),
    i64('one', [1]),
    node('Reshape', ['p', 'one'], ['p1']),
    node('Concat', ['p1', 'one'], ['p_by_1'], [attr.int('axis', 0)]),
    node('Expand', ['regions', 'p_by_1'], ['regions_full']),
    node('Reshape', ['regions_full', 'minus1'], ['stream']),
    // Stream → W: view [1, N] (tile_axis 0) or [K, M] (tile_axis 1), transpose, reshape.
    node('Slice', ['shape', 'zero', 'one'], ['m']),
    node('Div', ['n', 'm'], ['k']),
    node('Reshape', ['axis', 'one'], ['a']),
    node('Sub', ['one', 'a'], ['not_a']),
    node('Mul', ['a', 'k'], ['ak']),
    node('Add', ['ak', 'not_a'], ['view0']),
    node('Mul', ['a', 'm'], ['am']),
    node('Mul', ['not_a', 'n'], ['not_a_n']),
    node('Add', ['am', 'not_a_n'], ['view1']),
    node('Concat', ['view0', 'view1'], ['view'], [attr.int('axis', 0)]),
    node('Reshape', ['stream', 'view'], ['w2']),
    node('Transpose', ['w2'], ['w2t'], [attr.ints('perm', [1, 0])]),
    node('Reshape', ['w2t', 'shape'], [out]),
  ];
}

const REF_TYPES: Record<AttrKind, Attribute['type']> = { INT: 'INT', INTS: 'INTS', FLOAT: 'FLOAT', STRING: 'STRING' };
const NON_STANDARD = new Set(['weight_shape', 'p', 'tile_axis', ...EPILOGUE_ATTRS.map((a) => a.name), ...POOL_ATTRS.map((a) => a.name)]);

/** TbnConvMaxPool's MaxPool: the pool_* attributes under MaxPool's own names. */
function poolNode(input: string, out: string): Node {
  const refs = POOL_ATTRS.map((a) => attr.ref(a.name.slice('pool_'.length), REF_TYPES[a.kind], a.name));
  return node('MaxPool', [input], [out], refs);
}

/** The standard op on the decoded weight W: `out` = Gemm/MatMul/Conv(input, W[, C/B]). */
function standardNode(name: TbnOpName, input: string, out: string): Node[] {
  const spec = OPS[name];
  if (!spec.standard) return [];
  const refs = spec.attrs.filter((a) => !NON_STANDARD.has(a.name)).map((a) => attr.ref(a.name, REF_TYPES[a.kind], a.name));
  const extra = baseInputCount(name) > 3 ? [spec.inputs[3]!] : [];
  return [node(spec.standard, [input, 'W', ...extra], [out], refs)];
}

/**
 * The function for one ai.tbn op, written for the model's default-domain opset. `use`: the
 * epilogue pieces the model's nodes of this op need (none: the version-1 body); the function
 * declares the inputs up to the last piece used.
 */
export function tbnFunction(name: TbnOpName, opset: number, use?: EpilogueUse): FunctionDef {
  if (opset < MIN_FUNCTION_OPSET) throw new Error(`function bodies need opset ≥ ${MIN_FUNCTION_OPSET}`);
  const spec = OPS[name];
  const base = baseInputCount(name);
  const lastUsed = Math.max(-1, ...EPILOGUE_INPUTS.filter((i) => use?.inputs.has(i)).map((i) => spec.inputs.indexOf(i)));
  const inputs = spec.inputs.slice(0, Math.max(base, lastUsed + 1));
  const nhwc = name === 'TbnConvNhwc';
  const pooled = name === 'TbnConvMaxPool';
  const fused = !!use && (use.inputs.size > 0 || [...use.activations].some((a) => a !== 0));
  const y = pooled ? 'conv_out' : spec.outputs[0]!;
  const raw = fused || nhwc ? 'raw' : y;
  const nodes: Node[] = [...decodeBody('bits', 'scales', 'W')];
  if (nhwc) {
    nodes.push(node('Transpose', ['X'], ['X_nchw'], [attr.ints('perm', [0, 3, 1, 2])]), ...standardNode(name, 'X_nchw', 'raw_nchw'));
    nodes.push(node('Transpose', ['raw_nchw'], [fused ? 'raw' : y], [attr.ints('perm', [0, 2, 3, 1])]));
  } else {
    nodes.push(...standardNode(name, spec.inputs[0]!, raw));
  }
  if (fused) nodes.push(...epilogueNodes('raw', y, use!, spec.standard === 'Conv' && !nhwc, opset, spec.standard === 'Conv'));
  if (pooled) nodes.push(poolNode(y, spec.outputs[0]!));
  const epilogue = (fused ? ' and its fused epilogue (scale, shift, residual, activation)' : '') + (pooled ? ', then MaxPool' : '');
  return {
    name,
    domain: TBN_DOMAIN,
    inputs,
    outputs: [...spec.outputs],
    attributes: spec.attrs.map((a) => a.name),
    attributeProtos: [],
    nodes,
    docString: `tbn ${name}: decodes a Tiled Bit Network weight (one bit-packed tile, p scales) with standard ops${spec.standard ? ` and applies ${spec.standard}${epilogue}` : ''}. Registered kernels in the ai.tbn custom-op library compute the same without building the weight.`,
    opsetImports: [{ domain: '', version: opset }],
    valueInfo: [],
  };
}
