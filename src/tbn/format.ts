// THE contract of the compressed format (design.md §2): the custom domain, its ops, their
// inputs, outputs and attributes. The C++ custom-op library and the MCU exporter implement
// exactly this; custom-ops/include/tbn_op_schema.h is checked against it by a unit test.

export const TBN_DOMAIN = 'ai.tbn';
export const TBN_OPSET_VERSION = 1;

/** Lowest default-domain opset whose ops the ONNX function bodies can be written in. */
export const MIN_FUNCTION_OPSET = 12;

/** IR version written when a model gains functions (FunctionProto needs IR ≥ 8). */
export const MIN_IR_WITH_FUNCTIONS = 8;

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
}

export type TbnOpName = 'TbnDecode' | 'TbnGemm' | 'TbnMatMul' | 'TbnConv';

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
    inputs: ['A', 'bits', 'scales', 'C'],
    outputs: ['Y'],
    standard: 'Gemm',
    attrs: [
      ...TILE_ATTRS,
      { name: 'alpha', kind: 'FLOAT', default: 1 },
      { name: 'beta', kind: 'FLOAT', default: 1 },
      { name: 'transA', kind: 'INT', default: 0 },
      { name: 'transB', kind: 'INT', default: 0 },
    ],
  },
  TbnMatMul: {
    name: 'TbnMatMul',
    inputs: ['A', 'bits', 'scales'],
    outputs: ['Y'],
    standard: 'MatMul',
    attrs: TILE_ATTRS,
  },
  TbnConv: {
    name: 'TbnConv',
    inputs: ['X', 'bits', 'scales', 'B'],
    outputs: ['Y'],
    standard: 'Conv',
    attrs: [
      ...TILE_ATTRS,
      { name: 'auto_pad', kind: 'STRING', default: 'NOTSET' },
      { name: 'dilations', kind: 'INTS' },
      { name: 'group', kind: 'INT', default: 1 },
      { name: 'kernel_shape', kind: 'INTS' },
      { name: 'pads', kind: 'INTS' },
      { name: 'strides', kind: 'INTS' },
    ],
  },
};

/** metadata_props keys tbn writes. */
export const META = {
  version: 'tbn.version',
  layers: 'tbn.layers',
  alphaMode: 'tbn.alpha_mode',
  command: 'tbn.command',
  /** {"from": old, "to": new} when tbn converted the model's default-domain opset. */
  opsetUpgrade: 'tbn.opset_upgrade',
} as const;
