// Small models with what a tiled layer is followed by in exported networks, for the epilogue
// folding tests: each names the ops the fold must absorb (per tiled node, in graph order) and
// those it must leave alone. Weights are seeded; every layer is tileable at p = 2 and 4.
import { attr, floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import type { Model, Node, OnnxTensor } from '../../src/ir/types.js';
import { Rng } from '../../src/util/random.js';
import { randomWeight } from './models.js';

export interface EpilogueCase {
  name: string;
  model: () => Model;
  /** Per Conv/Gemm/MatMul node (graph order, all tiled): the op types folded into it ('' for none). */
  fused: string[];
}

const scalar = (name: string, v: number) => floatTensor(name, [], Float32Array.of(v));

function bn(rng: Rng, prefix: string, c: number): OnnxTensor[] {
  const pos = (n: string) => floatTensor(n, [c], Float32Array.from({ length: c }, () => 0.5 + rng.next()));
  return [pos(`${prefix}.g`), randomWeight(rng, `${prefix}.b`, [c], 0.3), randomWeight(rng, `${prefix}.m`, [c], 0.2), pos(`${prefix}.v`)];
}
const bnNode = (x: string, prefix: string, y: string): Node => node('BatchNormalization', [x, `${prefix}.g`, `${prefix}.b`, `${prefix}.m`, `${prefix}.v`], [y], [attr.float('epsilon', 1e-3)]);

/** conv (3×3, pads 1) of `c` → `o` channels. */
export const conv = (x: string, w: string, y: string, extra: ReturnType<typeof attr.int>[] = []) => node('Conv', [x, w, `${w}_b`], [y], [attr.ints('pads', [1, 1, 1, 1]), ...extra]);

type Shaped = [string, (number | string)[]];

export function build(nodes: Node[], inits: OnnxTensor[], inputs: Shaped[], outputs: Shaped[], opset = 17): Model {
  nodes.forEach((n, i) => (n.name ??= `${n.opType}_${i}`));
  return model(graph({ name: 'epilogue', nodes, initializers: inits, inputs: inputs.map(([n, d]) => valueInfo(n, 'float32', d)), outputs: outputs.map(([n, d]) => valueInfo(n, 'float32', d)) }), { opset });
}

export const EPILOGUE_CASES: EpilogueCase[] = [
  {
    name: 'Conv → BatchNormalization → Relu, then Conv → Relu → BatchNormalization (BN after the activation stays)',
    fused: ['BatchNormalization,Relu', 'Relu'],
    model: () => {
      const r = new Rng(1);
      return build(
        [conv('x', 'w1', 'c1'), bnNode('c1', 'bn1', 'b1'), node('Relu', ['b1'], ['r1']), conv('r1', 'w2', 'c2'), node('Relu', ['c2'], ['r2']), bnNode('r2', 'bn2', 'y')],
        [randomWeight(r, 'w1', [8, 4, 3, 3]), randomWeight(r, 'w1_b', [8]), ...bn(r, 'bn1', 8), randomWeight(r, 'w2', [8, 8, 3, 3]), randomWeight(r, 'w2_b', [8]), ...bn(r, 'bn2', 8)],
        [['x', ['N', 4, 7, 9]]],
        [['y', ['N', 8, 7, 9]]],
      );
    },
  },
  {
    name: 'Conv → Mul/Add by per-channel constants → Clip(0, 6); strided conv → Sub → Div → x·Sigmoid(x)',
    fused: ['Mul,Add,Clip', 'Sub,Div,Sigmoid·Mul'],
    model: () => {
      const r = new Rng(2);
      return build(
        [
          conv('x', 'w1', 'c1'), node('Mul', ['c1', 'k1'], ['m1']), node('Add', ['a1', 'm1'], ['s1']), node('Clip', ['s1', 'zero', 'six'], ['r1']),
          conv('r1', 'w2', 'c2', [attr.ints('strides', [2, 2])]), node('Sub', ['c2', 'k2'], ['d2']), node('Div', ['d2', 'k3'], ['e2']),
          node('Sigmoid', ['e2'], ['g2']), node('Mul', ['e2', 'g2'], ['y']),
        ],
        [
          randomWeight(r, 'w1', [8, 3, 3, 3]), randomWeight(r, 'w1_b', [8]), floatTensor('k1', [8, 1, 1], Float32Array.from({ length: 8 }, () => 0.5 + r.next())),
          randomWeight(r, 'a1', [1, 8, 1, 1]), scalar('zero', 0), scalar('six', 6), randomWeight(r, 'w2', [16, 8, 3, 3]), randomWeight(r, 'w2_b', [16]),
          randomWeight(r, 'k2', [16, 1, 1]), scalar('k3', 1.7),
        ],
        [['x', ['N', 3, 10, 10]]],
        [['y', ['N', 16, 5, 5]]],
      );
    },
  },
  {
    name: 'Gemm → BatchNormalization → LeakyRelu; Gemm → Sigmoid; Gemm whose output is also a graph output (nothing folded)',
    fused: ['BatchNormalization,LeakyRelu', 'Sigmoid', ''],
    model: () => {
      const r = new Rng(3);
      return build(
        [
          node('Gemm', ['x', 'w1', 'w1_b'], ['g1'], [attr.int('transB', 1)]), bnNode('g1', 'bn1', 'b1'), node('LeakyRelu', ['b1'], ['l1'], [attr.float('alpha', 0.2)]),
          node('Gemm', ['l1', 'w2', 'w2_b'], ['g2']), node('Sigmoid', ['g2'], ['s2']),
          node('Gemm', ['s2', 'w3'], ['g3'], [attr.int('transB', 1)]), node('Relu', ['g3'], ['y']),
        ],
        [randomWeight(r, 'w1', [32, 20]), randomWeight(r, 'w1_b', [32]), ...bn(r, 'bn1', 32), randomWeight(r, 'w2', [32, 24]), randomWeight(r, 'w2_b', [24]), randomWeight(r, 'w3', [16, 24])],
        [['x', ['N', 20]]],
        [['y', ['N', 16]], ['g3', ['N', 16]]],
      );
    },
  },
  {
    name: 'MatMul → Add bias → GELU (PyTorch Erf form); MatMul → Add bias → Add residual → GELU (tanh form); MatMul → Add bias → HardSwish',
    fused: ['Add,Div·Erf·Add·Mul·Mul', 'Add,Add,Mul·Mul·Mul·Add·Mul·Tanh·Add·Mul·Mul', 'Add,HardSwish'],
    model: () => {
      const r = new Rng(4);
      return build(
        [
          node('MatMul', ['x', 'w1'], ['m1']), node('Add', ['m1', 'b1'], ['h1']), node('Div', ['h1', 'sqrt2'], ['d1']), node('Erf', ['d1'], ['e1']),
          node('Add', ['e1', 'one'], ['a1']), node('Mul', ['h1', 'a1'], ['p1']), node('Mul', ['p1', 'half'], ['g1']),
          node('MatMul', ['g1', 'w2'], ['m2']), node('Add', ['b2', 'm2'], ['h2']), node('Add', ['h2', 'x'], ['z2']),
          node('Mul', ['z2', 'z2'], ['q2']), node('Mul', ['q2', 'z2'], ['c2']), node('Mul', ['c2', 'k'], ['kc2']), node('Add', ['z2', 'kc2'], ['in2']),
          node('Mul', ['in2', 'c'], ['t2in']), node('Tanh', ['t2in'], ['t2']), node('Add', ['t2', 'one'], ['o2']), node('Mul', ['z2', 'half'], ['hz2']), node('Mul', ['hz2', 'o2'], ['g2']),
          node('MatMul', ['g2', 'w3'], ['m3']), node('Add', ['m3', 'b3'], ['h3']), node('HardSwish', ['h3'], ['y']),
        ],
        [
          randomWeight(r, 'w1', [24, 48]), randomWeight(r, 'b1', [48]), randomWeight(r, 'w2', [48, 24]), randomWeight(r, 'b2', [24]), randomWeight(r, 'w3', [24, 16]), randomWeight(r, 'b3', [16]),
          scalar('sqrt2', Math.SQRT2), scalar('one', 1), scalar('half', 0.5), scalar('k', 0.044715), scalar('c', Math.sqrt(2 / Math.PI)),
        ],
        [['x', ['N', 5, 24]]],
        [['y', ['N', 5, 16]]],
      );
    },
  },
  {
    name: 'two convs meeting in an Add (one absorbs it and its Relu) and a 1×1 conv with no epilogue: three activations in one function',
    fused: ['Add,Relu', '', '', 'Sigmoid'],
    model: () => {
      const r = new Rng(5);
      return build(
        [
          conv('x', 'w1', 'c1'), conv('x', 'w2', 'c2'), node('Add', ['c1', 'c2'], ['s']), node('Relu', ['s'], ['a']),
          node('Conv', ['a', 'w3', 'w3_b'], ['c3']), node('Conv', ['c3', 'w4', 'w4_b'], ['c4']), node('Sigmoid', ['c4'], ['y']),
        ],
        [
          randomWeight(r, 'w1', [8, 4, 3, 3]), randomWeight(r, 'w1_b', [8]), randomWeight(r, 'w2', [8, 4, 3, 3]), randomWeight(r, 'w2_b', [8]),
          randomWeight(r, 'w3', [12, 8, 1, 1]), randomWeight(r, 'w3_b', [12]), randomWeight(r, 'w4', [8, 12, 1, 1]), randomWeight(r, 'w4_b', [8]),
        ],
        [['x', ['N', 4, 6, 6]]],
        [['y', ['N', 8, 6, 6]]],
      );
    },
  },
  {
    name: 'channels last (tf2onnx): Transpose → Conv → Transpose → Add residual → Relu, and a strided depthwise one → LeakyRelu',
    fused: ['Transpose,Add,Relu', 'Transpose,LeakyRelu'],
    model: () => {
      const r = new Rng(6);
      const tin = (x: string, y: string) => node('Transpose', [x], [y], [attr.ints('perm', [0, 3, 1, 2])]);
      const tout = (x: string, y: string) => node('Transpose', [x], [y], [attr.ints('perm', [0, 2, 3, 1])]);
      return build(
        [
          tin('x', 'xt'), conv('xt', 'w1', 'c1'), tout('c1', 'c1n'), node('Add', ['c1n', 'x'], ['s1']), node('Relu', ['s1'], ['r1']),
          tin('r1', 'r1t'), conv('r1t', 'w2', 'c2', [attr.ints('strides', [2, 2]), attr.int('group', 8)]), tout('c2', 'c2n'),
          node('LeakyRelu', ['c2n'], ['y'], [attr.float('alpha', 0.1)]),
        ],
        [randomWeight(r, 'w1', [8, 8, 3, 3]), randomWeight(r, 'w1_b', [8]), randomWeight(r, 'w2', [16, 1, 3, 3]), randomWeight(r, 'w2_b', [16])],
        [['x', ['N', 9, 7, 8]]],
        [['y', ['N', 5, 4, 16]]],
        13,
      );
    },
  },
  {
    name: 'Conv → BatchNormalization → Relu → MaxPool 2×2; Conv → Add residual → Relu → MaxPool 3×3 stride 2, pads 1, ceil_mode; 1×1 Conv → MaxPool stride 1',
    fused: ['BatchNormalization,Relu,MaxPool', 'Add,Relu,MaxPool', 'MaxPool'],
    model: () => {
      const r = new Rng(7);
      const pool = (x: string, y: string, k: number, extra: ReturnType<typeof attr.int>[] = []) => node('MaxPool', [x], [y], [attr.ints('kernel_shape', [k, k]), ...extra]);
      return build(
        [
          conv('x', 'w1', 'c1'), bnNode('c1', 'bn1', 'b1'), node('Relu', ['b1'], ['r1']), pool('r1', 'p1', 2, [attr.ints('strides', [2, 2])]),
          conv('p1', 'w2', 'c2'), node('Add', ['c2', 'p1'], ['s2']), node('Relu', ['s2'], ['r2']),
          pool('r2', 'p2', 3, [attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1]), attr.int('ceil_mode', 1)]),
          node('Conv', ['p2', 'w3', 'w3_b'], ['c3']), pool('c3', 'y', 2),
        ],
        [
          randomWeight(r, 'w1', [8, 4, 3, 3]), randomWeight(r, 'w1_b', [8]), ...bn(r, 'bn1', 8), randomWeight(r, 'w2', [8, 8, 3, 3]), randomWeight(r, 'w2_b', [8]),
          randomWeight(r, 'w3', [16, 8, 1, 1]), randomWeight(r, 'w3_b', [16]),
        ],
        [['x', ['N', 4, 9, 11]]],
        [['y', ['N', 16, 2, 2]]],
      );
    },
  },
  {
    name: '1-D Conv → Relu → MaxPool; Conv → MaxPool with dilations 2 (stays: the kernels pool without dilation)',
    fused: ['Relu,MaxPool', ''],
    model: () => {
      const r = new Rng(8);
      return build(
        [
          node('Conv', ['x', 'w1', 'w1_b'], ['c1'], [attr.ints('pads', [1, 1])]), node('Relu', ['c1'], ['r1']),
          node('MaxPool', ['r1'], ['y1'], [attr.ints('kernel_shape', [2]), attr.ints('strides', [2])]),
          conv('x2', 'w2', 'c2'), node('MaxPool', ['c2'], ['y2'], [attr.ints('kernel_shape', [2, 2]), attr.ints('dilations', [2, 2])]),
        ],
        [randomWeight(r, 'w1', [8, 4, 3]), randomWeight(r, 'w1_b', [8]), randomWeight(r, 'w2', [8, 4, 3, 3]), randomWeight(r, 'w2_b', [8])],
        [['x', ['N', 4, 12]], ['x2', ['N', 4, 6, 6]]],
        [['y1', ['N', 8, 6]], ['y2', ['N', 8, 4, 4]]],
      );
    },
  },
];
