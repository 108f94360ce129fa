// LSTM, GRU and RNN nodes through the interpreter: outputs against onnxruntime-node on small
// random one-node models covering the attribute combinations (direction, layout, biases,
// sequence lengths, initial states, peepholes, linear_before_reset), gradients w.r.t. X, W, R,
// B and the initial state against central finite differences (gradcheck.ts), and the refusals.

import { afterAll, describe, expect, it } from 'vitest';
import { checkSupport, compile } from '../../../src/interp/index.js';
import { attr, graph, model, node, valueInfo } from '../../../src/ir/build.js';
import type { Attribute, Model } from '../../../src/ir/types.js';
import { encodeModelInline } from '../../../src/onnx/file.js';
import { transpose } from '../../../src/tbn/layers.js';
import { createOrtSession, type OrtSession } from '../../../src/runtime/ort.js';
import { toFloat64, type HostTensor } from '../../../src/util/host-tensor.js';
import { Rng } from '../../../src/util/random.js';
import { gradcheck, randomData } from '../engine/gradcheck.js';

type Kind = 'LSTM' | 'GRU' | 'RNN';
const GATES: Record<Kind, number> = { LSTM: 4, GRU: 3, RNN: 1 };

interface Case {
  kind: Kind;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  bias?: boolean;
  /** Sequence lengths per batch entry. */
  lens?: number[];
  initial?: boolean;
  peepholes?: boolean;
  linearBeforeReset?: boolean;
  steps?: number;
  batch?: number;
}

const [INPUT, HIDDEN] = [3, 4];

/** The node's inputs in ONNX order, by name ('' when absent), with their shapes. */
function nodeInputs(c: Case): { names: string[]; shapes: Record<string, number[]> } {
  const D = c.direction === 'bidirectional' ? 2 : 1;
  const [T, B, G] = [c.steps ?? 3, c.batch ?? 2, GATES[c.kind]];
  const state = c.layout === 1 ? [B, D, HIDDEN] : [D, B, HIDDEN];
  const shapes: Record<string, number[]> = {
    X: c.layout === 1 ? [B, T, INPUT] : [T, B, INPUT],
    W: [D, G * HIDDEN, INPUT],
    R: [D, G * HIDDEN, HIDDEN],
    ...(c.bias ? { B: [D, 2 * G * HIDDEN] } : {}),
    ...(c.lens ? { sequence_lens: [B] } : {}),
    ...(c.initial ? { initial_h: state, ...(c.kind === 'LSTM' ? { initial_c: state } : {}) } : {}),
    ...(c.peepholes ? { P: [D, 3 * HIDDEN] } : {}),
  };
  const order = ['X', 'W', 'R', 'B', 'sequence_lens', 'initial_h', ...(c.kind === 'LSTM' ? ['initial_c', 'P'] : [])];
  const names = order.map((n) => (shapes[n] ? n : ''));
  while (names.at(-1) === '') names.pop();
  return { names, shapes };
}

const strings = (name: string, v: string[]): Attribute => ({ name, type: 'STRINGS', strings: v.map((x) => new TextEncoder().encode(x)) });

const OUTPUTS: Record<Kind, string[]> = { LSTM: ['Y', 'Y_h', 'Y_c'], GRU: ['Y', 'Y_h'], RNN: ['Y', 'Y_h'] };

function recurrentModel(c: Case, extra: Attribute[] = []): Model {
  const { names, shapes } = nodeInputs(c);
  const attrs = [attr.int('hidden_size', HIDDEN), attr.string('direction', c.direction ?? 'forward'), ...extra];
  if (c.layout) attrs.push(attr.int('layout', c.layout));
  if (c.linearBeforeReset) attrs.push(attr.int('linear_before_reset', 1));
  const g = graph({
    nodes: [node(c.kind, names, OUTPUTS[c.kind], attrs, { name: 'rnn' })],
    inputs: names.filter(Boolean).map((n) => valueInfo(n, n === 'sequence_lens' ? 'int32' : 'float32', shapes[n])),
    outputs: OUTPUTS[c.kind].map((n) => valueInfo(n, 'float32')),
  });
  return model(g, { opset: c.layout ? 14 : 13 });
}

function feedsFor(c: Case, seed: number): Record<string, HostTensor> {
  const rng = new Rng(seed);
  const { names, shapes } = nodeInputs(c);
  return Object.fromEntries(
    names.filter(Boolean).map((n) => {
      const dims = shapes[n]!;
      if (n === 'sequence_lens') return [n, { dtype: 'int32', dims, data: Int32Array.from(c.lens!) }];
      const data = randomData(dims, rng).map((v) => v * (n === 'X' ? 1 : 0.5));
      return [n, { dtype: 'float32', dims, data }];
    }),
  );
}

const swap = (t: HostTensor, perm: number[]): HostTensor => ({
  dtype: 'float32',
  dims: perm.map((p) => t.dims[p]!),
  data: transpose(Float32Array.from(t.data as Float32Array), t.dims, perm),
});

/** onnxruntime's outputs for case `c` (layout 1: feeds and outputs transposed around layout 0). */
async function reference(ort: OrtSession, c: Case, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  if (!c.layout) return ort.run(feeds);
  const swapped = Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, ['X', 'initial_h', 'initial_c'].includes(n) ? swap(t, [1, 0, 2]) : t]));
  const out = await ort.run(swapped);
  return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, swap(t, n === 'Y' ? [2, 0, 1, 3] : [1, 0, 2])]));
}

