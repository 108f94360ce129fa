// The epilogue of a version-2 fused op in standard ops, for its model-local function:
// Y = act(scale·v + shift + residual), computing only the pieces the model's nodes of that op use
// (functions.ts calls it after the standard Gemm/MatMul/Conv). Every op here has the same
// signature from opset 12 on, except HardSwish (14), replaced by x·HardSigmoid below it.
// The epilogue computes in the op's float type T, like the rest of the body; the constants of
// Clip and the two GELU forms are written in T (a Cast after the attribute reference for Clip's
// bounds), so the function of an op that uses them serves nodes of one T (fuse-epilogue.ts
// folds those activations only into models whose fused ops share one T).

import { attr, floatTensorOf, graph, int64Tensor, node } from '../ir/build.js';
import { dtypeCode } from '../ir/dtype.js';
import type { Graph, Node } from '../ir/types.js';
import { ACTIVATIONS, type EpilogueInput } from './format.js';

export type EpilogueFloat = 'float32' | 'float16' | 'bfloat16';

const constT = (out: string, t: Parameters<typeof attr.tensor>[1]): Node => node('Constant', [], [out], [attr.tensor('value', t)]);
const i64 = (out: string, values: number[]) => constT(out, int64Tensor(undefined, [values.length], values));

/** What the epilogues of one op's nodes in a model use (the function body computes only that). */
export interface EpilogueUse {
  inputs: Set<EpilogueInput>;
  /** Activation codes used (0 = none). */
  activations: Set<number>;
  /** T of the op's nodes (default float32): the type of the activations' constants. */
  elemType?: EpilogueFloat;
}

/** Activations whose standard-op form needs constants of T (the others are generic in T). */
export const TYPED_ACTIVATIONS = new Set(['Clip', 'Gelu', 'GeluTanh']);

/** act(v) for one activation code, in standard ops at opset ≥ 12, computing in `t`. */
function activationNodes(code: number, v: string, out: string, opset: number, t: EpilogueFloat): Node[] {
  const p = `act${code}_`;
  const k = (name: string, value: number) => constT(`${p}${name}`, floatTensorOf(undefined, t, [], Float32Array.of(value)));
  // A FLOAT attribute of the node as a scalar of T.
  const bound = (name: string, ref: string): Node[] =>
    t === 'float32'
      ? [node('Constant', [], [`${p}${name}`], [attr.ref('value_float', 'FLOAT', ref)])]
      : [node('Constant', [], [`${p}${name}_f`], [attr.ref('value_float', 'FLOAT', ref)]), node('Cast', [`${p}${name}_f`], [`${p}${name}`], [attr.int('to', dtypeCode(t))])];
  switch (ACTIVATIONS[code]) {
    case 'Relu':
      return [node('Relu', [v], [out])];
    case 'LeakyRelu':
      return [node('LeakyRelu', [v], [out], [attr.ref('alpha', 'FLOAT', 'activation_alpha')])];
    case 'Clip':
      return [...bound('min', 'activation_alpha'), ...bound('max', 'activation_beta'), node('Clip', [v, `${p}min`, `${p}max`], [out])];
    case 'HardSwish':
      if (opset >= 14) return [node('HardSwish', [v], [out])];
      return [node('HardSigmoid', [v], [`${p}gate`], [attr.float('alpha', 1 / 6), attr.float('beta', 0.5)]), node('Mul', [v, `${p}gate`], [out])];
    case 'Sigmoid':
      return [node('Sigmoid', [v], [out])];
    case 'SiLU':
      return [node('Sigmoid', [v], [`${p}gate`]), node('Mul', [v, `${p}gate`], [out])];
    case 'Gelu': // (v · (1 + erf(v/√2))) · ½, in PyTorch's order, which onnxruntime fuses into one Gelu
      return [
        k('sqrt2', Math.SQRT2), k('half', 0.5), k('one', 1),
        node('Div', [v, `${p}sqrt2`], [`${p}z`]),
        node('Erf', [`${p}z`], [`${p}erf`]),
        node('Add', [`${p}erf`, `${p}one`], [`${p}gate2`]),
        node('Mul', [v, `${p}gate2`], [`${p}vg`]),
        node('Mul', [`${p}vg`, `${p}half`], [out]),
      ];
    case 'GeluTanh': // v/2 · (1 + tanh(√(2/π)·(v + 0.044715·v³)))
      return [
        k('c', Math.sqrt(2 / Math.PI)), k('k', 0.044715), k('half', 0.5), k('one', 1),
        node('Mul', [v, v], [`${p}v2`]),
        node('Mul', [`${p}v2`, v], [`${p}v3`]),
        node('Mul', [`${p}v3`, `${p}k`], [`${p}kv3`]),
        node('Add', [v, `${p}kv3`], [`${p}inner`]),
        node('Mul', [`${p}inner`, `${p}c`], [`${p}z`]),
        node('Tanh', [`${p}z`], [`${p}tanh`]),
        node('Add', [`${p}tanh`, `${p}one`], [`${p}gate2`]),
        node('Mul', [v, `${p}half`], [`${p}hv`]),
        node('Mul', [`${p}hv`, `${p}gate2`], [out]),
      ];
    default:
      return [node('Identity', [v], [out])];
  }
}

