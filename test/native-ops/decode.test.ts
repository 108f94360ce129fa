// TbnDecode in the kernels: a constant tile of a small weight is decoded once when the kernel is
// created (each run copies it), a tile fed as graph inputs and a weight over the cache's size are
// decoded in every run; tile_axis 0 and 1, p dividing the stream or not; against the op's ONNX
// function in stock onnxruntime.
import { describe, it } from 'vitest';
import { attr, floatTensor, graph, model, node, tensor, valueInfo } from '../../src/ir/build.js';
import type { Model } from '../../src/ir/types.js';
import { TBN_DOMAIN, TBN_OPSET_VERSION } from '../../src/tbn/format.js';
import { tbnFunction } from '../../src/tbn/functions.js';
import type { HostTensor } from '../../src/util/host-tensor.js';
import { Rng } from '../../src/util/random.js';
import { toBytes } from '../helpers/compress.js';
import { KERNEL_PATHS, expectClose, nativeReason, runFunctionForm, runKernels, skipNative } from './helpers.js';

/** TbnDecode → Mul by x (so the graph has an input to feed): y = W · x elementwise, W [m, k]. */
function decodeModel(shape: [number, number], p: number, axis: number, fed: boolean, rng: Rng): { m: Model; feeds: Record<string, HostTensor> } {
  const q = (shape[0] * shape[1]) / p;
  const bits = new Uint8Array(Math.ceil(q / 8)).map(() => rng.int(256));
  const scales = Float32Array.from({ length: p }, () => 0.1 + rng.next());
  const tile = [tensor('bits', 'uint8', [bits.length], bits), floatTensor('scales', [p], scales)];
  const decode = node('TbnDecode', ['bits', 'scales'], ['w'], [attr.ints('weight_shape', shape), attr.int('p', p), attr.int('tile_axis', axis)], { domain: TBN_DOMAIN });
  const g = graph({
    nodes: [decode, node('Mul', ['w', 'x'], ['y'])],
    inputs: [valueInfo('x', 'float32', [1, shape[1]]), ...(fed ? [valueInfo('bits', 'uint8', [bits.length]), valueInfo('scales', 'float32', [p])] : [])],
    outputs: [valueInfo('y', 'float32', shape)],
    initializers: fed ? [] : tile,
  });
  const m = { ...model(g, { opset: 17, extraOpsets: [{ domain: TBN_DOMAIN, version: TBN_OPSET_VERSION }] }), functions: [tbnFunction('TbnDecode', 17)] };
  const x: HostTensor = { dtype: 'float32', dims: [1, shape[1]], data: Float32Array.from({ length: shape[1] }, () => rng.normal()) };
  const feeds: Record<string, HostTensor> = { x, ...(fed ? { bits: { dtype: 'uint8', dims: [bits.length], data: bits }, scales: { dtype: 'float32', dims: [p], data: scales } } : {}) };
  return { m, feeds };
}

const CASES: [string, [number, number], number, number, boolean][] = [
  ['constant, cached, tile_axis 0', [36, 11], 3, 0, false],
  ['constant, cached, tile_axis 1 (an embedding table)', [300, 40], 4, 1, false],
  ['constant, cached, tile_axis 1, p = 7 not dividing the rows', [53, 21], 7, 1, false],
  ['fed as inputs, decoded every run, tile_axis 1', [130, 37], 2, 1, true],
  ['constant but over the cache (4 MiB), decoded every run', [1100, 1000], 4, 1, false],
];

describe.skipIf(skipNative)(`TbnDecode in the kernels${nativeReason}`, () => {
  it.each(CASES)('%s', async (_name, shape, p, axis, fed) => {
    const { m, feeds } = decodeModel(shape, p, axis, fed, new Rng(shape[0] * 31 + p));
    const bytes = toBytes(m);
    const want = await runFunctionForm(bytes, feeds);
    for (const path of KERNEL_PATHS) expectClose(await runKernels(bytes, feeds, path), want);
  });
});
