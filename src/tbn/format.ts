// THE contract of the compressed format (docs/design.md §2): the custom domain, its ops, their
// inputs, outputs and attributes. The C++ custom-op library and the MCU exporter implement
// exactly this; custom-ops/include/tbn_op_schema.h is checked against it by a unit test.

import type { ElementType } from '../ir/dtype.js';
import type { Model } from '../ir/types.js';

export const TBN_DOMAIN = 'ai.tbn';
/** Newest version: 2 added the fused epilogue and TbnConvNhwc, 3 TbnConvMaxPool; 1 files are
 * still read. A file declares the lowest version its nodes need (tbnOpsetVersion), so a library
 * that stops at 2 still runs the files that have no TbnConvMaxPool. */
export const TBN_OPSET_VERSION = 3;
export const TBN_OPSET_VERSION_MIN = 1;
/** What tbn writes at least: the fused epilogue's inputs and attributes are version 2. */
const TBN_OPSET_VERSION_BASE = 2;

/** Lowest default-domain opset whose ops the ONNX function bodies can be written in. */
export const MIN_FUNCTION_OPSET = 12;

/** IR version written when a model gains functions (FunctionProto needs IR ≥ 8). */
export const MIN_IR_WITH_FUNCTIONS = 8;

/**
 * Element types (the dtype contract). `bits` is uint8. Every other input, the scales included,
 * and the output share one float type T — float, float16 or bfloat16: the type the original
 * layer computes in (kept, so the model's inputs, outputs and value types do not change). The
 * scales are stored in T so the decoded weight ±α is exact in T: a layer decodes to what its
 * expanded form stores. Kernels compute in T's precision or better (the CPU and CUDA kernels
 * accumulate in float32, as onnxruntime's CPU provider does for float16 Conv/Gemm/MatMul).
 * A weight stored in another type behind a Cast (bfloat16 storage, float32 compute) is tiled
 * in the type it is cast to; a quantized weight (DequantizeLinear, ConvInteger/MatMulInteger)
 * in its dequantized float type.
 */
export const TILE_FLOAT_TYPES = ['float32', 'float16', 'bfloat16'] as const;
export type TileFloatType = (typeof TILE_FLOAT_TYPES)[number];

export function tileFloatType(dtype: ElementType): TileFloatType {
  if ((TILE_FLOAT_TYPES as readonly string[]).includes(dtype)) return dtype as TileFloatType;
  throw new Error(`ai.tbn ops compute in ${TILE_FLOAT_TYPES.join(', ')}, not ${dtype}`);
}

export type AttrKind = 'INT' | 'INTS' | 'FLOAT' | 'STRING';

export interface OpAttr {
  name: string;
  kind: AttrKind;
  /** Value when the attribute is absent; undefined: tbn always writes it. */
  default?: number | string | number[];
}

export interface OpSpec {
  name: TbnOpName;
  inputs: string[];
  outputs: string[];
  attrs: OpAttr[];
  /** The standard op the fused op stands for (its attributes pass through unchanged). */
  standard?: 'Gemm' | 'MatMul' | 'Conv';
  /** First ai.tbn version with the op (1 when absent). */
  since?: number;
}

export type TbnOpName = 'TbnDecode' | 'TbnGemm' | 'TbnMatMul' | 'TbnConv' | 'TbnConvNhwc' | 'TbnConvMaxPool';

/**
 * The fused epilogue (version 2) of TbnGemm, TbnMatMul and TbnConv(Nhwc):
 *   Y = act(scale ⊙ op(…) + shift + residual)
 * scale and shift run along the output channels (Conv: axis 1, TbnConvNhwc and Gemm/MatMul:
 * the last axis), [channels] or one value; residual has Y's shape (or is one value). All three
 * are optional inputs after the op's own, of the op's float type T like its other inputs;
 * `activation` picks the function (ACTIVATIONS).
 */
export const EPILOGUE_INPUTS = ['scale', 'shift', 'residual'] as const;
export type EpilogueInput = (typeof EPILOGUE_INPUTS)[number];

/** Codes of the `activation` attribute. LeakyRelu reads activation_alpha (default 0.01); Clip
 * reads activation_alpha (min) and activation_beta (max), both always written. */