/** An If branch: `nodes`, whose last node's output is the branch's one output. */
function branch(name: string, nodes: Node[]): Graph {
  return graph({ name, nodes, inputs: [], outputs: [{ name: nodes[nodes.length - 1]!.outputs[0]! }] });
}

/**
 * Y = act(scale·v + shift + residual) in standard ops, for the pieces `use` says the model's
 * nodes need. Channels run along axis 1 (channelsFirst: scale and shift reshaped to [C, 1, …])
 * or the last axis; `conv`: the op is a Conv (the residual's place, below). With several
 * activations in use, `activation` selects through If on a constant condition.
 */
export function epilogueNodes(v: string, out: string, use: EpilogueUse, channelsFirst: boolean, opset: number, conv: boolean): Node[] {
  const t = use.elemType ?? 'float32';
  const nodes: Node[] = [];
  let cur = v;
  const step = (op: string, operand: string, name: string) => {
    nodes.push(node(op, [cur, operand], [name]));
    cur = name;
  };
  const perChannel = (input: string): string => {
    if (!channelsFirst) return input;
    if (!nodes.some((n) => n.outputs[0] === 'epi_shape')) {
      // [-1, 1, …, 1] with rank(W) − 2 ones, from weight_shape (constant-folded by onnxruntime)
      nodes.push(
        node('Constant', [], ['epi_wshape'], [attr.ref('value_ints', 'INTS', 'weight_shape')]),
        node('Shape', ['epi_wshape'], ['epi_rank']),
        i64('epi_two', [2]),
        node('Sub', ['epi_rank', 'epi_two'], ['epi_spatial']),
        node('ConstantOfShape', ['epi_spatial'], ['epi_ones'], [attr.tensor('value', int64Tensor(undefined, [1], [1]))]),
        i64('epi_minus1', [-1]),
        node('Concat', ['epi_minus1', 'epi_ones'], ['epi_shape'], [attr.int('axis', 0)]),
      );
    }
    nodes.push(node('Reshape', [input, 'epi_shape'], [`${input}_c`]));
    return `${input}_c`;
  };
  if (use.inputs.has('scale')) step('Mul', perChannel('scale'), 'epi_scaled');
  // The order is the one onnxruntime fuses as it fuses the original model. A Conv takes the
  // shift as its bias and then the residual as its sum input (and the activation after). After
  // a MatMul, Add(shift) → Add(residual) followed by the LayerNormalization a transformer puts
  // next becomes SkipLayerNormalization, whose CPU kernel ran 9× slower than the Add and
  // LayerNormalization it replaces (transformer fixture, batch 64: 625 µs against 68 µs + the
  // Adds), so there the residual comes first.
  if (!conv && use.inputs.has('residual')) step('Add', 'residual', 'epi_summed');
  if (use.inputs.has('shift')) step('Add', perChannel('shift'), 'epi_shifted');
  if (conv && use.inputs.has('residual')) step('Add', 'residual', 'epi_summed');
  const acts = [...use.activations].filter((a) => a !== 0).sort((a, b) => a - b);
  if (!acts.length) {
    nodes.push(node('Identity', [cur], [out]));
    return nodes;
  }
  if (acts.length === 1 && !use.activations.has(0)) {
    nodes.push(...activationNodes(acts[0]!, cur, out, opset, t));
    return nodes;
  }
  // If chain on code = activation, innermost the default (none when in use, else the last
  // activation). The condition is a constant of the call, so onnxruntime inlines the chosen
  // branch at load and computes that activation only (a Where would compute every one).
  const chained = use.activations.has(0) ? acts : acts.slice(0, -1);
  const innermost = use.activations.has(0) ? [node('Identity', [cur], [`epi_none`])] : activationNodes(acts[acts.length - 1]!, cur, `epi_act${acts[acts.length - 1]}`, opset, t);
  nodes.push(node('Constant', [], ['epi_code'], [attr.ref('value_int', 'INT', 'activation')]));
  let rest = innermost;
  chained.reverse().forEach((code, i) => {
    const last = i === chained.length - 1;
    const selected = last ? out : `epi_sel${code}`;
    nodes.push(i64(`epi_is${code}_k`, [code]), node('Reshape', [`epi_is${code}_k`, 'epi_scalar'], [`epi_is${code}_s`]), node('Equal', ['epi_code', `epi_is${code}_s`], [`epi_is${code}`]));
    const taken = branch(`act${code}`, activationNodes(code, cur, `epi_act${code}`, opset, t));
    const other = branch(`not${code}`, rest);
    const choice = node('If', [`epi_is${code}`], [selected], [attr.graph('then_branch', taken), attr.graph('else_branch', other)]);
    if (last) nodes.push(choice);
    else rest = [choice];
  });
  nodes.unshift(constT('epi_scalar', int64Tensor(undefined, [0], [])));
  return nodes;
}

