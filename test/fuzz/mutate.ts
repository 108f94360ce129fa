// Mutations of real inputs for the fuzz suite: byte-level (bit flips, truncation at every
// protobuf field boundary, wrong wire types, huge declared lengths) and structural (huge,
// negative and zero dims, raw_data of the wrong size, dangling and duplicate names, cycles,
// unknown ops and domains, extreme opsets, external-data paths leading out of the folder),
// and broken data files (not a zip, zip bombs, bad .npy headers, keys that do not match).

import { attr, floatTensor, node } from '../../src/ir/build.js';
import type { Model, OnnxTensor } from '../../src/ir/types.js';
import { encodeNpz } from '../../src/data/npz.js';
import { encodeNpy } from '../../src/data/npy.js';
import type { HostTensor } from '../../src/util/host-tensor.js';
import type { Rng } from '../../src/util/random.js';

/** Offsets where a protobuf field starts, recursively into length-delimited fields that parse. */
export function fieldBoundaries(bytes: Uint8Array, base = 0, depth = 0, out: number[] = []): number[] {
  let pos = 0;
  const readVarint = (): number | undefined => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) return undefined;
      const b = bytes[pos++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) return v;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    out.push(base + pos);
    const tag = readVarint();
    if (tag === undefined) return out;
    const wire = tag % 8;
    if (wire === 0) {
      if (readVarint() === undefined) return out;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = readVarint();
      if (len === undefined || pos + len > bytes.length) return out;
      if (depth < 4 && len > 1) fieldBoundaries(bytes.subarray(pos, pos + len), base + pos, depth + 1, out);
      pos += len;
    } else return out;
  }
  return out;
}

export function flipBits(bytes: Uint8Array, rng: Rng, count: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < count; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
}

/** Changes the wire type of the tag at `at` (a field boundary). */
export function wrongWireType(bytes: Uint8Array, at: number, rng: Rng): Uint8Array {
  const out = Uint8Array.from(bytes);
  const wire = out[at]! & 7;
  out[at] = (out[at]! & ~7) | ((wire + 1 + rng.int(5)) % 6);
  return out;
}

