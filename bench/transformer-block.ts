// A BERT-style post-norm encoder block as PyTorch exports it (opset 17): q/k/v/out projections
// (MatMul + Add bias), 12-head attention (Reshape, Transpose, MatMul, Div, Softmax), residual Add,
// LayerNormalization, a d→4d→d feed-forward with GELU written as Erf, residual Add,
// LayerNormalization. Random weights (seeded); input x [batch, T, d]. For `npm run bench -- models`.
import { attr, floatTensor, graph, int64Tensor, model, node, valueInfo } from '../src/ir/build.js';
import type { Model, Node, OnnxTensor } from '../src/ir/types.js';
import { Rng } from '../src/util/random.js';

export function transformerBlock(d: number, heads: number, tokens: number, seed = 3): Model {
  const rng = new Rng(seed);
  const ff = 4 * d;
  const dh = d / heads;
  const inits: OnnxTensor[] = [];
  const nodes: Node[] = [];
  const weight = (name: string, dims: number[], scale: number) => {
    inits.push(floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale)));
    return name;
  };
  const op = (type: string, inputs: string[], out: string, attrs: ReturnType<typeof attr.int>[] = []) => {
    nodes.push(node(type, inputs, [out], attrs, { name: `/${out}/${type}` }));
    return out;
  };
  const scalar = (name: string, v: number) => (inits.push(floatTensor(name, [], Float32Array.of(v))), name);
  const shape = (name: string, dims: number[]) => (inits.push(int64Tensor(name, [dims.length], dims)), name);
  const linear = (x: string, name: string, i: number, o: number) =>
    op('Add', [op('MatMul', [x, weight(`${name}.weight`, [i, o], 1 / Math.sqrt(i))], `${name}_mm`), weight(`${name}.bias`, [o], 0.02)], name);
  const layerNorm = (x: string, name: string) => {
    inits.push(floatTensor(`${name}.weight`, [d], new Float32Array(d).fill(1)), floatTensor(`${name}.bias`, [d], new Float32Array(d)));
    return op('LayerNormalization', [x, `${name}.weight`, `${name}.bias`], name, [attr.int('axis', -1), attr.float('epsilon', 1e-5)]);
  };
  shape('heads_shape', [0, 0, heads, dh]);
  shape('model_shape', [0, 0, d]);
  const split = (x: string, perm: number[], name: string) => op('Transpose', [op('Reshape', [x, 'heads_shape'], `${name}_r`)], name, [attr.ints('perm', perm)]);
  const q = split(linear('x', 'q', d, d), [0, 2, 1, 3], 'qh');
  const k = split(linear('x', 'k', d, d), [0, 2, 3, 1], 'kh');
  const v = split(linear('x', 'v', d, d), [0, 2, 1, 3], 'vh');
  const scores = op('Div', [op('MatMul', [q, k], 'qk'), scalar('sqrt_dh', Math.sqrt(dh))], 'scores');
  const ctx = op('MatMul', [op('Softmax', [scores], 'probs', [attr.int('axis', -1)]), v], 'ctx');
  const merged = op('Reshape', [op('Transpose', [ctx], 'ctx_t', [attr.ints('perm', [0, 2, 1, 3])]), 'model_shape'], 'ctx_m');
  const h1 = layerNorm(op('Add', [linear(merged, 'out', d, d), 'x'], 'res1'), 'ln1');
  const u = linear(h1, 'ff1', d, ff);
  const gelu = op('Mul', [op('Mul', [u, op('Add', [op('Erf', [op('Div', [u, scalar('sqrt2', Math.SQRT2)], 'gd')], 'ge'), scalar('one', 1)], 'ga')], 'gm'), scalar('half', 0.5)], 'gelu');
  layerNorm(op('Add', [linear(gelu, 'ff2', ff, d), h1], 'res2'), 'y');
  const g = graph({ name: 'encoder-block', nodes, initializers: inits, inputs: [valueInfo('x', 'float32', ['batch', tokens, d])], outputs: [valueInfo('y', 'float32', ['batch', tokens, d])] });
  return model(g, { opset: 17 });
}
