// activation-match.ts names the activation an elementwise subgraph computes, in every spelling
// exporters use, and refuses what is none of the supported ones.
import { describe, expect, it } from 'vitest';
import { attr, node } from '../../../src/ir/build.js';
import type { Node } from '../../../src/ir/types.js';
import { activationValue, erf, matchActivation } from '../../../src/tbn/activation-match.js';
import { ACTIVATIONS } from '../../../src/tbn/format.js';

const scalars: Record<string, number> = { half: 0.5, one: 1, two: 2, three: 3, six: 6, zero: 0, sqrt2: Math.SQRT2, inv_sqrt2: Math.SQRT1_2, c: Math.sqrt(2 / Math.PI), k: 0.044715, minus1: -1 };
const scalar = (n: string) => scalars[n];
const code = (name: (typeof ACTIVATIONS)[number]) => ACTIVATIONS.indexOf(name);

const cases: [string, Node[], string, (typeof ACTIVATIONS)[number], number?, number?][] = [
  ['Relu', [node('Relu', ['x'], ['y'])], 'y', 'Relu'],
  ['Max(x, 0)', [node('Max', ['x', 'zero'], ['y'])], 'y', 'Relu'],
  ['LeakyRelu 0.1', [node('LeakyRelu', ['x'], ['y'], [attr.float('alpha', 0.1)])], 'y', 'LeakyRelu', Math.fround(0.1)],
  ['Clip(0, 6) (Relu6)', [node('Clip', ['x', 'zero', 'six'], ['y'])], 'y', 'Clip', 0, 6],
  ['Min(Max(x, 0), 6)', [node('Max', ['x', 'zero'], ['r']), node('Min', ['r', 'six'], ['y'])], 'y', 'Clip', 0, 6],
  ['Clip(0, ∞)', [node('Clip', ['x', 'zero'], ['y'])], 'y', 'Relu'],
  ['HardSwish', [node('HardSwish', ['x'], ['y'])], 'y', 'HardSwish'],
  ['x·HardSigmoid(x)', [node('HardSigmoid', ['x'], ['h'], [attr.float('alpha', 1 / 6), attr.float('beta', 0.5)]), node('Mul', ['x', 'h'], ['y'])], 'y', 'HardSwish'],
  ['x·Relu6(x+3)/6 (tf2onnx)', [node('Add', ['x', 'three'], ['a']), node('Clip', ['a', 'zero', 'six'], ['r']), node('Mul', ['x', 'r'], ['m']), node('Div', ['m', 'six'], ['y'])], 'y', 'HardSwish'],
  ['Sigmoid', [node('Sigmoid', ['x'], ['y'])], 'y', 'Sigmoid'],
  ['x·Sigmoid(x) (SiLU)', [node('Sigmoid', ['x'], ['s']), node('Mul', ['x', 's'], ['y'])], 'y', 'SiLU'],
  ['GELU, PyTorch (Div, Erf, Add, Mul, Mul)', [node('Div', ['x', 'sqrt2'], ['d']), node('Erf', ['d'], ['e']), node('Add', ['e', 'one'], ['a']), node('Mul', ['x', 'a'], ['m']), node('Mul', ['m', 'half'], ['y'])], 'y', 'Gelu'],
  ['GELU, tf2onnx (Mul 0.5 first)', [node('Mul', ['x', 'half'], ['h']), node('Mul', ['x', 'inv_sqrt2'], ['d']), node('Erf', ['d'], ['e']), node('Add', ['one', 'e'], ['a']), node('Mul', ['h', 'a'], ['y'])], 'y', 'Gelu'],
  ['Gelu op (opset 20)', [node('Gelu', ['x'], ['y'])], 'y', 'Gelu'],
  ['GELU tanh form', [
    node('Pow', ['x', 'three'], ['p']), node('Mul', ['p', 'k'], ['kp']), node('Add', ['x', 'kp'], ['in']), node('Mul', ['in', 'c'], ['z']),
    node('Tanh', ['z'], ['t']), node('Add', ['t', 'one'], ['a']), node('Mul', ['x', 'half'], ['h']), node('Mul', ['h', 'a'], ['y'])], 'y', 'GeluTanh'],
  ['Gelu op, approximate tanh', [node('Gelu', ['x'], ['y'], [attr.string('approximate', 'tanh')])], 'y', 'GeluTanh'],
];

describe('matchActivation', () => {
  it.each(cases)('%s', (_name, nodes, out, want, alpha, beta) => {
    const m = matchActivation(nodes, 'x', out, scalar);
    expect(m?.code).toBe(code(want));
    if (alpha !== undefined) expect(m!.alpha).toBe(alpha);
    if (beta !== undefined) expect(m!.beta).toBe(beta);
  });

  it.each([
    ['x·2 (not an activation)', [node('Mul', ['x', 'two'], ['y'])]],
    ['Exp', [node('Exp', ['x'], ['y'])]],
    ['Sigmoid(2x)', [node('Mul', ['x', 'two'], ['d']), node('Sigmoid', ['d'], ['y'])]],
    ['reads a non-constant', [node('Mul', ['x', 'other'], ['y'])]],
  ] as [string, Node[]][])('refuses %s', (_name, nodes) => {
    expect(matchActivation(nodes, 'x', 'y', scalar)).toBeUndefined();
  });

  it('erf is accurate to 1e-12 (against its series at small x, symmetry and the tails)', () => {
    for (const x of [0.1, 0.3, 0.5]) {
      let s = 0;
      for (let n = 0; n < 30; n++) s += ((-1) ** n * x ** (2 * n + 1)) / (factorial(n) * (2 * n + 1));
      expect(Math.abs(erf(x) - (2 / Math.sqrt(Math.PI)) * s)).toBeLessThan(1e-12);
      expect(erf(-x)).toBe(-erf(x));
    }
    expect(erf(6)).toBe(1);
    expect(activationValue(code('Gelu'), 1, 0, 0)).toBeCloseTo(0.8413447460685429, 12);
  });
});

function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}
