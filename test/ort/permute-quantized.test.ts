// Channel permutation through quantized layers, in forms the dtypes fixtures do not hold (they
// are checked in test/exporters/dtypes.test.ts): int4 QDQ weights per axis (packed codes move
// nibble by nibble), a per-channel activation QuantizeLinear whose scale and zero point move
// with the channels, MatMulInteger with per-column and ConvInteger with per-channel weight zero
// points and scales. The permuted model must compute what the original does in onnxruntime
// (ConvInteger per channel: in tbn's interpreter, as onnxruntime refuses it); the constants that
// move are exactly the ones tied to the permuted channels.
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/interp/index.js';
import { attr, floatTensor, graph, model, node, tensor, valueInfo } from '../../src/ir/build.js';
import type { Model, Node, OnnxTensor } from '../../src/ir/types.js';
import { createOrtSession } from '../../src/runtime/ort.js';
import { permuteChannels } from '../../src/tbn/permute.js';
import { selectLayers } from '../../src/tbn/select.js';
import { concreteShapes } from '../../src/tbn/shapes.js';
import type { HostTensor } from '../../src/util/host-tensor.js';
import { Rng } from '../../src/util/random.js';
import { toBytes } from '../helpers/compress.js';

const IN = 12;
const HIDDEN = 16;
const OUT = 4;

