// Decoded ModelProto → graph IR. Keeps presence (absent vs empty), storage form (raw_data,
// typed fields or external file) and field order, so write.ts can give back the same message.
// Checks every tensor's byte size against its shape before anything else uses it.

import { OnnxFormatError } from '../errors.js';
import { arrayTypeFor, dtypeFromCode, rawByteLength, type ElementType, type NumericArray, type TensorData } from '../ir/dtype.js';
import type { Attribute, AttributeType, Dim, FunctionDef, Graph, KeyValue, Model, Node, Opaque, OpsetId, OnnxTensor, ValueInfo, ValueType } from '../ir/types.js';
import { longToBigInt, longToInt, type Msg } from './proto.js';

/** Reads the bytes of an external-data reference (path checks live in the caller). */
export type ExternalLoader = (location: string, offset: number, length: number | undefined, what: string) => Uint8Array;

interface Ctx {
  loadExternal?: ExternalLoader;
}

const has = (m: Msg, k: string): boolean => Object.prototype.hasOwnProperty.call(m, k) && m[k] != null;
const opt = <T>(m: Msg, k: string): T | undefined => (has(m, k) ? (m[k] as T) : undefined);
const opaque = (m: Msg): Opaque => ({ __opaque: m });
const opaqueList = (m: Msg, k: string): Opaque[] | undefined =>
  has(m, k) && (m[k] as Msg[]).length ? (m[k] as Msg[]).map(opaque) : undefined;

function keyValues(m: Msg, k: string): KeyValue[] | undefined {
  if (!has(m, k) || !(m[k] as Msg[]).length) return undefined;
  return (m[k] as Msg[]).map((e) => ({ key: opt<string>(e, 'key'), value: opt<string>(e, 'value') }));
}

function toNumber(v: unknown, what: string): number {
  const n = longToInt(v);
  if (typeof n === 'bigint') throw new OnnxFormatError(`${what} is ${n}, beyond what tbn can address`);
  return n;
}

export function readModel(m: Msg, loadExternal?: ExternalLoader): Model {
  const ctx: Ctx = { loadExternal };
  if (!has(m, 'graph')) throw new OnnxFormatError('not an ONNX model (ModelProto has no graph)');
  const model: Model = {
    irVersion: has(m, 'irVersion') ? toNumber(m.irVersion, 'ir_version') : undefined,
    opsetImports: (m.opsetImport as Msg[]).map(readOpset),
    producerName: opt(m, 'producerName'),
    producerVersion: opt(m, 'producerVersion'),
    domain: opt(m, 'domain'),
    modelVersion: has(m, 'modelVersion') ? longToInt(m.modelVersion) : undefined,
    docString: opt(m, 'docString'),
    graph: readGraph(m.graph as Msg, ctx, 'graph'),
    metadataProps: keyValues(m, 'metadataProps'),
    trainingInfo: opaqueList(m, 'trainingInfo'),
    functions: (m.functions as Msg[]).map((f) => readFunction(f, ctx)),
    configuration: opaqueList(m, 'configuration'),
  };
  return model;
}

function readOpset(m: Msg): OpsetId {
  return { domain: opt(m, 'domain'), version: has(m, 'version') ? toNumber(m.version, 'opset version') : undefined };
}

