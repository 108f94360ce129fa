// Model-local functions: a custom-domain op whose FunctionProto body decodes a packed ±1 tile
// with standard ops (BitShift, BitwiseAnd, Cast, Expand, Mul — the shape of tbn's own
// compressed format) runs in the interpreter, equals onnxruntime (which inlines the body), and
// passes gradients to the α scales; attributes bind through refAttrName and defaults.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../../src/engine/index.js';
import { compile } from '../../../src/interp/index.js';
import { attr, floatTensor, graph, int64Tensor, model, node, tensor, valueInfo } from '../../../src/ir/build.js';
import type { FunctionDef, Model } from '../../../src/ir/types.js';
import { saveModel } from '../../../src/onnx/file.js';
import { createOrtSession } from '../../../src/runtime/ort.js';
import { Rng } from '../../../src/util/random.js';
import { tmpDir } from '../../helpers/tmp.js';

const P = 4; // tile repeats
const Q = 24; // tile bits
const OUT = 6; // weight [IN, OUT] with IN·OUT = P·Q
const IN = 16;

/** ai.tbn.TiledMatMul(x, packed, alpha) = x · reshape(alpha[p] ⊙ tile(±1 bits), [IN, OUT]) · scale. */
function tiledMatMul(): FunctionDef {
  return {
    name: 'TiledMatMul',
    domain: 'ai.tbn',
    inputs: ['x', 'packed', 'alpha'],
    outputs: ['y'],
    attributes: ['scale'],
    attributeProtos: [{ name: 'scale', type: 'FLOAT', f: 1 }],
    opsetImports: [{ domain: '', version: 18 }],
    valueInfo: [],
    nodes: [
      node('Constant', [], ['shifts'], [attr.tensor('value', tensor(undefined, 'uint8', [1, 8], Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7])))]),
      node('Constant', [], ['one'], [attr.tensor('value', tensor(undefined, 'uint8', [], Uint8Array.from([1])))]),
      node('Constant', [], ['cols'], [attr.tensor('value', int64Tensor(undefined, [2], [Q / 8, 1]))]),
      node('Reshape', ['packed', 'cols'], ['bytes']),
      node('BitShift', ['bytes', 'shifts'], ['shifted'], [attr.string('direction', 'RIGHT')]),
      node('BitwiseAnd', ['shifted', 'one'], ['bits']),
      node('Cast', ['bits'], ['bitsf'], [attr.int('to', 1)]),
      node('Constant', [], ['row'], [attr.tensor('value', int64Tensor(undefined, [2], [1, Q]))]),
      node('Reshape', ['bitsf', 'row'], ['b01']),
      node('Constant', [], ['two'], [attr.tensor('value', floatTensor(undefined, [], [2]))]),
      node('Constant', [], ['unit'], [attr.tensor('value', floatTensor(undefined, [], [1]))]),
      node('Mul', ['b01', 'two'], ['b02']),
      node('Sub', ['b02', 'unit'], ['signs']),
      node('Constant', [], ['ax'], [attr.tensor('value', int64Tensor(undefined, [1], [1]))]),
      node('Unsqueeze', ['alpha', 'ax'], ['alpha2']),
      node('Mul', ['alpha2', 'signs'], ['scaled']),
      node('Constant', [], ['wshape'], [attr.tensor('value', int64Tensor(undefined, [2], [IN, OUT]))]),
      node('Reshape', ['scaled', 'wshape'], ['w']),
      node('MatMul', ['x', 'w'], ['xw']),
      node('Constant', [], ['s'], [{ name: 'value_float', type: 'FLOAT', refAttrName: 'scale' }]),
      node('Mul', ['xw', 's'], ['y']),
    ],
  };
}

function tiledModel(scale?: number): { m: Model; bits: number[]; alpha: Float32Array } {
  const rng = new Rng(21);
  const bits = Array.from({ length: Q }, () => rng.int(2));
  const packed = new Uint8Array(Q / 8);
  bits.forEach((b, j) => (packed[j >> 3]! |= b << (j & 7)));
  const alpha = Float32Array.from({ length: P }, () => 0.1 + rng.next());
  const g = graph({
    nodes: [node('TiledMatMul', ['x', 'packed', 'alpha'], ['y'], scale === undefined ? [] : [attr.float('scale', scale)], { name: 'fc', domain: 'ai.tbn' })],
    initializers: [tensor('packed', 'uint8', [Q / 8], packed), floatTensor('alpha', [P], alpha)],
    inputs: [valueInfo('x', 'float32', ['N', IN])],
    outputs: [valueInfo('y', 'float32', ['N', OUT])],
  });
  const m = model(g, { opset: 18, irVersion: 9, extraOpsets: [{ domain: 'ai.tbn', version: 1 }] });
  m.functions = [tiledMatMul()];
  return { m, bits, alpha };
}

describe('model-local functions', () => {
  it('run inlined, equal to onnxruntime and to the weight they decode', async () => {
    const { m, bits, alpha } = tiledModel(0.5);
    const file = path.join(tmpDir(), 'tiled.onnx');
    saveModel(m, file);
    const x = { dtype: 'float32' as const, dims: [3, IN], data: Float32Array.from({ length: 3 * IN }, (_, i) => Math.cos(i)) };
    const program = compile(m);
    const ours = program.runHost({ x }).y!.data as Float32Array;
    const ort = await createOrtSession(file);
    expect(ours).toBeAllclose((await ort.run({ x })).y!.data as Float32Array, { atol: 1e-5 });
    await ort.release();
    const w = Array.from({ length: IN * OUT }, (_, k) => alpha[Math.floor(k / Q)]! * (bits[k % Q] ? 1 : -1));
    const want = Array.from({ length: 3 * OUT }, (_, k) => 0.5 * w.reduce((s, _, i) => (i % OUT === k % OUT ? s + x.data[Math.floor(k / OUT) * IN + Math.floor(i / OUT)]! * w[i]! : s), 0));
    expect(ours).toBeAllclose(want, { atol: 1e-5 });
    program.dispose();
  });

  it('use attribute defaults when the call omits them, and train through the body', () => {
    const { m } = tiledModel();
    const program = compile(m, { trainable: ['alpha'] });
    const a = program.parameters().get('alpha')!;
    const x = E.tensor(Float32Array.from({ length: 2 * IN }, (_, i) => Math.sin(i)), [2, IN]);
    E.tidy(() => E.backward(E.sum(program.run({ x }).outputs.y!)));
    expect(a.grad!.shape).toEqual([P]);
    expect(Array.from(a.grad!.toArray()).every((v) => Number.isFinite(v) && v !== 0)).toBe(true);
    program.dispose();
  });

  it('report unsupported ops inside a body by their own names', () => {
    const { m } = tiledModel();
    m.functions[0]!.nodes.push(node('Unknown', ['y'], ['z']));
    expect(() => compile(m)).toThrow(/Unknown \(ai\.onnx opset 18\) at node 'fc#0\/Unknown_\d+'/);
  });
});
