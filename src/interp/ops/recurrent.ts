// Recurrent layers: LSTM, GRU and RNN (ONNX opsets 7–22: forward, reverse, bidirectional;
// layout 0/1 from opset 14; optional B, sequence_lens, initial_h/initial_c, LSTM peepholes P;
// GRU linear_before_reset), with the default activations only. Each is composed of engine ops
// (mm, add, sigmoid, tanh, mul, split, concat), so gradients reach X, W, R, B and the initial
// states through the tape. Per direction, X·Wᵀ (+ biases) is one product over all time steps;
// each step then adds h·Rᵀ and applies the cell. Gate order (ONNX): LSTM i o f c, GRU z r h.
// sequence_lens: equal lengths L run L steps (Y zero after); ragged lengths mask each step
// (a finished sequence keeps its state and writes zeros), which is what onnxruntime computes.

import * as E from '../../engine/index.js';
import type { Attrs } from '../../ir/attrs.js';
import type { Node } from '../../ir/types.js';
import { fail, need, type OpDef, type OpTable } from '../registry.js';

type CellKind = 'LSTM' | 'GRU' | 'RNN';

const GATES: Record<CellKind, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const DEFAULT_ACTIVATIONS: Record<CellKind, string[]> = { LSTM: ['sigmoid', 'tanh', 'tanh'], GRU: ['sigmoid', 'tanh'], RNN: ['tanh'] };
const DIRECTIONS = ['forward', 'reverse', 'bidirectional'];

/** Why a recurrent node's attributes are outside what tbn runs, or undefined. */
function recurrentProblem(kind: CellKind, a: Attrs, node: Node, opset: number): string | undefined {
  const direction = a.string('direction', 'forward');
  if (!DIRECTIONS.includes(direction)) return `direction '${direction}'`;
  if (a.int('hidden_size') === undefined) return 'hidden_size is required';
  const acts = a.get('activations')?.strings?.map((s) => new TextDecoder().decode(s).toLowerCase());
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const wanted = Array.from({ length: dirs }, () => DEFAULT_ACTIVATIONS[kind]).flat();
  if (acts && acts.join() !== wanted.join()) return `activations [${acts}] (only the defaults [${wanted}] are supported)`;
  if (a.has('clip')) return 'clip';
  if (kind === 'LSTM' && a.int('input_forget', 0) !== 0) return 'input_forget=1';
  const layout = a.int('layout', 0);
  if (layout !== 0 && (opset < 14 || layout !== 1)) return `layout=${layout}`;
  if (kind !== 'LSTM' && node.outputs.length > 2 && node.outputs[2]) return `a third output`;
  return undefined;
}

interface CellParams {
  kind: CellKind;
  hidden: number;
  linearBeforeReset: boolean;
}

interface DirectionInputs {
  /** X·Wᵀ + the biases that sit outside the cell, per step: [B, G·H] each, in time order. */
  xw: E.Tensor[];
  r: E.Tensor; // [G·H, H]
  /** GRU without linear_before_reset: R split into its [z; r] and h blocks (h multiplies r ⊙ h). */
  rGates?: E.Tensor[];
  /** GRU with linear_before_reset: R's h-gate bias, added inside the reset product. */
  rbh?: E.Tensor;
  h0: E.Tensor;
  c0?: E.Tensor;
  /** LSTM peepholes [3H]: i, o, f. */
  p?: E.Tensor[];
}

