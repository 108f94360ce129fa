// The graph IR: ONNX-shaped, protobuf-free. Everything the ONNX file holds is here, so that a
// model nothing changed is written back field for field (src/onnx/read.ts and write.ts).
// `undefined` means "absent in the file"; an empty string or list that was present is kept.
// Rarely used sub-messages that tbn never looks into are kept verbatim as `Opaque` values.

import type { ElementType, TensorData } from './dtype.js';

/** A protobuf sub-message tbn passes through untouched (decoded form; only src/onnx reads it). */
export interface Opaque {
  readonly __opaque: unknown;
}

export interface KeyValue {
  key?: string;
  value?: string;
}

export interface ExternalRef {
  /** Every entry of TensorProto.external_data, in file order (location, offset, length, checksum, …). */
  entries: KeyValue[];
}

/** How the tensor's values are stored in the file. */
export type TensorEncoding = 'raw' | 'typed' | 'external';

export interface OnnxTensor {
  name?: string;
  dtype: ElementType;
  dims: number[];
  /** Packed sub-byte types hold raw bytes in a Uint8Array. */
  data: TensorData;
  encoding: TensorEncoding;
  external?: ExternalRef;
  /** data_location was written explicitly (DEFAULT or EXTERNAL). */
  dataLocation?: number;
  docString?: string;
  segment?: Opaque;
  metadataProps?: KeyValue[];
}

export interface Dim {
  value?: number;
  param?: string;
  denotation?: string;
}

export type ValueType =
  | { kind: 'tensor'; elemType?: ElementType; shape?: Dim[]; denotation?: string; sparse?: boolean }
  | { kind: 'opaque'; proto: Opaque };

export interface ValueInfo {
  name?: string;
  type?: ValueType;
  docString?: string;
  metadataProps?: KeyValue[];
}

export type AttributeType =
  | 'UNDEFINED'
  | 'FLOAT'
  | 'INT'
  | 'STRING'
  | 'TENSOR'
  | 'GRAPH'
  | 'SPARSE_TENSOR'
  | 'TYPE_PROTO'
  | 'FLOATS'
  | 'INTS'
  | 'STRINGS'
  | 'TENSORS'
  | 'GRAPHS'
  | 'SPARSE_TENSORS'
  | 'TYPE_PROTOS';

/** int64 values outside ±2^53 are kept as bigint so that they round-trip exactly. */
export type Int64 = number | bigint;

export interface Attribute {
  name?: string;
  type?: AttributeType;
  refAttrName?: string;
  docString?: string;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: Graph;
  sparseTensor?: Opaque;
  tp?: Opaque;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: OnnxTensor[];
  graphs?: Graph[];
  sparseTensors?: Opaque[];
  typeProtos?: Opaque[];
}

export interface Node {
  name?: string;
  opType: string;
  domain?: string;
  overload?: string;
  inputs: string[];
  outputs: string[];
  attributes: Attribute[];
  docString?: string;
  metadataProps?: KeyValue[];
  deviceConfigurations?: Opaque[];
}

export interface Graph {
  name?: string;
  nodes: Node[];
  initializers: OnnxTensor[];
  sparseInitializers?: Opaque[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
  docString?: string;
  quantizationAnnotation?: Opaque[];
  metadataProps?: KeyValue[];
}

export interface OpsetId {
  domain?: string;
  version?: number;
}

export interface FunctionDef {
  name?: string;
  domain?: string;
  overload?: string;
  inputs: string[];
  outputs: string[];
  /** Attribute names without defaults. */
  attributes: string[];
  /** Attributes with default values. */
  attributeProtos: Attribute[];
  nodes: Node[];
  docString?: string;
  opsetImports: OpsetId[];
  valueInfo: ValueInfo[];
  metadataProps?: KeyValue[];
}

export interface Model {
  irVersion?: number;
  opsetImports: OpsetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph: Graph;
  metadataProps?: KeyValue[];
  trainingInfo?: Opaque[];
  functions: FunctionDef[];
  configuration?: Opaque[];
}