export const ACTIVATIONS = ['none', 'Relu', 'LeakyRelu', 'Clip', 'HardSwish', 'Sigmoid', 'SiLU', 'Gelu', 'GeluTanh'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const EPILOGUE_ATTRS: OpAttr[] = [
  { name: 'activation', kind: 'INT', default: 0 },
  { name: 'activation_alpha', kind: 'FLOAT' },
  { name: 'activation_beta', kind: 'FLOAT' },
];

const CONV_ATTRS: OpAttr[] = [
  { name: 'auto_pad', kind: 'STRING', default: 'NOTSET' },
  { name: 'dilations', kind: 'INTS' },
  { name: 'group', kind: 'INT', default: 1 },
  { name: 'kernel_shape', kind: 'INTS' },
  { name: 'pads', kind: 'INTS' },
  { name: 'strides', kind: 'INTS' },
];

/** TbnConvMaxPool's MaxPool (2-D or 1-D like its conv; dilations 1, no Indices output): the
 * standard MaxPool attributes, prefixed. */
export const POOL_ATTRS: OpAttr[] = [
  { name: 'pool_kernel_shape', kind: 'INTS' },
  { name: 'pool_strides', kind: 'INTS' },
  { name: 'pool_pads', kind: 'INTS' },
  { name: 'pool_ceil_mode', kind: 'INT', default: 0 },
];

/** Attributes every op carries: how the tile becomes a weight. */
export const TILE_ATTRS: OpAttr[] = [
  { name: 'weight_shape', kind: 'INTS' },
  { name: 'p', kind: 'INT' },
  { name: 'tile_axis', kind: 'INT', default: 0 },
];

export const OPS: Record<TbnOpName, OpSpec> = {
  TbnDecode: {
    name: 'TbnDecode',
    inputs: ['bits', 'scales'],
    outputs: ['W'],
    attrs: TILE_ATTRS,
  },
  TbnGemm: {
    name: 'TbnGemm',
    inputs: ['A', 'bits', 'scales', 'C', ...EPILOGUE_INPUTS],
    outputs: ['Y'],
    standard: 'Gemm',
    attrs: [
      ...TILE_ATTRS,
      { name: 'alpha', kind: 'FLOAT', default: 1 },
      { name: 'beta', kind: 'FLOAT', default: 1 },
      { name: 'transA', kind: 'INT', default: 0 },
      { name: 'transB', kind: 'INT', default: 0 },
      ...EPILOGUE_ATTRS,
    ],
  },
  TbnMatMul: {
    name: 'TbnMatMul',
    inputs: ['A', 'bits', 'scales', ...EPILOGUE_INPUTS],
    outputs: ['Y'],
    standard: 'MatMul',
    attrs: [...TILE_ATTRS, ...EPILOGUE_ATTRS],
  },
  TbnConv: {
    name: 'TbnConv',
    inputs: ['X', 'bits', 'scales', 'B', ...EPILOGUE_INPUTS],
    outputs: ['Y'],
    standard: 'Conv',
    attrs: [...TILE_ATTRS, ...CONV_ATTRS, ...EPILOGUE_ATTRS],
  },
  /** TbnConv on channels-last tensors (X [N, H, W, C], Y [N, OH, OW, OC]; 2-D): what a
   * Transpose → Conv → Transpose of a channels-last graph (tf2onnx) becomes. Since version 2. */
  TbnConvNhwc: {
    name: 'TbnConvNhwc',
    inputs: ['X', 'bits', 'scales', 'B', ...EPILOGUE_INPUTS],
    outputs: ['Y'],
    standard: 'Conv',
    since: 2,
    attrs: [...TILE_ATTRS, ...CONV_ATTRS, ...EPILOGUE_ATTRS],
  },
  /** TbnConv and its fused epilogue, then MaxPool (NCHW): what tbn compress makes of a TbnConv
   * whose only reader is a MaxPool, so the full-size conv output never leaves the op (and
   * onnxruntime puts no layout reorders around a pool between two tiled convs). Since 3. */
  TbnConvMaxPool: {
    name: 'TbnConvMaxPool',
    inputs: ['X', 'bits', 'scales', 'B', ...EPILOGUE_INPUTS],
    outputs: ['Y'],
    standard: 'Conv',
    since: 3,
    attrs: [...TILE_ATTRS, ...CONV_ATTRS, ...EPILOGUE_ATTRS, ...POOL_ATTRS],
  },
};

/** The ai.tbn version a graph's nodes need (the file's opset import for the domain). */
export function tbnOpsetVersion(nodes: readonly { domain?: string; opType: string }[]): number {
  let v = TBN_OPSET_VERSION_BASE;
  for (const n of nodes) if (n.domain === TBN_DOMAIN && n.opType in OPS) v = Math.max(v, OPS[n.opType as TbnOpName].since ?? 1);
  return v;
}

/** Position of `input` among op `name`'s inputs, in the format's order. */
export function inputIndex(name: TbnOpName, input: string): number {
  const i = OPS[name].inputs.indexOf(input);
  if (i < 0) throw new Error(`internal: ${name} has no input '${input}'`);
  return i;
}

/** Inputs of a fused op before its epilogue (A/X, bits, scales and Gemm's C or Conv's B). */
export function baseInputCount(name: TbnOpName): number {
  const i = OPS[name].inputs.indexOf('scale');
  return i < 0 ? OPS[name].inputs.length : i;
}

/** metadata_props keys tbn writes. */
export const META = {
  version: 'tbn.version',
  layers: 'tbn.layers',
  alphaMode: 'tbn.alpha_mode',
  command: 'tbn.command',
  /** {"from": old, "to": new} when tbn converted the model's default-domain opset. */
  opsetUpgrade: 'tbn.opset_upgrade',
} as const;

/** Names of the tile tensors (bits, scales or both) the model's ai.tbn nodes read. */
export function tileInputs(model: Model, which: readonly ('bits' | 'scales')[] = ['bits', 'scales']): Set<string> {
  const names = new Set<string>();
  for (const n of model.graph.nodes) {
    if (n.domain !== TBN_DOMAIN || !(n.opType in OPS)) continue;
    for (const input of which) {
      const v = n.inputs[inputIndex(n.opType as TbnOpName, input)];
      if (v) names.add(v);
    }
  }
  return names;
}