/** One step of the cell: the new hidden state (and cell state for LSTM). */
function step(cp: CellParams, d: DirectionInputs, xt: E.Tensor, h: E.Tensor, c: E.Tensor | undefined): { h: E.Tensor; c?: E.Tensor } {
  const H = cp.hidden;
  if (cp.kind === 'RNN') return { h: E.tanh(E.add(xt, E.mm(h, d.r, false, true))) };
  if (cp.kind === 'LSTM') {
    let [i, o, f, g] = E.split(E.add(xt, E.mm(h, d.r, false, true)), [H, H, H, H], 1) as [E.Tensor, E.Tensor, E.Tensor, E.Tensor];
    if (d.p) {
      i = E.add(i, E.mul(d.p[0]!, c!));
      f = E.add(f, E.mul(d.p[2]!, c!));
    }
    const cNew = E.add(E.mul(E.sigmoid(f), c!), E.mul(E.sigmoid(i), E.tanh(g)));
    if (d.p) o = E.add(o, E.mul(d.p[1]!, cNew));
    return { h: E.mul(E.sigmoid(o), E.tanh(cNew)), c: cNew };
  }
  // GRU: z = σ(x_z + h·R_zᵀ), r = σ(x_r + h·R_rᵀ), ĥ = tanh(x_h + (r⊙h)·R_hᵀ) or, with
  // linear_before_reset, tanh(x_h + r⊙(h·R_hᵀ + Rb_h)); h' = ĥ + z⊙(h − ĥ). One product h·Rᵀ
  // gives all three gates with linear_before_reset; without it, h·[R_z; R_r]ᵀ and (r⊙h)·R_hᵀ.
  const [xzr, xh] = E.split(xt, [2 * H, H], 1) as [E.Tensor, E.Tensor];
  const gates = (hzr: E.Tensor) => E.split(E.sigmoid(E.add(xzr, hzr)), [H, H], 1) as [E.Tensor, E.Tensor];
  let z: E.Tensor;
  let hh: E.Tensor;
  if (cp.linearBeforeReset) {
    const [hzr, hn] = E.split(E.mm(h, d.r, false, true), [2 * H, H], 1) as [E.Tensor, E.Tensor];
    let r: E.Tensor;
    [z, r] = gates(hzr);
    hh = E.tanh(E.add(xh, E.mul(r, d.rbh ? E.add(hn, d.rbh) : hn)));
  } else {
    const [rzr, rh] = d.rGates as [E.Tensor, E.Tensor];
    let r: E.Tensor;
    [z, r] = gates(E.mm(h, rzr, false, true));
    hh = E.tanh(E.add(xh, E.mm(E.mul(r, h), rh, false, true)));
  }
  return { h: E.add(hh, E.mul(z, E.sub(h, hh))) };
}

/** Sequence lengths: undefined when every sequence runs all `steps`; else per batch entry. */
function lengths(t: E.Tensor | undefined, batch: number, steps: number): number[] | undefined {
  if (!t) return undefined;
  const v = Array.from(t.toArray() as ArrayLike<number>, Number);
  if (v.length !== batch) fail(`sequence_lens has ${v.length} entries for a batch of ${batch}`);
  if (v.some((n) => !Number.isInteger(n) || n < 0 || n > steps)) fail(`sequence_lens [${v}] outside 0…${steps}`);
  return v.every((n) => n === steps) ? undefined : v;
}

/** Row d of a [D, …] tensor, without its leading axis. */
const dirRow = (t: E.Tensor, d: number): E.Tensor => E.reshape(E.slice(t, [d, ...t.shape.slice(1).map(() => 0)], [1, ...t.shape.slice(1)]), t.shape.slice(1));