const FORWARD_CASES: Record<string, Case> = {
  'LSTM forward, defaults': { kind: 'LSTM' },
  'LSTM reverse, bias, initial states': { kind: 'LSTM', direction: 'reverse', bias: true, initial: true },
  'LSTM bidirectional, peepholes, equal sequence_lens < T': { kind: 'LSTM', direction: 'bidirectional', bias: true, peepholes: true, lens: [2, 2], steps: 4 },
  'LSTM bidirectional, layout 1, ragged sequence_lens': { kind: 'LSTM', direction: 'bidirectional', layout: 1, bias: true, initial: true, lens: [3, 1, 2], batch: 3 },
  'GRU forward, bias': { kind: 'GRU', bias: true },
  'GRU reverse, linear_before_reset, initial_h': { kind: 'GRU', direction: 'reverse', bias: true, initial: true, linearBeforeReset: true },
  'GRU bidirectional, layout 1, linear_before_reset, ragged lengths': { kind: 'GRU', direction: 'bidirectional', layout: 1, bias: true, linearBeforeReset: true, lens: [1, 3], steps: 3 },
  'GRU bidirectional, sequence_lens all T': { kind: 'GRU', direction: 'bidirectional', bias: true, lens: [3, 3] },
  'RNN bidirectional, bias, initial_h': { kind: 'RNN', direction: 'bidirectional', bias: true, initial: true },
};

describe('recurrent nodes against onnxruntime', () => {
  const sessions: OrtSession[] = [];
  afterAll(async () => {
    for (const s of sessions) await s.release();
  });
  for (const [name, c] of Object.entries(FORWARD_CASES)) {
    it(name, async () => {
      const m = recurrentModel(c);
      const program = compile(m);
      // onnxruntime runs layout 0 only: layout 1 is checked against it with the axes swapped.
      const ort = await createOrtSession(encodeModelInline(c.layout ? recurrentModel({ ...c, layout: 0 }) : m));
      sessions.push(ort);
      try {
        const feeds = feedsFor(c, 7);
        const [ours, ref] = [program.runHost(feeds), await reference(ort, c, feeds)];
        for (const out of OUTPUTS[c.kind]) {
          expect(ours[out]!.dims, out).toEqual(ref[out]!.dims);
          expect(toFloat64(ours[out]!), out).toBeAllclose(toFloat64(ref[out]!), { atol: 1e-5, rtol: 1e-4 });
        }
      } finally {
        program.dispose();
      }
    });
  }
});

const GRAD_CASES: Record<string, Case> = {
  'LSTM bidirectional, bias, peepholes, initial states': { kind: 'LSTM', direction: 'bidirectional', bias: true, peepholes: true, initial: true },
  'GRU reverse, layout 1, bias': { kind: 'GRU', direction: 'reverse', layout: 1, bias: true },
  'GRU linear_before_reset, bias, initial_h': { kind: 'GRU', bias: true, linearBeforeReset: true, initial: true },
  'LSTM ragged sequence_lens, bias': { kind: 'LSTM', bias: true, lens: [3, 1] },
};

describe('recurrent nodes: gradients against finite differences', () => {
  for (const [name, c] of Object.entries(GRAD_CASES)) {
    it(name, () => {
      const m = recurrentModel(c);
      const program = compile(m);
      const { names, shapes } = nodeInputs(c);
      const floats = names.filter((n) => n && n !== 'sequence_lens');
      const lens: Record<string, HostTensor> = c.lens ? { sequence_lens: { dtype: 'int32', dims: [c.lens.length], data: Int32Array.from(c.lens) } } : {};
      const rng = new Rng(5);
      try {
        // Y and the final states all carry gradient: checked on Y ⊕ Y_h (⊕ Y_c).
        for (const out of OUTPUTS[c.kind]) {
          gradcheck(
            (...ts) => program.run({ ...lens, ...Object.fromEntries(ts.map((t, i) => [floats[i]!, t])) }).outputs[out]!,
            floats.map((n) => ({ shape: shapes[n]!, data: randomData(shapes[n]!, rng).map((v) => v * 0.6) })),
          );
        }
      } finally {
        program.dispose();
      }
    });
  }
});

describe('recurrent nodes: what is refused', () => {
  const refusals: [string, Attribute[], RegExp][] = [
    ['clip', [attr.float('clip', 3)], /LSTM \(ai\.onnx opset 13: clip\) at node 'rnn'/],
    ['non-default activations', [strings('activations', ['Relu', 'Tanh', 'Tanh'])], /activations \[relu,tanh,tanh\]/],
    ['input_forget', [attr.int('input_forget', 1)], /input_forget=1/],
  ];
  for (const [what, extra, message] of refusals) {
    it(what, () => expect(() => checkSupport(recurrentModel({ kind: 'LSTM' }, extra))).toThrow(message));
  }
  it('default activations spelled out are accepted', () => {
    expect(() => checkSupport(recurrentModel({ kind: 'GRU', direction: 'bidirectional' }, [strings('activations', ['Sigmoid', 'Tanh', 'Sigmoid', 'Tanh'])]))).not.toThrow();
  });
});
