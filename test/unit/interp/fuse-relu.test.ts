// The interpreter runs a BatchNormalization whose output only a Relu reads as one fused kernel
// (channelAffine with ReLU): the outputs equal onnxruntime's, the pair costs one step, and the
// fusion stays off where the intermediate value is needed elsewhere — a second reader, a graph
// output, a capture, batch statistics. Gradients through the fused pair against finite differences.

import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/interp/index.js';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../../src/ir/build.js';
import type { Model } from '../../../src/ir/types.js';
import type { HostTensor } from '../../../src/util/host-tensor.js';
import { encodeModelInline } from '../../../src/onnx/file.js';
import { createOrtSession } from '../../../src/runtime/ort.js';
import { Rng } from '../../../src/util/random.js';
import { distinctData, gradcheck, randomData } from '../engine/gradcheck.js';

const C = 4;

/** x → Conv → BN(a) → Relu → BN(b) → Relu → y; BN(b)'s output also feeds an Add (so b must not fuse), or is an output. */
function bnReluModel(rng: Rng, secondReader: 'add' | 'output' | 'none'): Model {
  const bn = (p: string) => [
    floatTensor(`${p}.s`, [C], Float32Array.from({ length: C }, () => 0.5 + rng.next())),
    floatTensor(`${p}.b`, [C], Float32Array.from({ length: C }, () => rng.normal() * 0.3)),
    floatTensor(`${p}.m`, [C], Float32Array.from({ length: C }, () => rng.normal() * 0.3)),
    floatTensor(`${p}.v`, [C], Float32Array.from({ length: C }, () => 0.5 + rng.next())),
  ];
  const bnNode = (p: string, x: string, y: string) => node('BatchNormalization', [x, `${p}.s`, `${p}.b`, `${p}.m`, `${p}.v`], [y], [attr.float('epsilon', 1e-3)], { name: p });
  const nodes = [
    node('Conv', ['x', 'w'], ['c'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'conv' }),
    bnNode('bn_a', 'c', 'a'),
    node('Relu', ['a'], ['ra'], [], { name: 'relu_a' }),
    bnNode('bn_b', 'ra', 'b'),
    node('Relu', ['b'], ['rb'], [], { name: 'relu_b' }),
  ];
  const outputs = [valueInfo('y', 'float32')];
  if (secondReader === 'add') nodes.push(node('Add', ['rb', 'b'], ['y'], [], { name: 'add' }));
  else nodes.push(node('Identity', ['rb'], ['y'], [], { name: 'id' }));
  if (secondReader === 'output') outputs.push(valueInfo('b', 'float32'));
  const g = graph({
    nodes,
    initializers: [floatTensor('w', [C, 3, 3, 3], Float32Array.from({ length: C * 27 }, () => rng.normal() * 0.4)), ...bn('bn_a'), ...bn('bn_b')],
    inputs: [valueInfo('x', 'float32', ['N', 3, 6, 5])],
    outputs,
  });
  return model(g, { opset: 13 });
}

const input = (rng: Rng): HostTensor => ({ dtype: 'float32', dims: [2, 3, 6, 5], data: randomData([2, 3, 6, 5], rng) });

describe('BatchNormalization → Relu fusion', () => {
  for (const reader of ['none', 'add', 'output'] as const) {
    it(`equals onnxruntime (BN(b)'s output read by ${reader === 'none' ? 'the Relu alone' : `the Relu and ${reader === 'add' ? 'an Add' : 'the graph'}`})`, async () => {
      const rng = new Rng(9);
      const m = bnReluModel(rng, reader);
      const feeds = { x: input(rng) };
      const program = compile(m);
      const ours = program.runHost(feeds);
      const ort = await createOrtSession(encodeModelInline(m), { threads: 1 });
      const want = await ort.run(feeds);
      await ort.release();
      for (const [k, v] of Object.entries(want)) expect(ours[k]!.data as Float32Array, k).toBeAllclose(v.data as Float32Array, { atol: 1e-5, rtol: 1e-5 });
      program.dispose();
    });
  }

  it('a fused pair is one step; a second reader, a capture or batch statistics keep it two', () => {
    const steps = (reader: 'none' | 'add', opts: { capture?: string[]; batchStats?: boolean } = {}) => {
      const program = compile(bnReluModel(new Rng(9), reader));
      const r = program.run({ x: input(new Rng(1)) }, opts);
      const n = r.stepsRun;
      program.dispose();
      return n;
    };
    const plain = steps('none');
    // bn_a+relu_a and bn_b+relu_b fused: conv, 2 fused, identity.
    expect(plain).toBe(4);
    expect(steps('add')).toBe(plain + 1); // bn_b and relu_b apart; the Add takes the Identity's place
    expect(steps('none', { capture: ['a'] })).toBe(plain + 1);
    expect(steps('none', { batchStats: true })).toBe(plain + 2);
  });

  it('gradients through the fused pair match finite differences', () => {
    // Unit statistics: the Relu's kink sits at x = 0, which the spaced data keeps clear of.
    const one = (name: string, v: number) => floatTensor(name, [C], new Float32Array(C).fill(v));
    const g = graph({
      nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['a'], [attr.float('epsilon', 1e-3)]), node('Relu', ['a'], ['y'])],
      initializers: [one('s', 1), one('b', 0), one('m', 0), one('v', 1 - 1e-3)],
      inputs: [valueInfo('x', 'float32', [2, C, 3])],
      outputs: [valueInfo('y', 'float32')],
    });
    const program = compile(model(g, { opset: 13 }));
    program.planInfo();
    const data = distinctData([2, C, 3], new Rng(4), 0.09).map((v) => v + 0.033);
    gradcheck((x) => program.run({ x }).outputs.y!, [{ shape: [2, C, 3], data }]);
    program.dispose();
  });
});