function makeRecurrent(kind: CellKind) {
  return (a: Attrs) => {
    const hidden = a.int('hidden_size')!;
    const dirs = a.string('direction', 'forward');
    const layout = a.int('layout', 0);
    const cp: CellParams = { kind, hidden, linearBeforeReset: a.int('linear_before_reset', 0) !== 0 };
    const G = GATES[kind];
    return (inputs: readonly (E.Tensor | undefined)[]): (E.Tensor | undefined)[] => {
      const [x0, w, r, b, seqLens, ih0, ic0, pIn] = inputs;
      let x = need(x0, 'X');
      const [W, R] = [need(w, 'W'), need(r, 'R')];
      if (x.rank !== 3) fail(`X must be 3-D, got [${x.shape}]`);
      if (layout === 1) x = E.transpose(x, [1, 0, 2]);
      const [T, B, I] = x.shape as [number, number, number];
      const D = dirs === 'bidirectional' ? 2 : 1;
      const GH = G * hidden;
      const expect = (t: E.Tensor | undefined, shape: number[], what: string) => {
        if (t && t.shape.join() !== shape.join()) fail(`${what} has shape [${t.shape}], expected [${shape}]`);
      };
      expect(W, [D, GH, I], 'W');
      expect(R, [D, GH, hidden], 'R');
      expect(b, [D, 2 * GH], 'B');
      expect(pIn, [D, 3 * hidden], 'P');
      const stateIn = (t: E.Tensor | undefined, what: string) => {
        const s = t && layout === 1 ? E.transpose(t, [1, 0, 2]) : t;
        expect(s, [D, B, hidden], what);
        return s;
      };
      const [h0s, c0s] = [stateIn(ih0, 'initial_h'), stateIn(ic0, 'initial_c')];
      const lens = lengths(seqLens, B, T);
      const equal = lens && lens.every((n) => n === lens[0]) ? lens[0]! : undefined;
      const steps = equal ?? T;
      const mask = lens && equal === undefined ? Array.from({ length: T }, (_, t) => E.tensor(lens.map((n) => (t < n ? 1 : 0)), [B, 1])) : undefined;
      const zeros = E.zeros([B, hidden]);

      const ys: E.Tensor[] = [];
      const hs: E.Tensor[] = [];
      const cs: E.Tensor[] = [];
      for (let d = 0; d < D; d++) {
        const reverse = dirs === 'reverse' || d === 1;
        const Rd = dirRow(R, d);
        let xw = E.mm(E.reshape(x, [T * B, I]), dirRow(W, d), false, true);
        let rbh: E.Tensor | undefined;
        if (b) {
          const [wb, rb] = E.split(dirRow(b, d), [GH, GH], 0) as [E.Tensor, E.Tensor];
          // GRU with linear_before_reset: Rb_h sits inside r ⊙ (…), not with the input product.
          if (kind === 'GRU' && cp.linearBeforeReset) {
            const [rzr, rh] = E.split(rb, [2 * hidden, hidden], 0) as [E.Tensor, E.Tensor];
            xw = E.add(xw, E.add(wb, E.concat([rzr, E.zeros([hidden])], 0)));
            rbh = rh;
          } else xw = E.add(xw, E.add(wb, rb));
        }
        const dir: DirectionInputs = {
          xw: E.split(E.reshape(xw, [T, B, GH]), new Array<number>(T).fill(1), 0).map((s) => E.reshape(s, [B, GH])),
          r: Rd,
          rGates: kind === 'GRU' && !cp.linearBeforeReset ? E.split(Rd, [2 * hidden, hidden], 0) : undefined,
          rbh,
          h0: h0s ? dirRow(h0s, d) : zeros,
          c0: kind === 'LSTM' ? (c0s ? dirRow(c0s, d) : zeros) : undefined,
          p: pIn ? E.split(dirRow(pIn, d), [hidden, hidden, hidden], 0) : undefined,
        };
        const out = new Array<E.Tensor>(T).fill(zeros);
        let h = dir.h0;
        let c = dir.c0;
        for (let k = 0; k < steps; k++) {
          const t = reverse ? steps - 1 - k : k;
          const next = step(cp, dir, dir.xw[t]!, h, c);
          if (mask) {
            // A finished sequence keeps its state and writes zeros.
            const m = mask[t]!;
            out[t] = E.mul(m, next.h);
            h = E.add(h, E.mul(m, E.sub(next.h, h)));
            if (c) c = E.add(c, E.mul(m, E.sub(next.c!, c)));
          } else {
            out[t] = next.h;
            h = next.h;
            c = next.c;
          }
        }
        ys.push(E.concat(out.map((o) => E.reshape(o, [1, 1, B, hidden])), 0));
        hs.push(E.reshape(h, [1, B, hidden]));
        if (c) cs.push(E.reshape(c, [1, B, hidden]));
      }
      let [y, yh, yc] = [E.concat(ys, 1), E.concat(hs, 0), cs.length ? E.concat(cs, 0) : undefined];
      if (layout === 1) {
        y = E.transpose(y, [2, 0, 1, 3]);
        yh = E.transpose(yh, [1, 0, 2]);
        if (yc) yc = E.transpose(yc, [1, 0, 2]);
      }
      return kind === 'LSTM' ? [y, yh, yc] : [y, yh];
    };
  };
}

const recurrent = (kind: CellKind): OpDef => ({
  since: 7,
  check: (a, node, opset) => recurrentProblem(kind, a, node, opset),
  make: makeRecurrent(kind),
});

export const RECURRENT_OPS: OpTable = {
  LSTM: recurrent('LSTM'),
  GRU: recurrent('GRU'),
  RNN: recurrent('RNN'),
};