async function run(m: Model, x: HostTensor): Promise<Float32Array> {
  const s = await createOrtSession(toBytes(m), { threads: 1 });
  try {
    return (await s.run({ x })).y!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** int4 codes packed two per byte, low nibble first. */
function int4(name: string, dims: number[], values: number[]): OnnxTensor {
  const bytes = new Uint8Array(Math.ceil(values.length / 2));
  values.forEach((v, i) => (bytes[i >> 1]! |= (v & 15) << ((i & 1) * 4)));
  return tensor(name, 'int4', dims, bytes);
}

const positive = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => 0.02 + 0.05 * rng.next());

/** Permutes the chosen layers (p = 4) and checks that onnxruntime computes the same; the edited constants. */
async function permuteAndCompare(m: Model): Promise<{ permuted: boolean[]; edited: string[]; reasons: (string | undefined)[] }> {
  const { model: pm, report } = permuteChannels(m, selectLayers(m, { p: 4, minParams: 0, tileAxis: 'output' }).chosen, await concreteShapes(m));
  const rng = new Rng(11);
  const x: HostTensor = { dtype: 'float32', dims: [5, IN], data: Float32Array.from({ length: 5 * IN }, () => rng.normal()) };
  const [a, b] = [await run(m, x), await run(pm, x)];
  expect(b).toBeAllclose(a, { atol: 1e-6, rtol: 1e-6 });
  const edited = pm.graph.initializers.filter((t, i) => t.data !== m.graph.initializers[i]!.data).map((t) => t.name!);
  return { permuted: report.map((r) => r.permuted), edited: edited.sort(), reasons: report.map((r) => r.reason) };
}

/**
 * x → DQ(int4 W1, per column) → MatMul → + b1 → Relu → QuantizeLinear/DequantizeLinear per
 * channel (axis 1) → DQ(int4 W2, per column) → MatMul → y, at opset 21.
 */
function qdqMlp(activationScale: 'constant' | 'input'): Model {
  const rng = new Rng(2);
  const codes = (n: number) => Array.from({ length: n }, () => rng.int(16) - 8);
  const nodes: Node[] = [
    node('DequantizeLinear', ['w1_q', 'w1_scale', 'w1_zp'], ['w1'], [attr.int('axis', 1)], { name: 'w1_dq' }),
    node('MatMul', ['x', 'w1'], ['h0'], [], { name: 'fc1' }),
    node('Add', ['h0', 'b1'], ['h1']),
    node('Relu', ['h1'], ['h']),
    node('QuantizeLinear', ['h', 'h_scale', 'h_zp'], ['h_q'], [attr.int('axis', 1)], { name: 'h_q' }),
    node('DequantizeLinear', ['h_q', 'h_scale', 'h_zp'], ['h_dq'], [attr.int('axis', 1)], { name: 'h_dq' }),
    node('DequantizeLinear', ['w2_q', 'w2_scale'], ['w2'], [attr.int('axis', 1)], { name: 'w2_dq' }),
    node('MatMul', ['h_dq', 'w2'], ['y'], [], { name: 'fc2' }),
  ];
  const hScale = floatTensor('h_scale', [HIDDEN], positive(rng, HIDDEN));
  const initializers = [
    int4('w1_q', [IN, HIDDEN], codes(IN * HIDDEN)),
    floatTensor('w1_scale', [HIDDEN], positive(rng, HIDDEN)),
    int4('w1_zp', [HIDDEN], codes(HIDDEN)),
    floatTensor('b1', [HIDDEN], Float32Array.from({ length: HIDDEN }, () => rng.normal() * 0.1)),
    tensor('h_zp', 'uint8', [HIDDEN], Uint8Array.from({ length: HIDDEN }, () => rng.int(40))),
    int4('w2_q', [HIDDEN, OUT], codes(HIDDEN * OUT)),
    floatTensor('w2_scale', [OUT], positive(rng, OUT)),
    ...(activationScale === 'constant' ? [hScale] : []),
  ];
  const inputs = [valueInfo('x', 'float32', ['N', IN]), ...(activationScale === 'input' ? [valueInfo('h_scale', 'float32', [HIDDEN])] : [])];
  return model(graph({ name: 'qdq-mlp', nodes, initializers, inputs, outputs: [valueInfo('y', 'float32', ['N', OUT])] }), { opset: 21, irVersion: 10 });
}

/** onnxruntime's dynamic form, x → DynamicQuantizeLinear → MatMulInteger → Cast → Mul(x_scale · w_scale), twice. */
function dynamicMlp(): Model {
  const rng = new Rng(4);
  const nodes: Node[] = [];
  const layer = (k: number, x: string, y: string, inDim: number, outDim: number): OnnxTensor[] => {
    nodes.push(
      node('DynamicQuantizeLinear', [x], [`x${k}_q`, `x${k}_scale`, `x${k}_zp`], [], { name: `dql${k}` }),
      node('MatMulInteger', [`x${k}_q`, `w${k}_q`, `x${k}_zp`, `w${k}_zp`], [`m${k}`], [], { name: `fc${k}` }),
      node('Cast', [`m${k}`], [`m${k}_f`], [attr.int('to', 1)]),
      node('Mul', [`x${k}_scale`, `w${k}_scale`], [`s${k}`]),
      node('Mul', [`m${k}_f`, `s${k}`], [y]),
    );
    // Per-column zero points and scales: one per output feature.
    return [
      tensor(`w${k}_q`, 'uint8', [inDim, outDim], Uint8Array.from({ length: inDim * outDim }, () => rng.int(256))),
      tensor(`w${k}_zp`, 'uint8', [outDim], Uint8Array.from({ length: outDim }, () => 100 + rng.int(56))),
      floatTensor(`w${k}_scale`, [outDim], positive(rng, outDim)),
    ];
  };
  const initializers = [...layer(1, 'x', 'h0', IN, HIDDEN), ...layer(2, 'h', 'y', HIDDEN, OUT)];
  nodes.splice(5, 0, node('Add', ['h0', 'b1'], ['h1']), node('Relu', ['h1'], ['h']));
  initializers.push(floatTensor('b1', [HIDDEN], Float32Array.from({ length: HIDDEN }, () => rng.normal() * 0.1)));
  return model(graph({ name: 'dynamic-mlp', nodes, initializers, inputs: [valueInfo('x', 'float32', ['N', IN])], outputs: [valueInfo('y', 'float32', ['N', OUT])] }), { opset: 13 });
}

/** Two ConvInteger layers of the dynamic form with per-channel (or per-tensor) weight zero points, per-channel scales ([M, 1, 1]). */
function dynamicCnn(zeroPoints: 'per-channel' | 'per-tensor'): Model {
  const rng = new Rng(6);
  const nodes: Node[] = [];
  const layer = (k: number, x: string, y: string, cin: number, cout: number): OnnxTensor[] => {
    nodes.push(
      node('DynamicQuantizeLinear', [x], [`x${k}_q`, `x${k}_scale`, `x${k}_zp`], [], { name: `dql${k}` }),
      node('ConvInteger', [`x${k}_q`, `w${k}_q`, `x${k}_zp`, `w${k}_zp`], [`c${k}`], [attr.ints('pads', [1, 1, 1, 1])], { name: `conv${k}` }),
      node('Cast', [`c${k}`], [`c${k}_f`], [attr.int('to', 1)]),
      node('Mul', [`x${k}_scale`, `w${k}_scale`], [`s${k}`]),
      node('Mul', [`c${k}_f`, `s${k}`], [y]),
    );
    return [
      tensor(`w${k}_q`, 'uint8', [cout, cin, 3, 3], Uint8Array.from({ length: cout * cin * 9 }, () => rng.int(256))),
      tensor(`w${k}_zp`, 'uint8', zeroPoints === 'per-channel' ? [cout] : [], Uint8Array.from({ length: zeroPoints === 'per-channel' ? cout : 1 }, () => 100 + rng.int(56))),
      floatTensor(`w${k}_scale`, [cout, 1, 1], positive(rng, cout)),
    ];
  };
  const initializers = [...layer(1, 'x', 'h0', 2, 8), ...layer(2, 'h', 'y', 8, 4)];
  nodes.splice(5, 0, node('Relu', ['h0'], ['h']));
  const g = graph({ name: 'dynamic-cnn', nodes, initializers, inputs: [valueInfo('x', 'float32', ['N', 2, 5, 5])], outputs: [valueInfo('y', 'float32', ['N', 4, 5, 5])] });
  return model(g, { opset: 13 });
}

describe('channel permutation through quantized layers', () => {
  it('int4 QDQ weights and a per-channel activation quantizer: codes, scales and zero points move with the channels', async () => {
    const r = await permuteAndCompare(qdqMlp('constant'));
    expect(r.permuted).toEqual([true, false]);
    // fc2's weight moves along its rows; its per-column scale stays.
    expect(r.edited).toEqual(['b1', 'h_scale', 'h_zp', 'w1_q', 'w1_scale', 'w1_zp', 'w2_q']);
  });

  it('MatMulInteger: per-column weight zero points and scales move with the columns', async () => {
    const r = await permuteAndCompare(dynamicMlp());
    expect(r.permuted).toEqual([true, false]);
    expect(r.edited).toEqual(['b1', 'w1_q', 'w1_scale', 'w1_zp', 'w2_q']);
  });

  it('ConvInteger: per-channel weight zero points and scales move with the output channels', async () => {
    const m = dynamicCnn('per-channel');
    // onnxruntime's ConvInteger takes per-tensor zero points only: shapes come from the per-tensor twin.
    const shapes = await concreteShapes(dynamicCnn('per-tensor'));
    const { model: pm, report } = permuteChannels(m, selectLayers(m, { p: 4, minParams: 0, tileAxis: 'output' }).chosen, shapes);
    expect(report.map((r) => r.permuted)).toEqual([true, false]);
    const edited = pm.graph.initializers.filter((t, i) => t.data !== m.graph.initializers[i]!.data).map((t) => t.name!);
    expect(edited.sort()).toEqual(['w1_q', 'w1_scale', 'w1_zp', 'w2_q']);
    const rng = new Rng(12);
    const x: HostTensor = { dtype: 'float32', dims: [3, 2, 5, 5], data: Float32Array.from({ length: 150 }, () => rng.normal()) };
    // tbn's interpreter computes per-channel zero points.
    const interpret = (mm: Model) => {
      const program = compile(mm);
      try {
        return program.runHost({ x }).y!.data as Float32Array;
      } finally {
        program.dispose();
      }
    };
    expect(interpret(pm)).toBeAllclose(interpret(m), { atol: 1e-6, rtol: 1e-6 });
  });

  it('refuses a per-channel quantizer whose scale is a graph input, naming it', async () => {
    const m = qdqMlp('input');
    const { model: pm, report } = permuteChannels(m, selectLayers(m, { p: 4, minParams: 0, tileAxis: 'output' }).chosen, await concreteShapes(m));
    expect(report[0]).toMatchObject({ permuted: false, reason: "reaches graph input 'h_scale'" });
    expect(pm).toBe(m);
  });
});