function readGraph(m: Msg, ctx: Ctx, where: string): Graph {
  const name = opt<string>(m, 'name');
  const label = name ? `graph '${name}'` : where;
  return {
    name,
    nodes: (m.node as Msg[]).map((n) => readNode(n, ctx)),
    initializers: (m.initializer as Msg[]).map((t, i) => readTensor(t, ctx, `initializer '${t.name ?? `#${i}`}' of ${label}`)),
    sparseInitializers: opaqueList(m, 'sparseInitializer'),
    inputs: (m.input as Msg[]).map(readValueInfo),
    outputs: (m.output as Msg[]).map(readValueInfo),
    valueInfo: (m.valueInfo as Msg[]).map(readValueInfo),
    docString: opt(m, 'docString'),
    quantizationAnnotation: opaqueList(m, 'quantizationAnnotation'),
    metadataProps: keyValues(m, 'metadataProps'),
  };
}

function readNode(m: Msg, ctx: Ctx): Node {
  const name = opt<string>(m, 'name');
  const opType = opt<string>(m, 'opType');
  if (opType === undefined) throw new OnnxFormatError(`node '${name ?? '?'}' has no op_type`);
  const where = `node '${name || opType}'`;
  return {
    name,
    opType,
    domain: opt(m, 'domain'),
    overload: opt(m, 'overload'),
    inputs: [...(m.input as string[])],
    outputs: [...(m.output as string[])],
    attributes: (m.attribute as Msg[]).map((a) => readAttribute(a, ctx, where)),
    docString: opt(m, 'docString'),
    metadataProps: keyValues(m, 'metadataProps'),
    deviceConfigurations: opaqueList(m, 'deviceConfigurations'),
  };
}

const ATTR_TYPES: Record<number, AttributeType> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'INT', 3: 'STRING', 4: 'TENSOR', 5: 'GRAPH', 11: 'SPARSE_TENSOR', 13: 'TYPE_PROTO',
  6: 'FLOATS', 7: 'INTS', 8: 'STRINGS', 9: 'TENSORS', 10: 'GRAPHS', 12: 'SPARSE_TENSORS', 14: 'TYPE_PROTOS',
};
export const ATTR_TYPE_CODES = Object.fromEntries(Object.entries(ATTR_TYPES).map(([k, v]) => [v, Number(k)])) as Record<AttributeType, number>;

function readAttribute(m: Msg, ctx: Ctx, where: string): Attribute {
  const name = opt<string>(m, 'name');
  const at = `attribute '${name ?? '?'}' of ${where}`;
  let type: AttributeType | undefined;
  if (has(m, 'type')) {
    type = ATTR_TYPES[m.type as number];
    if (!type) throw new OnnxFormatError(`${at} has unknown type ${m.type}`);
  }
  const a: Attribute = { name, type, refAttrName: opt(m, 'refAttrName'), docString: opt(m, 'docString') };
  if (has(m, 'f')) a.f = m.f as number;
  if (has(m, 'i')) a.i = longToInt(m.i);
  if (has(m, 's')) a.s = Uint8Array.from(m.s as Uint8Array);
  if (has(m, 't')) a.t = readTensor(m.t as Msg, ctx, `${at} (tensor)`);
  if (has(m, 'g')) a.g = readGraph(m.g as Msg, ctx, `${at} (graph)`);
  if (has(m, 'sparseTensor')) a.sparseTensor = opaque(m.sparseTensor as Msg);
  if (has(m, 'tp')) a.tp = opaque(m.tp as Msg);
  if ((m.floats as number[]).length) a.floats = [...(m.floats as number[])];
  if ((m.ints as unknown[]).length) a.ints = (m.ints as unknown[]).map(longToInt);
  if ((m.strings as Uint8Array[]).length) a.strings = (m.strings as Uint8Array[]).map((s) => Uint8Array.from(s));
  if ((m.tensors as Msg[]).length) a.tensors = (m.tensors as Msg[]).map((t, i) => readTensor(t, ctx, `${at} (tensor ${i})`));
  if ((m.graphs as Msg[]).length) a.graphs = (m.graphs as Msg[]).map((g, i) => readGraph(g, ctx, `${at} (graph ${i})`));
  if ((m.sparseTensors as Msg[]).length) a.sparseTensors = (m.sparseTensors as Msg[]).map(opaque);
  if ((m.typeProtos as Msg[]).length) a.typeProtos = (m.typeProtos as Msg[]).map(opaque);
  return a;
}

function readValueInfo(m: Msg): ValueInfo {
  return {
    name: opt(m, 'name'),
    type: has(m, 'type') ? readType(m.type as Msg, `value '${m.name ?? '?'}'`) : undefined,
    docString: opt(m, 'docString'),
    metadataProps: keyValues(m, 'metadataProps'),
  };
}

function readType(m: Msg, where: string): ValueType {
  if (!has(m, 'tensorType')) return { kind: 'opaque', proto: opaque(m) };
  const t = m.tensorType as Msg;
  let elemType: ElementType | undefined;
  if (has(t, 'elemType')) {
    elemType = dtypeFromCode(t.elemType as number);
    // UNDEFINED (0) or a type newer than our table: keep the whole TypeProto as it was.
    if (!elemType) return { kind: 'opaque', proto: opaque(m) };
  }
  let shape: Dim[] | undefined;
  if (has(t, 'shape')) {
    shape = ((t.shape as Msg).dim as Msg[]).map((d) => {
      const dim: Dim = {};
      if (has(d, 'dimValue')) dim.value = toNumber(d.dimValue, `a dimension of ${where}`);
      if (has(d, 'dimParam')) dim.param = d.dimParam as string;
      if (has(d, 'denotation')) dim.denotation = d.denotation as string;
      return dim;
    });
  }
  return { kind: 'tensor', elemType, shape, denotation: opt(m, 'denotation') };
}

function readFunction(m: Msg, ctx: Ctx): FunctionDef {
  const where = `function '${m.domain ?? ''}.${m.name ?? '?'}'`;
  return {
    name: opt(m, 'name'),
    domain: opt(m, 'domain'),
    overload: opt(m, 'overload'),
    inputs: [...(m.input as string[])],
    outputs: [...(m.output as string[])],
    attributes: [...(m.attribute as string[])],
    attributeProtos: (m.attributeProto as Msg[]).map((a) => readAttribute(a, ctx, where)),
    nodes: (m.node as Msg[]).map((n) => readNode(n, ctx)),
    docString: opt(m, 'docString'),
    opsetImports: (m.opsetImport as Msg[]).map(readOpset),
    valueInfo: (m.valueInfo as Msg[]).map(readValueInfo),
    metadataProps: keyValues(m, 'metadataProps'),
  };
}

// ---- tensors ----

/** Which TensorProto field holds a dtype's values when they are not in raw_data. */
export function typedFieldFor(dtype: ElementType): 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data' | 'stringData' {
  switch (dtype) {
    case 'float32':
    case 'complex64':
      return 'floatData';
    case 'int64':
      return 'int64Data';
    case 'float64':
    case 'complex128':
      return 'doubleData';
    case 'uint32':
    case 'uint64':
      return 'uint64Data';
    case 'string':
      return 'stringData';
    default:
      return 'int32Data';
  }
}

