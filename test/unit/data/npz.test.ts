// .npy/.npz against numpy's own files (the fixtures) and against our writer; corrupt input.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadData, readArrays } from '../../../src/data/dataset.js';
import { encodeNpy, parseNpy } from '../../../src/data/npy.js';
import { encodeNpz, openNpz, parseNpz } from '../../../src/data/npz.js';
import { loadModel } from '../../../src/onnx/file.js';
import { dataPath, modelPath } from '../../helpers/fixtures.js';
import { tmpDir } from '../../helpers/tmp.js';

const zlibCrc = (b: Uint8Array) => zlib.crc32(b);

describe('npz written by numpy', () => {
  it('reads the MNIST calibration set', async () => {
    const { arrays } = await readArrays(dataPath('mnist-calib.npz'));
    const x = arrays.get('input')!;
    expect(x.dtype).toBe('float32');
    expect(x.dims).toEqual([2000, 1, 28, 28]);
    const y = arrays.get('label')!;
    expect(y.dtype).toBe('int64');
    expect(y.dims).toEqual([2000]);
    const ys = Array.from(y.data as BigInt64Array, Number);
    expect(Math.min(...ys)).toBe(0);
    expect(Math.max(...ys)).toBe(9);
    const xs = x.data as Float32Array;
    expect(Math.max(...xs.subarray(0, 784))).toBeLessThanOrEqual(1);
  });

  it('matches data to model inputs and labels', async () => {
    const { model } = loadModel(modelPath('mnist-cnn.onnx'));
    const ds = await loadData(dataPath('mnist-test.npz'), model);
    expect(ds.count).toBe(2000);
    expect(Object.keys(ds.shapes)).toEqual(['input']);
    expect(ds.labelled).toBe(true);
    expect((await ds.read([5, 1])).labels?.dims).toEqual([2]);
    const ids = await loadData(dataPath('transformer-calib.npz'), loadModel(modelPath('transformer-encoder.onnx')).model);
    expect(ids.shapes.ids!.dtype).toBe('int64');
  });
});

