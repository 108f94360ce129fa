// Graph IR → ModelProto fields (the inverse of read.ts). A tensor is written in the form it
// was read in (raw_data, typed field or external file); new tensors use raw_data.

import { dtypeCode, type ElementType, type TensorData } from '../ir/dtype.js';
import type { Attribute, FunctionDef, Graph, KeyValue, Model, Node, Opaque, OpsetId, OnnxTensor, ValueInfo, ValueType } from '../ir/types.js';
import { intToLong, type Msg } from './proto.js';
import { ATTR_TYPE_CODES, typedFieldFor } from './read.js';

/** Receives an external tensor's bytes; returns the external_data entries to record. */
export type ExternalWriter = (tensor: OnnxTensor, bytes: Uint8Array) => KeyValue[];

interface Ctx {
  writeExternal?: ExternalWriter;
}

const unwrap = (o: Opaque): Msg => o.__opaque as Msg;

function set(m: Msg, k: string, v: unknown): void {
  if (v !== undefined) m[k] = v;
}

function kvs(list: KeyValue[] | undefined): Msg[] | undefined {
  return list?.map((e) => {
    const o: Msg = {};
    set(o, 'key', e.key);
    set(o, 'value', e.value);
    return o;
  });
}

export function writeModel(model: Model, writeExternal?: ExternalWriter): Msg {
  const ctx: Ctx = { writeExternal };
  const m: Msg = {};
  set(m, 'irVersion', model.irVersion);
  m.opsetImport = model.opsetImports.map(writeOpset);
  set(m, 'producerName', model.producerName);
  set(m, 'producerVersion', model.producerVersion);
  set(m, 'domain', model.domain);
  set(m, 'modelVersion', model.modelVersion === undefined ? undefined : intToLong(model.modelVersion));
  set(m, 'docString', model.docString);
  m.graph = writeGraph(model.graph, ctx);
  set(m, 'metadataProps', kvs(model.metadataProps));
  set(m, 'trainingInfo', model.trainingInfo?.map(unwrap));
  m.functions = model.functions.map((f) => writeFunction(f, ctx));
  set(m, 'configuration', model.configuration?.map(unwrap));
  return m;
}

function writeOpset(o: OpsetId): Msg {
  const m: Msg = {};
  set(m, 'domain', o.domain);
  set(m, 'version', o.version);
  return m;
}

function writeGraph(g: Graph, ctx: Ctx): Msg {
  const m: Msg = { node: g.nodes.map((n) => writeNode(n, ctx)) };
  set(m, 'name', g.name);
  m.initializer = g.initializers.map((t) => writeTensor(t, ctx));
  set(m, 'sparseInitializer', g.sparseInitializers?.map(unwrap));
  set(m, 'docString', g.docString);
  m.input = g.inputs.map(writeValueInfo);
  m.output = g.outputs.map(writeValueInfo);
  m.valueInfo = g.valueInfo.map(writeValueInfo);
  set(m, 'quantizationAnnotation', g.quantizationAnnotation?.map(unwrap));
  set(m, 'metadataProps', kvs(g.metadataProps));
  return m;
}

function writeNode(n: Node, ctx: Ctx): Msg {
  const m: Msg = { input: [...n.inputs], output: [...n.outputs] };
  set(m, 'name', n.name);
  m.opType = n.opType;
  set(m, 'domain', n.domain);
  set(m, 'overload', n.overload);
  m.attribute = n.attributes.map((a) => writeAttribute(a, ctx));
  set(m, 'docString', n.docString);
  set(m, 'metadataProps', kvs(n.metadataProps));
  set(m, 'deviceConfigurations', n.deviceConfigurations?.map(unwrap));
  return m;
}

