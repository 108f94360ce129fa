// Array data read by rows, never whole: .npy and stored .npz members at their file offsets,
// deflated members inflated into a temporary file, .pb raw_data at its offset. Checked
// against the arrays read whole, and on files far larger than anything read.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadData, readAll } from '../../../src/data/dataset.js';
import { encodeNpy } from '../../../src/data/npy.js';
import { encodeNpz, openNpz } from '../../../src/data/npz.js';
import { readPb } from '../../../src/data/pb.js';
import { graph, model, node, valueInfo } from '../../../src/ir/build.js';
import { encodeTensor } from '../../../src/onnx/proto.js';
import { dtypeCode } from '../../../src/ir/dtype.js';
import type { HostTensor } from '../../../src/util/host-tensor.js';
import { tmpDir } from '../../helpers/tmp.js';

const rows = (t: HostTensor, idx: number[]) => {
  const row = t.data.length / t.dims[0]!;
  return idx.flatMap((i) => Array.from((t.data as Float32Array).subarray(i * row, (i + 1) * row)));
};

function sample(n: number, row: number): HostTensor {
  return { dtype: 'float32', dims: [n, row], data: Float32Array.from({ length: n * row }, (_, i) => Math.sin(i) * 100) };
}

const idx = [7, 2, 3, 4, 0, 9, 9];

describe('npz members by rows', () => {
  it('stored members (numpy.savez) are read at their offset, CRC checked once', async () => {
    const dir = tmpDir();
    const x = sample(10, 5);
    const f = path.join(dir, 's.npz');
    fs.writeFileSync(f, encodeNpz({ x, y: { dtype: 'int64', dims: [10], data: BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i)) } }, { stored: true }));
    const arrays = await openNpz(f);
    expect(Array.from(arrays.get('x')!.read(idx).data as Float32Array)).toEqual(rows(x, idx));
    const bytes = fs.readFileSync(f);
    bytes[100] ^= 0x40; // inside x's data
    fs.writeFileSync(f, bytes);
    await expect(openNpz(f)).rejects.toThrow(/s\.npz: member 'x\.npy' fails its CRC check/);
  });

  it('deflated members over the in-memory limit are streamed into a temporary file', async () => {
    const dir = tmpDir();
    const x = sample(300, 40);
    const f = path.join(dir, 'c.npz');
    fs.writeFileSync(f, encodeNpz({ x }));
    const small = await openNpz(f);
    const streamed = await openNpz(f, 1024);
    expect(Array.from(streamed.get('x')!.read(idx).data as Float32Array)).toEqual(rows(x, idx));
    expect(Array.from(small.get('x')!.read(idx).data as Float32Array)).toEqual(rows(x, idx));
    // A zip bomb stops at the declared size on the streamed path too.
    const bomb = Buffer.from(fs.readFileSync(f));
    const cen = bomb.length - 22 - (46 + 5);
    bomb.writeUInt32LE(2048, cen + 24);
    bomb.writeUInt32LE(2048, 22);
    fs.writeFileSync(f, bomb);
    await expect(openNpz(f, 1024)).rejects.toThrow(/c\.npz: member 'x\.npy' inflates past its declared size 2048/);
  });
});

describe('files far larger than what is read', () => {
  it('a 6 GB .npy (sparse file) opens and reads a batch without reading the file', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'big.npy');
    const n = 2_000_000;
    const header = encodeNpy({ dtype: 'float32', dims: [n, 1, 28, 28], data: new Float32Array(0) });
    // encodeNpy wrote a header for n rows and no data: extend the file to its full size (sparse).
    const fd = fs.openSync(f, 'w');
    fs.writeSync(fd, header);
    const at = header.length + 5 * 784 * 4;
    fs.writeSync(fd, Buffer.from(Float32Array.from({ length: 784 }, (_, i) => i).buffer), 0, 784 * 4, at);
    fs.ftruncateSync(fd, header.length + n * 784 * 4);
    fs.closeSync(fd);
    const m = model(graph({ nodes: [node('Identity', ['input'], ['y'])], inputs: [valueInfo('input', 'float32', ['N', 1, 28, 28])], outputs: [valueInfo('y', 'float32', ['N', 1, 28, 28])] }), { opset: 17 });
    const ds = await loadData(f, m);
    expect(ds.count).toBe(n);
    const b = await ds.read([5, n - 1]);
    const x = b.feeds.input!.data as Float32Array;
    expect(x[783]).toBe(783);
    expect(x[784 + 3]).toBe(0);
  });

  it('a .pb with raw_data is read at its offset; typed-field tensors whole', () => {
    const dir = tmpDir();
    const x = sample(6, 3);
    const raw = encodeTensor({ name: 'input', dims: [6, 3], dataType: dtypeCode('float32'), rawData: new Uint8Array(x.data.buffer) });
    fs.writeFileSync(path.join(dir, 'r.pb'), raw);
    const typed = encodeTensor({ name: 'input', dims: [6, 3], dataType: dtypeCode('float32'), floatData: Array.from(x.data as Float32Array) });
    fs.writeFileSync(path.join(dir, 't.pb'), typed);
    const r = readPb(path.join(dir, 'r.pb'));
    const t = readPb(path.join(dir, 't.pb'));
    expect(r.name).toBe('input');
    expect(Array.from(r.rows.read([5, 1]).data as Float32Array)).toEqual(rows(x, [5, 1]));
    expect(Array.from(t.rows.read([5, 1]).data as Float32Array)).toEqual(rows(x, [5, 1]));
    fs.writeFileSync(path.join(dir, 'bad.pb'), raw.subarray(0, raw.length - 4));
    expect(() => readPb(path.join(dir, 'bad.pb'))).toThrow(/bad\.pb: not an ONNX TensorProto \(truncated\)/);
  });

  it('labels and targets come with each batch', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'd.npz');
    const x = sample(4, 2);
    const y = sample(4, 3);
    fs.writeFileSync(f, encodeNpz({ x, out: y, label: { dtype: 'int32', dims: [4], data: Int32Array.from([3, 1, 2, 0]) } }, { stored: true }));
    const m = model(graph({ nodes: [node('Identity', ['x'], ['out'])], inputs: [valueInfo('x', 'float32', ['N', 2])], outputs: [valueInfo('out', 'float32', ['N', 3])] }), { opset: 17 });
    const ds = await loadData(f, m);
    expect(ds.targetNames).toEqual(['out']);
    const b = await ds.read([2, 0]);
    expect(Array.from(b.labels!.data as BigInt64Array, Number)).toEqual([2, 3]);
    expect(Array.from(b.targets.out!.data as Float32Array)).toEqual(rows(y, [2, 0]));
    expect((await readAll(ds)).feeds.x!.dims).toEqual([4, 2]);
  });
});
