// The tile layouts of a recurrent W [D, G·H, in] (select.ts): the gate-row layout (`output`)
// with one region per gate makes the gate rows of a hidden unit read one bit pattern; `hidden`
// (hiddenLayout, the default) cuts the regions along the hidden units and gives every gate and
// direction of a hidden unit distinct tile positions. Where p does not divide H, `hidden` and
// `auto` fall back to the gate rows.
import { describe, expect, it } from 'vitest';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../../src/ir/build.js';
import type { Model } from '../../../src/ir/types.js';
import { hiddenLayout, parseLayerAxis, selectLayers, type AxisPolicy } from '../../../src/tbn/select.js';
import { computeTile, decodeTile, numel, streamIndex, tileLength, type TileLayout } from '../../../src/tbn/tile.js';
import { layerSensitivity } from '../../../src/tbn/sensitivity.js';
import { loadModel } from '../../../src/onnx/file.js';
import { loadData } from '../../../src/data/dataset.js';
import { dataPath, modelPath } from '../../helpers/fixtures.js';

const [D, G, I] = [2, 4, 3];

function lstm(hidden: number, w: Float32Array = new Float32Array(D * G * hidden * I).fill(0.5)): Model {
  const g = graph({
    name: 'lstm',
    nodes: [node('LSTM', ['x', 'W', 'R'], ['y'], [attr.int('hidden_size', hidden), attr.string('direction', 'bidirectional')], { name: 'lstm' })],
    initializers: [floatTensor('W', [D, G * hidden, I], w), floatTensor('R', [D, G * hidden, hidden], new Float32Array(D * G * hidden * hidden).fill(0.5))],
    inputs: [valueInfo('x', 'float32', [5, 1, I])],
    outputs: [valueInfo('y', 'float32', [5, D, 1, hidden])],
  });
  return model(g, { opset: 14 });
}

const layoutOf = (m: Model, p: number, tileAxis: AxisPolicy) => selectLayers(m, { p, minParams: 0, tileAxis }).chosen.find((c) => c.layer.source.name === 'W')!.layout;

/** For each W element (d, g, h, i): the tile bit it reads and its region. */
function positions(layout: TileLayout, hidden: number) {
  const q = tileLength(layout);
  const at = new Map<number, { bit: number; region: number }>();
  for (let k = 0; k < numel(layout.shape); k++) at.set(streamIndex(k, layout), { bit: k % q, region: Math.floor(k / q) });
  const of = (d: number, g: number, h: number, i: number) => at.get(((d * G + g) * hidden + h) * I + i)!;
  return of;
}