describe('npz members in Fortran order', () => {
  it('are read column-major once, by rows as a C-order member is', async () => {
    const t = { dtype: 'float32' as const, dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const zipText = new TextDecoder('latin1').decode(encodeNpz({ x: t }, { stored: true }));
    const file = path.join(tmpDir(), 'f.npz');
    // Same length, so the stored member stays valid; the CRC covers the header, so fix it.
    const bytes = Uint8Array.from(zipText.replace("'fortran_order': False", "'fortran_order': True "), (c) => c.charCodeAt(0));
    const member = encodeNpy(t);
    const fortranMember = Uint8Array.from(new TextDecoder('latin1').decode(member).replace("'fortran_order': False", "'fortran_order': True "), (c) => c.charCodeAt(0));
    const crcOld = zlibCrc(member);
    const crcNew = zlibCrc(fortranMember);
    for (let i = 0; i + 4 <= bytes.length; i++) {
      if (new DataView(bytes.buffer, i, 4).getUint32(0, true) === crcOld) new DataView(bytes.buffer, i, 4).setUint32(0, crcNew, true);
    }
    fs.writeFileSync(file, bytes);
    const rows = (await openNpz(file)).get('x')!;
    expect(Array.from(rows.read([0, 1]).data as Float32Array)).toEqual([1, 3, 5, 2, 4, 6]);
    expect(Array.from(rows.read([1]).data as Float32Array)).toEqual([2, 4, 6]);
  });
});

describe('npy', () => {
  it('round-trips through our writer and reads Fortran order and big-endian data', () => {
    const t = { dtype: 'float32' as const, dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    expect(parseNpy(encodeNpy(t), 'x')).toEqual(t);
    const bytes = encodeNpy(t);
    const text = new TextDecoder('latin1').decode(bytes);
    // The same bytes declared Fortran order are read column-major.
    const f = parseNpy(Uint8Array.from(text.replace("'fortran_order': False", "'fortran_order': True "), (c) => c.charCodeAt(0)), 'f');
    expect(Array.from(f.data as Float32Array)).toEqual([1, 3, 5, 2, 4, 6]);
    const be = Uint8Array.from(bytes);
    const start = bytes.length - 24;
    for (let i = start; i < bytes.length; i += 4) be.subarray(i, i + 4).reverse();
    const beText = new TextDecoder('latin1').decode(be.subarray(0, start)).replace('<f4', '>f4');
    const beBytes = Uint8Array.from([...Uint8Array.from(beText, (c) => c.charCodeAt(0)), ...be.subarray(start)]);
    expect(Array.from(parseNpy(beBytes, 'be').data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses a header whose shape does not match the data', () => {
    const bytes = encodeNpy({ dtype: 'float32', dims: [2, 3], data: new Float32Array(6) });
    const text = new TextDecoder('latin1').decode(bytes).replace('(2, 3)', '(2, 4)');
    expect(() => parseNpy(Uint8Array.from(text, (c) => c.charCodeAt(0)), 'bad.npy')).toThrow(/needs 32 bytes of data, the file has 24/);
  });
});

describe('npz', () => {
  it('round-trips through our writer', () => {
    const arrays = { a: { dtype: 'int64' as const, dims: [3], data: BigInt64Array.from([1n, -2n, 3n]) } };
    expect(parseNpz(encodeNpz(arrays), 'x.npz').get('a')).toEqual(arrays.a);
  });

  it('refuses a zip bomb: inflation stops at the declared size', () => {
    const huge = new Uint8Array(10_000_000);
    const npz = encodeNpz({ a: { dtype: 'uint8', dims: [huge.length], data: huge } });
    // Shrink the declared uncompressed size in the local and central headers to 1 KiB.
    const view = new DataView(npz.buffer, npz.byteOffset, npz.byteLength);
    view.setUint32(22, 1024, true);
    const cen = npz.length - 22 - (46 + 5);
    view.setUint32(cen + 24, 1024, true);
    expect(() => parseNpz(npz, 'bomb.npz')).toThrow(/bomb\.npz: member 'a.npy' inflates past its declared size 1024/);
  });

  it('refuses files that are not zips and corrupt members', () => {
    expect(() => parseNpz(new Uint8Array(100), 'x.npz')).toThrow(/not an \.npz file/);
    const npz = encodeNpz({ a: { dtype: 'float32', dims: [4], data: new Float32Array(4) } });
    const corrupt = Uint8Array.from(npz);
    corrupt[40] ^= 0xff;
    expect(() => parseNpz(corrupt, 'c.npz')).toThrow(/c\.npz: member 'a\.npy'/);
  });

  it('names the key and the expected shape when data does not fit the model', async () => {
    const dir = tmpDir();
    const { model } = loadModel(modelPath('mnist-mlp.onnx'));
    const f = path.join(dir, 'd.npz');
    fs.writeFileSync(f, encodeNpz({ input: { dtype: 'float32', dims: [4, 784], data: new Float32Array(4 * 784) } }));
    await expect(loadData(f, model)).rejects.toThrow(/d\.npz:input: shape \(4, 784\), the model's input 'input' is \(batch, 1, 28, 28\)/);
    fs.writeFileSync(f, encodeNpz({ pixels: { dtype: 'float32', dims: [4, 1, 28, 28], data: new Float32Array(4 * 784) } }));
    await expect(loadData(f, model)).rejects.toThrow(/key 'pixels' is not an input or output of the model \(inputs: input; labels: 'label'; text labels: 'text'\)/);
  });

  it('reads an ONNX test-data folder of .pb tensors', async () => {
    const dir = '/usr/share/libonnx-testdata/data/node/test_relu';
    if (!fs.existsSync(dir)) return;
    const { arrays } = await readArrays(path.join(dir, 'test_data_set_0'));
    expect([...arrays.values()][0]!.dims).toEqual([3, 4, 5]);
  });
});