const TYPED_FIELDS = ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data', 'stringData'] as const;

export function elementCount(dims: number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function readTensor(m: Msg, ctx: Ctx, where: string): OnnxTensor {
  if (!has(m, 'dataType')) throw new OnnxFormatError(`${where} has no data_type`);
  const dtype = dtypeFromCode(m.dataType as number);
  if (!dtype) throw new OnnxFormatError(`${where} has data_type ${m.dataType}, which tbn does not know`);
  const dims = (m.dims as unknown[]).map((d) => {
    const n = longToInt(d);
    if (typeof n === 'bigint' || n < 0) throw new OnnxFormatError(`${where} has dimension ${n}`);
    return n;
  });
  const count = elementCount(dims);
  if (!Number.isSafeInteger(count)) throw new OnnxFormatError(`${where} has shape [${dims}], too many elements`);
  const dataLocation = opt<number>(m, 'dataLocation');
  const filled = TYPED_FIELDS.filter((f) => (m[f] as unknown[]).length > 0);
  const base = {
    name: opt<string>(m, 'name'),
    dtype,
    dims,
    dataLocation,
    docString: opt<string>(m, 'docString'),
    segment: has(m, 'segment') ? opaque(m.segment as Msg) : undefined,
    metadataProps: keyValues(m, 'metadataProps'),
  };
  if (dataLocation === 1) {
    if (filled.length || has(m, 'rawData')) throw new OnnxFormatError(`${where} is external but also holds data in the file`);
    const entries = keyValues(m, 'externalData') ?? [];
    const get = (k: string) => entries.find((e) => e.key === k)?.value;
    const location = get('location');
    if (!location) throw new OnnxFormatError(`${where} is external but has no location`);
    const offset = parseExternalInt(get('offset') ?? '0', where, 'offset');
    const lengthStr = get('length');
    const length = lengthStr === undefined ? undefined : parseExternalInt(lengthStr, where, 'length');
    if (dtype === 'string') throw new OnnxFormatError(`${where}: string tensors cannot be external`);
    const want = rawByteLength(dtype, count);
    if (length !== undefined && length !== want) {
      throw new OnnxFormatError(`${where}: external length ${length} bytes, shape [${dims}] ${dtype} needs ${want}`);
    }
    if (!ctx.loadExternal) throw new OnnxFormatError(`${where} keeps its data in an external file, which cannot be read here`);
    const bytes = ctx.loadExternal(location, offset, want, where);
    return { ...base, data: fromRaw(dtype, bytes), encoding: 'external', external: { entries } };
  }
  if (dataLocation !== undefined && dataLocation !== 0) throw new OnnxFormatError(`${where} has data_location ${dataLocation}`);
  if (has(m, 'rawData')) {
    if (filled.length) throw new OnnxFormatError(`${where} has both raw_data and ${filled[0]}`);
    if (dtype === 'string') throw new OnnxFormatError(`${where}: string tensors cannot use raw_data`);
    const raw = m.rawData as Uint8Array;
    const want = rawByteLength(dtype, count);
    if (raw.length !== want) {
      throw new OnnxFormatError(`${where}: raw_data has ${raw.length} bytes, shape [${dims}] ${dtype} needs ${want}`);
    }
    return { ...base, data: fromRaw(dtype, raw), encoding: 'raw' };
  }
  const field = typedFieldFor(dtype);
  if (filled.some((f) => f !== field)) throw new OnnxFormatError(`${where}: ${dtype} values found in ${filled.join(', ')}`);
  return { ...base, data: fromTyped(dtype, field, m[field] as unknown[], count, where), encoding: 'typed' };
}

function parseExternalInt(s: string, where: string, key: string): number {
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new OnnxFormatError(`${where}: external ${key} '${s}' is not a valid size`);
  return Number(s);
}

/** Copies little-endian bytes into a fresh, aligned typed array. */
export function fromRaw(dtype: ElementType, raw: Uint8Array): TensorData {
  const at = arrayTypeFor(dtype);
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  if (!at) return copy;
  return new at.ctor(copy.buffer, 0, raw.length / at.ctor.BYTES_PER_ELEMENT);
}

const INT32_RANGES: Partial<Record<ElementType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  bool: [0, 1],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  float16: [0, 65535],
  bfloat16: [0, 65535],
  float8e4m3fn: [0, 255],
  float8e4m3fnuz: [0, 255],
  float8e5m2: [0, 255],
  float8e5m2fnuz: [0, 255],
  float8e8m0: [0, 255],
};