describe('recurrent tile layouts', () => {
  const H = 8;

  it('gate rows at p = D·G: each region is one gate; the gates of a hidden unit share bits', () => {
    const layout = layoutOf(lstm(H), 8, 'output'); // D·G = 8 regions: one per direction and gate
    expect(layout).toEqual({ shape: [D * G * H, I], p: 8, tileAxis: 0 });
    const at = positions(layout, H);
    const bits = new Set(Array.from({ length: D * G }, (_, dg) => at(Math.floor(dg / G), dg % G, 5, 1).bit));
    expect(bits.size).toBe(1);
  });

  it('hidden (the default): every gate and direction of a hidden unit has its own bits; regions are blocks of whole hidden units', () => {
    const p = 4;
    const layout = layoutOf(lstm(H), p, 'hidden');
    expect(layout).toEqual({ shape: [D * G, H * I], p, tileAxis: 1 });
    expect(layoutOf(lstm(H), p, 'auto')).toEqual(layout);
    const at = positions(layout, H);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < I; i++) {
        const cells = Array.from({ length: D * G }, (_, dg) => at(Math.floor(dg / G), dg % G, h, i));
        expect(new Set(cells.map((c) => c.bit)).size).toBe(D * G);
        expect(new Set(cells.map((c) => c.region))).toEqual(new Set([Math.floor(h / (H / p))]));
      }
    }
  });

  it('hidden: gates of opposite sign decode exactly where the gate-row layout cancels them', () => {
    // Gate g of every hidden unit is sign_g · v (v > 0): with one region per direction and gate
    // (p = D·G) the gate rows' region sums mix both signs, so the default layout gets some
    // gate's signs wrong; `hidden` keeps every sign.
    const p = 4;
    const sign = [1, -1, 1, -1];
    const w = new Float32Array(D * G * H * I);
    for (let k = 0; k < w.length; k++) w[k] = sign[Math.floor(k / (H * I)) % G]! * (1 + ((k * 7) % 5) / 10);
    const m = lstm(H, w);
    const hidden = layoutOf(m, p, 'hidden');
    const decoded = decodeTile(computeTile(w, hidden), hidden);
    expect(Array.from(decoded, Math.sign)).toEqual(Array.from(w, Math.sign));
    const rows = layoutOf(m, D * G, 'output');
    const byRows = decodeTile(computeTile(w, rows), rows);
    expect(Array.from(byRows, Math.sign)).not.toEqual(Array.from(w, Math.sign));
  });

  it('hidden and auto fall back to the gate rows where p does not divide H; the policy parses in --layer-axis', () => {
    expect(hiddenLayout(selectLayers(lstm(6), { p: 4, minParams: 0 }).chosen[0]!.layer, 4)).toBeUndefined();
    for (const policy of ['hidden', 'auto'] as const) expect(layoutOf(lstm(6), 4, policy)).toEqual({ shape: [D * G * 6, I], p: 4, tileAxis: 0 });
    expect(parseLayerAxis(['lstm=hidden'])).toEqual([['lstm', 'hidden']]);
  });

  it('auto goes back to the gate rows where the hidden units did not move; an explicit hidden stays', () => {
    const m = lstm(H);
    const axes = (sel: ReturnType<typeof selectLayers>) => sel.chosen.map((c) => c.layout.tileAxis);
    const auto = selectLayers(m, { p: 4, minParams: 0 });
    expect(axes(auto)).toEqual([1, 1]);
    expect(axes(selectLayers(m, { p: 4, minParams: 0, movedNodes: new Set([0]) }))).toEqual([1, 1]);
    expect(axes(selectLayers(m, { p: 4, minParams: 0, movedNodes: new Set() }))).toEqual([0, 0]);
    const explicit = { tileAxis: 'hidden' as const };
    expect(axes(selectLayers(m, { p: 4, minParams: 0, ...explicit, movedNodes: new Set() }))).toEqual([1, 1]);
    const perLayer = { layerAxis: [['W', 'hidden']] as [string, AxisPolicy][] };
    expect(axes(selectLayers(m, { p: 4, minParams: 0, ...perLayer, movedNodes: new Set() }))).toEqual([1, 0]);
  });
});

describe('per-layer sensitivity of recurrent weights (inspect --sensitivity, the --max-drop search)', () => {
  // It used to stop on the LSTM's initial states (computed by the graph, not constants) and
  // read R's activation from input −1.
  it.each([
    [false, 0],
    [true, 1],
  ])('scores W and R in the layout compress writes (permute %s: tile axis %i at p = 4)', async (permute, axis) => {
    const file = modelPath('mnist-lstm.onnx');
    const { model: m } = loadModel(file);
    const data = await loadData(dataPath('mnist-calib.npz'), m);
    const table = await layerSensitivity(file, m, data, { minParams: 4000 }, new Map(), { maxP: 4, powersOfTwo: true, localSteps: 2, samples: 32, alpha: 'per-tile', permute, seed: 0 });
    const recurrent = table.filter((l) => l.weight.startsWith('onnx::LSTM'));
    expect(recurrent).toHaveLength(2);
    for (const l of recurrent) {
      // Not moved (no permutation): back to the gate rows (axis 0), as compress --no-permute;
      // moved: along the hidden units.
      expect(l.entries.find((e) => e.p === 4)!.tileAxis).toBe(axis);
      expect(l.entries.find((e) => e.p === 4)!.loss).toBeGreaterThan(l.entries.find((e) => e.p === 1)!.loss);
    }
  });
});
