// Constructors for IR values: what rewrites and tests use to make new tensors, nodes,
// attributes and models. New tensors are stored as raw_data.

import { floatsAs, type ElementType, type TensorData } from './dtype.js';
import type { Attribute, Graph, Model, Node, OpsetId, OnnxTensor, ValueInfo } from './types.js';

export function tensor(name: string | undefined, dtype: ElementType, dims: number[], data: TensorData): OnnxTensor {
  return { name, dtype, dims: [...dims], data, encoding: dtype === 'string' ? 'typed' : 'raw' };
}

export const floatTensor = (name: string | undefined, dims: number[], data: Float32Array | number[]) =>
  tensor(name, 'float32', dims, data instanceof Float32Array ? data : Float32Array.from(data));

/** A float tensor of `dtype` (float32, float16, bfloat16 or float64) from float32 values. */
export const floatTensorOf = (name: string | undefined, dtype: 'float32' | 'float16' | 'bfloat16' | 'float64', dims: number[], data: Float32Array) =>
  tensor(name, dtype, dims, floatsAs(data, dtype));

export const int64Tensor = (name: string | undefined, dims: number[], data: (number | bigint)[] | BigInt64Array) =>
  tensor(name, 'int64', dims, data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v)));

export const attr = {
  int: (name: string, i: number | bigint): Attribute => ({ name, type: 'INT', i }),
  float: (name: string, f: number): Attribute => ({ name, type: 'FLOAT', f }),
  ints: (name: string, ints: (number | bigint)[]): Attribute => ({ name, type: 'INTS', ints }),
  floats: (name: string, floats: number[]): Attribute => ({ name, type: 'FLOATS', floats }),
  string: (name: string, s: string): Attribute => ({ name, type: 'STRING', s: new TextEncoder().encode(s) }),
  tensor: (name: string, t: OnnxTensor): Attribute => ({ name, type: 'TENSOR', t }),
  graph: (name: string, g: Graph): Attribute => ({ name, type: 'GRAPH', g }),
  /** An attribute of a function body node that takes the value of the function's attribute `ref`. */
  ref: (name: string, type: Attribute['type'], ref: string): Attribute => ({ name, type, refAttrName: ref }),
};

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Attribute[] = [],
  opts: { name?: string; domain?: string } = {},
): Node {
  return { name: opts.name, opType, domain: opts.domain, inputs, outputs, attributes };
}

export function valueInfo(name: string, dtype: ElementType, shape?: (number | string)[]): ValueInfo {
  return {
    name,
    type: {
      kind: 'tensor',
      elemType: dtype,
      shape: shape?.map((d) => (typeof d === 'number' ? { value: d } : { param: d })),
    },
  };
}

export function graph(parts: Partial<Graph> & Pick<Graph, 'nodes' | 'inputs' | 'outputs'>): Graph {
  return { initializers: [], valueInfo: [], ...parts };
}

export function model(g: Graph, opts: { opset?: number; irVersion?: number; extraOpsets?: OpsetId[]; producer?: string } = {}): Model {
  return {
    irVersion: opts.irVersion ?? 8,
    opsetImports: [{ domain: '', version: opts.opset ?? 17 }, ...(opts.extraOpsets ?? [])],
    producerName: opts.producer ?? 'tbn-test',
    graph: g,
    functions: [],
  };
}