function fromTyped(dtype: ElementType, field: string, values: unknown[], count: number, where: string): TensorData {
  if (dtype === 'string') {
    if (values.length !== count) throw new OnnxFormatError(`${where}: ${values.length} strings, shape needs ${count}`);
    return (values as Uint8Array[]).map((s) => Uint8Array.from(s));
  }
  const at = arrayTypeFor(dtype);
  if (!at) {
    // Packed sub-byte types in int32_data: keep the int32 words exactly as written.
    return Int32Array.from(values as number[]);
  }
  const want = count * at.perElement;
  if (values.length !== want) {
    throw new OnnxFormatError(`${where}: ${field} has ${values.length} values, shape needs ${want}`);
  }
  if (field === 'int64Data' || field === 'uint64Data') {
    const big = values.map(longToBigInt);
    if (dtype === 'uint32') {
      if (big.some((b) => b < 0n || b > 0xffffffffn)) throw new OnnxFormatError(`${where}: uint32 value out of range`);
      return Uint32Array.from(big, Number);
    }
    return dtype === 'uint64' ? BigUint64Array.from(big, (b) => BigInt.asUintN(64, b)) : BigInt64Array.from(big);
  }
  const range = INT32_RANGES[dtype];
  if (range) {
    for (const v of values as number[]) {
      if (v < range[0] || v > range[1]) throw new OnnxFormatError(`${where}: int32_data value ${v} does not fit ${dtype}`);
    }
  }
  const out = new at.ctor(want) as NumericArray;
  (out as Float64Array).set(values as number[]);
  return out;
}
