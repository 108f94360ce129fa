// The C spelling helpers, the per-op planning helpers (broadcast, strided copies, windows),
// the emitter table, golden C for a tiny tiled CNN, and the refusal of unsupported ops.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import { cFloat, cIdent, Idents, shortName } from '../../src/mcu/c-text.js';
import { generateC } from '../../src/mcu/codegen.js';
import { windowOf } from '../../src/mcu/emitters/common.js';
import { broadcastPlan } from '../../src/mcu/emitters/elementwise.js';
import { EMITTERS } from '../../src/mcu/emitters/index.js';
import { collapseCopy } from '../../src/mcu/emitters/shape.js';
import { fuseGraph } from '../../src/mcu/fuse.js';
import type { LNode } from '../../src/mcu/graph.js';
import { lowerModel } from '../../src/mcu/lower.js';
import { Rng } from '../../src/util/random.js';
import { compressInMemory } from '../helpers/compress.js';
import { tmpDir } from '../helpers/tmp.js';
import { tbn } from '../cli/run.js';
import { modelFile, randomW, tinyCnn } from './helpers.js';

describe('C spelling', () => {
  it('float literals read back as the same float32', () => {
    const rng = new Rng(1);
    const values = [0, -0, 1, -2.5, 1e-38, 3.4028234663852886e38, 1.401298464324817e-45, 0.1, 16777217, 123456792];
    for (let i = 0; i < 2000; i++) values.push(rng.normal() * 10 ** (rng.int(20) - 10));
    for (const v of values) {
      const s = cFloat(v);
      expect(s).toMatch(/^-?\d+(\.\d*)?(e[+-]\d+)?f$/);
      expect(Object.is(Math.fround(Number(s.slice(0, -1))), Math.fround(v))).toBe(true);
    }
  });

  it('identifiers and short names', () => {
    expect(cIdent('/fc1/Gemm_output_0')).toBe('fc1_Gemm_output_0');
    expect(cIdent('3x')).toBe('v3x');
    expect(cIdent('::')).toBe('v');
    expect(shortName('/features/features.1/features.1.0/Conv_output_0')).toBe('features.1.0/Conv');
    expect(shortName('onnx::MatMul_110')).toBe('onnx::MatMul_110');
    const ids = new Idents();
    expect([ids.fresh('x'), ids.fresh('x'), ids.fresh('int'), ids.fresh('tbn_relu')]).toEqual(['x', 'x_2', 'int_2', 'v_tbn_relu']);
  });
});

describe('planning helpers', () => {
  it('broadcast plans merge contiguous dims and give stride 0 to repeated ones', () => {
    // [1,8,2,2] − [1,8,1,1]: per-channel value repeated over the 2×2 plane
    expect(broadcastPlan([1, 8, 2, 2], [[1, 8, 2, 2], [1, 8, 1, 1]])).toEqual({ shape: [1, 1, 8, 4], strides: [[0, 0, 4, 1], [0, 0, 1, 0]] });
    // same shapes collapse to one run
    expect(broadcastPlan([2, 3, 4], [[2, 3, 4], [2, 3, 4]])).toEqual({ shape: [1, 1, 1, 24], strides: [[0, 0, 0, 1], [0, 0, 0, 1]] });
    // a scalar
    expect(broadcastPlan([3, 5], [[3, 5], []])!.strides[1]).toEqual([0, 0, 0, 0]);
    // alternating broadcasts that cannot merge past 4 dims
    expect(broadcastPlan([2, 3, 2, 3, 2], [[2, 1, 2, 1, 2], [1, 3, 1, 3, 1]])).toBeUndefined();
  });

  it('strided copies drop unit dims and merge contiguous ones', () => {
    // Transpose [2,3,4] by perm [0,2,1]: out [2,4,3]
    expect(collapseCopy([2, 4, 3], [12, 1, 4], [12, 3, 1])).toEqual({ shape: [2, 4, 3], src: [12, 1, 4], dst: [12, 3, 1] });
    expect(collapseCopy([1, 6, 5], [30, 5, 1], [30, 5, 1])).toEqual({ shape: [30], src: [1], dst: [1] });
  });

  it('windows follow pads, auto_pad and 1-D layouts', () => {
    const n = (attrs: LNode['attrs']): LNode => ({ name: 'n', op: 'Conv', inputs: [], outputs: [], attrs, fused: [] });
    expect(windowOf(n([attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 2])]), [8, 8], [4, 4], [3, 3])).toMatchObject({ pad_t: 0, pad_l: 0, pad_b: 1, pad_r: 1 });
    expect(windowOf(n([attr.string('auto_pad', 'SAME_LOWER'), attr.ints('strides', [2, 2])]), [8, 8], [4, 4], [3, 3])).toMatchObject({ pad_t: 1, pad_l: 1, pad_b: 0, pad_r: 0 });
    expect(windowOf(n([attr.ints('pads', [4, 4]), attr.ints('dilations', [2])]), [64], [64], [5])).toMatchObject({ k_h: 1, k_w: 5, dil_w: 2, pad_l: 4, pad_t: 0, out_h: 1, out_w: 64 });
    expect(windowOf(n([attr.string('auto_pad', 'WHATEVER')]), [4], [4], [3])).toMatch(/auto_pad/);
  });
});

