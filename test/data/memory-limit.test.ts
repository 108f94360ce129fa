// A data set larger than the memory the process may use still trains: `tbn compress --data`
// runs in a child process whose data segment (RLIMIT_DATA: heap, malloc, ArrayBuffers, thread
// stacks) is capped at 768 MiB and whose V8 heap is capped at 256 MiB, on a folder of 2 000 PNGs
// that decode to 1.2 GB of float32 inputs (one full epoch), and on a 1.2 GB .npy. A control
// checks that the cap is real: allocating the data set's size under it fails.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/data/npy.js';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import { encodeModelInline } from '../../src/onnx/file.js';
import { Rng } from '../../src/util/random.js';
import { ROOT } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

const LIMIT_KIB = 768 * 1024;
const SIZE = 224;
const IMAGES = 2000;
const SAMPLE_BYTES = 3 * SIZE * SIZE * 4;

/** Runs `argv` under the data-segment cap; returns exit code and output. */
function capped(argv: string[]): { code: number | null; out: string } {
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('/bin/sh', ['-c', `ulimit -d ${LIMIT_KIB} && exec ${quoted}`], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 << 20 });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

/** A small image model: Conv 8×8 stride 8 → ReLU → global pool → Gemm 32×32 (the tiled layer). */
function writeModel(file: string): void {
  const rng = new Rng(5);
  const w = (dims: number[], s: number) => Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * s);
  const g = graph({
    name: 'big-input',
    nodes: [
      node('Conv', ['x', 'conv.w'], ['c'], [attr.ints('strides', [8, 8]), attr.ints('kernel_shape', [8, 8])]),
      node('Relu', ['c'], ['r']),
      node('GlobalAveragePool', ['r'], ['g']),
      node('Flatten', ['g'], ['f']),
      node('Gemm', ['f', 'fc.w'], ['y'], [attr.int('transB', 1)], { name: 'fc' }),
    ],
    initializers: [floatTensor('conv.w', [32, 3, 8, 8], w([32, 3, 8, 8], 0.05)), floatTensor('fc.w', [32, 32], w([32, 32], 0.2))],
    inputs: [valueInfo('x', 'float32', ['N', 3, SIZE, SIZE])],
    outputs: [valueInfo('y', 'float32', ['N', 32])],
  });
  fs.writeFileSync(file, encodeModelInline(model(g, { opset: 17 })));
}

const tbn = (...args: string[]) => [process.execPath, '--max-old-space-size=256', '--import', 'tsx', path.join(ROOT, 'test/helpers/cli-entry.ts'), ...args];

describe('a data set larger than the memory limit', () => {
  it('the cap is real: holding the data set in memory fails under it', () => {
    const r = capped([process.execPath, '-e', `const a = new Float32Array(${(IMAGES * SAMPLE_BYTES) / 4}); a.fill(1); console.log('allocated')`]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Array buffer allocation failed/);
    expect(r.out).not.toMatch(/^allocated$/m);
  });

  it(`trains one epoch over ${IMAGES} PNGs (${((IMAGES * SAMPLE_BYTES) / 1e9).toFixed(1)} GB as float32) under a 768 MiB cap`, { timeout: 300_000 }, async () => {
    const dir = tmpDir();
    const modelFile = path.join(dir, 'm.onnx');
    writeModel(modelFile);
    const images = path.join(dir, 'images');
    fs.mkdirSync(images);
    // Eight distinct images, hard-linked under 2 000 names: the loader cannot tell, and the disk is spared.
    const sources = await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        const raw = Buffer.alloc(SIZE * SIZE * 3);
        for (let i = 0; i < raw.length; i++) raw[i] = ((i % (SIZE * 3)) * (k + 1) + Math.floor(i / (SIZE * 3)) * 3) & 255;
        const f = path.join(dir, `src${k}.png`);
        await sharp(raw, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toFile(f);
        return f;
      }),
    );
    for (let i = 0; i < IMAGES; i++) fs.linkSync(sources[i % 8]!, path.join(images, `${String(i).padStart(5, '0')}.png`));
    const out = path.join(dir, 'm.tbn.onnx');
    const r = capped(tbn('compress', modelFile, '--data', images, '--epochs', '1', '--batch-size', '64', '--no-augment', '--min-params', '64', '--preprocess', 'mean=0.5,std=0.25', '-o', out));
    expect(r.out).toMatch(/fine-tuned: 31 steps of 64 \(1\.0 epochs, --epochs\)/);
    expect(r.code, r.out).toBe(0);
    expect(fs.existsSync(out)).toBe(true);
  });

  it('trains from a 1.2 GB .npy under the same cap', { timeout: 300_000 }, () => {
    const dir = tmpDir();
    const modelFile = path.join(dir, 'm.onnx');
    writeModel(modelFile);
    const f = path.join(dir, 'x.npy');
    const header = encodeNpy({ dtype: 'float32', dims: [IMAGES, 3, SIZE, SIZE], data: new Float32Array(0) });
    const fd = fs.openSync(f, 'w');
    fs.writeSync(fd, header);
    // Real values in the first 256 samples (what the steps read), the rest left sparse.
    const chunk = Float32Array.from({ length: (SAMPLE_BYTES / 4) * 16 }, (_, i) => Math.sin(i * 0.001));
    for (let s = 0; s < 256; s += 16) fs.writeSync(fd, new Uint8Array(chunk.buffer), 0, chunk.byteLength, header.length + s * SAMPLE_BYTES);
    fs.ftruncateSync(fd, header.length + IMAGES * SAMPLE_BYTES);
    fs.closeSync(fd);
    const r = capped(tbn('compress', modelFile, '--data', f, '--steps', '4', '--batch-size', '64', '--no-augment', '--min-params', '64', '-o', path.join(dir, 'out.onnx')));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/fine-tuned: 4 steps/);
  });
});