function writeAttribute(a: Attribute, ctx: Ctx): Msg {
  const m: Msg = {};
  set(m, 'name', a.name);
  set(m, 'refAttrName', a.refAttrName);
  set(m, 'docString', a.docString);
  set(m, 'type', a.type === undefined ? undefined : ATTR_TYPE_CODES[a.type]);
  set(m, 'f', a.f);
  set(m, 'i', a.i === undefined ? undefined : intToLong(a.i));
  set(m, 's', a.s);
  set(m, 't', a.t && writeTensor(a.t, ctx));
  set(m, 'g', a.g && writeGraph(a.g, ctx));
  set(m, 'sparseTensor', a.sparseTensor && unwrap(a.sparseTensor));
  set(m, 'tp', a.tp && unwrap(a.tp));
  set(m, 'floats', a.floats);
  set(m, 'ints', a.ints?.map((v) => intToLong(v)));
  set(m, 'strings', a.strings);
  set(m, 'tensors', a.tensors?.map((t) => writeTensor(t, ctx)));
  set(m, 'graphs', a.graphs?.map((g) => writeGraph(g, ctx)));
  set(m, 'sparseTensors', a.sparseTensors?.map(unwrap));
  set(m, 'typeProtos', a.typeProtos?.map(unwrap));
  return m;
}

function writeValueInfo(v: ValueInfo): Msg {
  const m: Msg = {};
  set(m, 'name', v.name);
  set(m, 'type', v.type && writeType(v.type));
  set(m, 'docString', v.docString);
  set(m, 'metadataProps', kvs(v.metadataProps));
  return m;
}

function writeType(t: ValueType): Msg {
  if (t.kind === 'opaque') return unwrap(t.proto);
  const tt: Msg = {};
  set(tt, 'elemType', t.elemType === undefined ? undefined : dtypeCode(t.elemType));
  if (t.shape) {
    tt.shape = {
      dim: t.shape.map((d) => {
        const dm: Msg = {};
        set(dm, 'dimValue', d.value);
        set(dm, 'dimParam', d.param);
        set(dm, 'denotation', d.denotation);
        return dm;
      }),
    };
  }
  const m: Msg = { tensorType: tt };
  set(m, 'denotation', t.denotation);
  return m;
}

function writeFunction(f: FunctionDef, ctx: Ctx): Msg {
  const m: Msg = {};
  set(m, 'name', f.name);
  m.input = [...f.inputs];
  m.output = [...f.outputs];
  m.attribute = [...f.attributes];
  m.attributeProto = f.attributeProtos.map((a) => writeAttribute(a, ctx));
  m.node = f.nodes.map((n) => writeNode(n, ctx));
  set(m, 'docString', f.docString);
  m.opsetImport = f.opsetImports.map(writeOpset);
  set(m, 'domain', f.domain);
  set(m, 'overload', f.overload);
  m.valueInfo = f.valueInfo.map(writeValueInfo);
  set(m, 'metadataProps', kvs(f.metadataProps));
  return m;
}

// ---- tensors ----

export function tensorBytes(data: TensorData): Uint8Array {
  if (Array.isArray(data)) throw new Error('string tensors have no raw bytes');
  const a = data as Exclude<TensorData, Uint8Array[]>;
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function writeTensor(t: OnnxTensor, ctx: Ctx): Msg {
  const m: Msg = { dims: [...t.dims] };
  m.dataType = dtypeCode(t.dtype);
  set(m, 'segment', t.segment && unwrap(t.segment));
  set(m, 'name', t.name);
  set(m, 'docString', t.docString);
  if (t.encoding === 'raw') {
    m.rawData = tensorBytes(t.data);
  } else if (t.encoding === 'typed') {
    m[typedFieldFor(t.dtype)] = typedValues(t.dtype, t.data);
  } else {
    if (!ctx.writeExternal) throw new Error(`tensor '${t.name}' is external but no external-data writer was given`);
    m.externalData = kvs(ctx.writeExternal(t, tensorBytes(t.data)));
  }
  set(m, 'dataLocation', t.dataLocation ?? (t.encoding === 'external' ? 1 : undefined));
  set(m, 'metadataProps', kvs(t.metadataProps));
  return m;
}

function typedValues(dtype: ElementType, data: TensorData): unknown[] {
  if (dtype === 'string') return data as Uint8Array[];
  if (data instanceof BigInt64Array) return Array.from(data, (v) => intToLong(v));
  if (data instanceof BigUint64Array) return Array.from(data, (v) => intToLong(v, true));
  if (dtype === 'uint32') return Array.from(data as Uint32Array, (v) => intToLong(v, true));
  return Array.from(data as Float32Array);
}