describe('emitter table', () => {
  it('covers the ops of the fixtures and the four ai.tbn ops', () => {
    const needed = ['Gemm', 'MatMul', 'Conv', 'BatchNormalization', 'Relu', 'Erf', 'Gelu', 'Sigmoid', 'Tanh', 'MaxPool', 'AveragePool', 'GlobalAveragePool',
      'Add', 'Sub', 'Mul', 'Div', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Softmax', 'LayerNormalization', 'Concat', 'Split', 'Gather', 'ReduceMean',
      'TbnDecode', 'TbnGemm', 'TbnMatMul', 'TbnConv'];
    for (const op of needed) expect(EMITTERS[op], op).toBeDefined();
  });
});

describe('golden C', () => {
  it('a tiny tiled CNN: conv + BN + ReLU + pool fused, tiles read directly, arena planned', async () => {
    const { model: m } = compressInMemory(tinyCnn(), 'custom', { p: 2, minParams: 0 });
    const g = fuseGraph(await lowerModel(m));
    const gen = generateC(g, 'tiny', { tbnVersion: '0.1.0', model: 'tiny.tbn.onnx', sha256: '0'.repeat(64), command: 'tbn export tiny.tbn.onnx --target mcu', target: 'mcu' });
    await expect(gen.files['tiny.c']).toMatchFileSnapshot('golden/tiny.c');
    await expect(gen.files['tiny.h']).toMatchFileSnapshot('golden/tiny.h');
    await expect(gen.files['tiny_weights.c']).toMatchFileSnapshot('golden/tiny_weights.c');
    // never a decoded weight: the conv and gemm weights exist only as tile bits
    expect(gen.files['tiny_weights.c']).not.toMatch(/c_w\[|g_w\[/);
    expect(gen.layers.map((l) => l.kernel)).toEqual(['tbn_tiled_conv2d_out_reuse', '', 'tbn_tiled_gemm_in_combine']);
    // at the conv: its pooled output and one 6×6 plane of scratch; at the Gemm: its input and 36/2 floats
    expect(gen.arena.bytes).toBe(4 * (4 * 3 * 3) + 4 * 6 * 6);
    expect(gen.arena.lowerBound).toBe(gen.arena.bytes);
  });
});

describe('refusal', () => {
  it('names every op it cannot emit, with its node, on one line, and writes nothing', async () => {
    const rng = new Rng(2);
    const g = graph({
      name: 'bad',
      nodes: [
        node('LRN', ['x'], ['a'], [attr.int('size', 3)], { name: 'norm' }),
        node('Relu', ['a'], ['b'], [], { name: 'ok' }),
        node('FusedThing', ['b'], ['c'], [], { name: 'vendor', domain: 'com.example' }),
        node('MatMul', ['c', 'w'], ['y'], [], { name: 'mm' }),
      ],
      initializers: [randomW(rng, 'w', [4, 2])],
      inputs: [valueInfo('x', 'float32', [1, 4, 1, 1])],
      outputs: [valueInfo('y', 'float32', [1, 4, 1, 2])],
    });
    const file = modelFile(model(g, { opset: 17, extraOpsets: [{ domain: 'com.example', version: 1 }] }));
    const out = path.join(tmpDir(), 'never');
    const r = await tbn('export', file, '--target', 'mcu', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("LRN (node 'norm')");
    expect(r.stderr).toContain("com.example.FusedThing (node 'vendor')");
    expect(r.stderr).not.toContain('Relu');
    expect(fs.existsSync(out)).toBe(false);
  });

  it('refuses attribute values it cannot honour, naming the node and the reason', async () => {
    const g = graph({
      name: 'bad3d',
      nodes: [node('Conv', ['x', 'w'], ['y'], [], { name: 'conv3d' })],
      initializers: [floatTensor('w', [2, 1, 1, 1, 1], [1, 2])],
      inputs: [valueInfo('x', 'float32', [1, 1, 2, 2, 2])],
      outputs: [valueInfo('y', 'float32', [1, 2, 2, 2, 2])],
    });
    await expect(lowerModel(model(g, { opset: 17 }))).rejects.toThrow(/Conv \(node 'conv3d': .*1-D and 2-D/);
  });
});