/** Rewrites the length of a length-delimited field at `at` to a huge value. */
export function hugeLength(bytes: Uint8Array, at: number, huge: number): Uint8Array | undefined {
  if ((bytes[at]! & 7) !== 2) return undefined;
  let p = at;
  while (bytes[p]! & 0x80) p++;
  const lenStart = p + 1;
  let q = lenStart;
  while (q < bytes.length && bytes[q]! & 0x80) q++;
  const varint: number[] = [];
  let v = huge;
  do {
    varint.push((v % 128) | (v >= 128 ? 0x80 : 0));
    v = Math.floor(v / 128);
  } while (v > 0);
  return Uint8Array.from([...bytes.subarray(0, lenStart), ...varint, ...bytes.subarray(q + 1)]);
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;

function withInit(m: Model, name: string, f: (t: OnnxTensor) => OnnxTensor): Model {
  return { ...m, graph: { ...m.graph, initializers: m.graph.initializers.map((t) => (t.name === name ? f(t) : t)) } };
}

export type StructuralMutation = (m: Model, rng: Rng) => Model;

/** Structural mutations of a model, by name (the fuzz table's categories). */
export const STRUCTURAL: Record<string, StructuralMutation> = {
  'dim 2^63-1': (m, rng) => withInit(m, pick(rng, m.graph.initializers).name!, (t) => ({ ...t, dims: [9007199254740991, ...t.dims.slice(1)] })),
  'terabyte tensor': (m, rng) => withInit(m, pick(rng, m.graph.initializers).name!, (t) => ({ ...t, dims: [1 << 20, 1 << 20, 1 << 2] })),
  'negative dim': (m, rng) => withInit(m, pick(rng, m.graph.initializers).name!, (t) => ({ ...t, dims: [-3, ...t.dims.slice(1)] })),
  'zero dim': (m, rng) => withInit(m, pick(rng, m.graph.initializers.filter((t) => t.dims.length > 1)).name!, (t) => ({ ...t, dims: [0, ...t.dims.slice(1)] })),
  'raw_data short': (m, rng) =>
    withInit(m, pick(rng, m.graph.initializers.filter((t) => t.dtype === 'float32')).name!, (t) => ({ ...t, encoding: 'raw', data: (t.data as Float32Array).slice(0, Math.max(0, t.data.length - 1 - rng.int(3))) })),
  'raw_data long': (m, rng) =>
    withInit(m, pick(rng, m.graph.initializers.filter((t) => t.dtype === 'float32')).name!, (t) => ({ ...t, encoding: 'raw', data: Float32Array.from([...(t.data as Float32Array), 1, 2]) })),
  'dangling input': (m, rng) => {
    const nodes = [...m.graph.nodes];
    const i = rng.int(nodes.length);
    nodes[i] = { ...nodes[i]!, inputs: nodes[i]!.inputs.map((x, k) => (k === 0 ? 'does_not_exist' : x)) };
    return { ...m, graph: { ...m.graph, nodes } };
  },
  'duplicate output name': (m, rng) => {
    const nodes = [...m.graph.nodes];
    const i = 1 + rng.int(nodes.length - 1);
    nodes[i] = { ...nodes[i]!, outputs: [nodes[rng.int(i)]!.outputs[0]!, ...nodes[i]!.outputs.slice(1)] };
    return { ...m, graph: { ...m.graph, nodes } };
  },
  cycle: (m) => {
    const nodes = [...m.graph.nodes];
    const first = nodes.findIndex((n) => n.inputs.length > 0);
    const last = nodes.length - 1;
    nodes[first] = { ...nodes[first]!, inputs: [nodes[last]!.outputs[0]!, ...nodes[first]!.inputs.slice(1)] };
    return { ...m, graph: { ...m.graph, nodes } };
  },
  'unknown op': (m, rng) => {
    const nodes = [...m.graph.nodes];
    const i = rng.int(nodes.length);
    nodes[i] = { ...nodes[i]!, opType: 'FrobnicateV7' };
    return { ...m, graph: { ...m.graph, nodes } };
  },
  'unknown domain': (m, rng) => {
    const nodes = [...m.graph.nodes];
    const i = rng.int(nodes.length);
    nodes[i] = { ...nodes[i]!, domain: 'com.example.nowhere' };
    return { ...m, graph: { ...m.graph, nodes } };
  },
  'opset 1': (m) => ({ ...m, opsetImports: [{ domain: '', version: 1 }] }),
  'opset 99': (m) => ({ ...m, opsetImports: [{ domain: '', version: 99 }] }),
  'bad attribute': (m, rng) => {
    const nodes = [...m.graph.nodes];
    const i = rng.int(nodes.length);
    nodes[i] = { ...nodes[i]!, attributes: [...nodes[i]!.attributes, attr.ints('kernel_shape', [-1, 1 << 30]), attr.int('group', 0)] };
    return { ...m, graph: { ...m.graph, nodes } };
  },
  'extra node reading nothing': (m) => ({
    ...m,
    graph: { ...m.graph, nodes: [...m.graph.nodes, node('Add', ['', ''], ['orphan'])], initializers: [...m.graph.initializers, floatTensor('unused', [1], [0])] },
  }),
};

/** An external-data reference whose location leads out of the model's folder. */
export function escapingExternal(m: Model, location: string, rng: Rng): Model {
  return withInit(m, pick(rng, m.graph.initializers.filter((t) => t.dtype === 'float32')).name!, (t) => ({
    ...t,
    encoding: 'external',
    dataLocation: 1,
    external: { entries: [{ key: 'location', value: location }, { key: 'offset', value: '0' }, { key: 'length', value: String(t.data.length * 4) }] },
  }));
}

// ---- data files ----

export function notAZip(rng: Rng): Uint8Array {
  return Uint8Array.from({ length: 64 + rng.int(512) }, () => rng.int(256));
}

/** An .npz whose member declares a small size but inflates to a large one. */
export function zipBomb(): Uint8Array {
  const huge = new Uint8Array(20_000_000);
  const npz = encodeNpz({ input: { dtype: 'uint8', dims: [huge.length], data: huge } });
  const view = new DataView(npz.buffer, npz.byteOffset, npz.byteLength);
  view.setUint32(22, 4096, true);
  view.setUint32(npz.length - 22 - (46 + 9) + 24, 4096, true);
  return npz;
}

/** A valid .npy for `t` with its header text changed by `edit`. */
export function npyWithHeader(t: HostTensor, edit: (header: string) => string): Uint8Array {
  const bytes = encodeNpy(t);
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true);
  const header = new TextDecoder('latin1').decode(bytes.subarray(10, 10 + len));
  let changed = edit(header).replace(/\n$/, '');
  changed = changed.padEnd(len - 1, ' ') + '\n';
  const out = Uint8Array.from(bytes);
  const enc = Uint8Array.from(changed.slice(0, len), (c) => c.charCodeAt(0));
  out.set(enc, 10);
  return out;
}

export function npzOf(arrays: Record<string, HostTensor>): Uint8Array {
  return encodeNpz(arrays);
}
