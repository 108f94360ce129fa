// Protobuf encode/decode of ModelProto (and TensorProto for .pb data files) over protobufjs.
// The only file that imports protobufjs. Before decoding, a wire walk checks that every field
// in the bytes is one the schema knows: an unknown field would be dropped on re-encoding, so
// such a model is refused rather than silently damaged.

import protobuf from 'protobufjs';
import Long from 'long';
import { ONNX_SCHEMA, IR_VERSION_KNOWN } from './schema.js';
import { OnnxFormatError } from '../errors.js';

protobuf.util.Long = Long;
protobuf.configure();

const root = protobuf.parse(ONNX_SCHEMA, { keepCase: false }).root;
root.resolveAll();

export const ModelProtoType = root.lookupType('onnx.ModelProto');
export const TensorProtoType = root.lookupType('onnx.TensorProto');

/** A decoded protobuf message: plain fields, int64 as Long, bytes as Uint8Array. */
export type Msg = Record<string, any>;

const MAX_DEPTH = 64;

/** Throws OnnxFormatError naming the message and field number of the first unknown field. */
export function checkKnownFields(type: protobuf.Type, bytes: Uint8Array, depth = 0): void {
  if (depth > MAX_DEPTH) throw new OnnxFormatError(`messages nested deeper than ${MAX_DEPTH} levels`);
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 0) throw new OnnxFormatError(`invalid field number 0 in ${type.name}`);
    const field = type.fieldsById[id];
    if (!field) {
      throw new OnnxFormatError(
        `${type.name} field ${id} is not in tbn's ONNX schema (IR ≤ ${IR_VERSION_KNOWN}); refusing rather than dropping it`,
      );
    }
    const want = expectedWireType(field);
    if (wire !== want && !(wire === 2 && field.repeated && want !== 2)) {
      throw new OnnxFormatError(`${type.name}.${field.name} has wire type ${wire}, expected ${want}`);
    }
    if (field.resolvedType instanceof protobuf.Type) {
      const len = reader.uint32();
      if (reader.pos + len > reader.len) throw new OnnxFormatError(`${type.name}.${field.name} runs past the end of the data`);
      checkKnownFields(field.resolvedType, bytes.subarray(reader.pos, reader.pos + len), depth + 1);
      reader.pos += len;
    } else {
      reader.skipType(wire);
    }
  }
  if (reader.pos !== reader.len) throw new OnnxFormatError('data ends in the middle of a field');
}

function expectedWireType(field: protobuf.Field): number {
  if (field.resolvedType instanceof protobuf.Type) return 2;
  switch (field.type) {
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return 5;
    case 'double':
    case 'fixed64':
    case 'sfixed64':
      return 1;
    case 'string':
    case 'bytes':
      return 2;
    default:
      return 0; // varints: int32, int64, uint64, bool, enums
  }
}

function decodeChecked(type: protobuf.Type, bytes: Uint8Array): Msg {
  try {
    checkKnownFields(type, bytes);
    const msg = type.decode(bytes) as unknown as Msg;
    return msg;
  } catch (e) {
    if (e instanceof OnnxFormatError) throw e;
    const what = e instanceof Error ? e.message : String(e);
    throw new OnnxFormatError(`not a valid ${type.name} (${what.replace(/\s+/g, ' ')})`);
  }
}

export function decodeModel(bytes: Uint8Array): Msg {
  return decodeChecked(ModelProtoType, bytes);
}

export function decodeTensor(bytes: Uint8Array): Msg {
  return decodeChecked(TensorProtoType, bytes);
}

export function encodeModel(msg: Msg): Uint8Array {
  return ModelProtoType.encode(ModelProtoType.fromObject(msg)).finish();
}

export function encodeTensor(msg: Msg): Uint8Array {
  return TensorProtoType.encode(TensorProtoType.fromObject(msg)).finish();
}

/** Plain-object form for comparing two messages field by field (int64 → string, bytes → base64). */
export function modelToPlain(msg: Msg): unknown {
  return ModelProtoType.toObject(ModelProtoType.fromObject(msg), { longs: String, bytes: String, defaults: false, arrays: false });
}

// int64 conversions. Values beyond ±2^53 stay bigint so they survive a round trip exactly.

export function longToInt(v: unknown): number | bigint {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v;
  if (Long.isLong(v)) {
    const l = v as Long;
    const n = l.toNumber();
    if (Number.isSafeInteger(n)) return n;
    return BigInt(l.toString());
  }
  if (typeof v === 'string') {
    const b = BigInt(v);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  throw new OnnxFormatError(`expected an integer, found ${typeof v}`);
}

export function longToBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (Long.isLong(v)) return BigInt((v as Long).toString());
  return BigInt(String(v));
}

export function intToLong(v: number | bigint, unsigned = false): Long | number {
  if (typeof v === 'bigint') return Long.fromString(v.toString(), unsigned);
  return unsigned ? Long.fromNumber(v, true) : v;
}
