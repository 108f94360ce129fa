// The ai.tbn kernels equal the function form on seeded random layers: Gemm (transA/transB,
// alpha/beta, every C broadcast), MatMul (1-D, batched and broadcast A), Conv (1-D/2-D, groups
// and depthwise, strides, dilations, pads and auto_pad, with and without bias) and TbnDecode
// (a MatMul whose weight comes first), with odd sizes, few and many batch rows, p dividing the output or the input or
// neither, one α per tile or per layer, on every kernel path and with 1 and 2 threads.
import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../src/data/synthetic.js';
import { attr, floatTensor, graph, model, node, valueInfo } from '../../src/ir/build.js';
import type { Model, Node } from '../../src/ir/types.js';
import { tileChoices } from '../../src/tbn/method.js';
import { rewriteModel, type TiledLayer } from '../../src/tbn/rewrite.js';
import { selectLayers } from '../../src/tbn/select.js';
import { Rng } from '../../src/util/random.js';
import { toBytes } from '../helpers/compress.js';
import { KERNEL_PATHS, expectClose, nativeReason, runFunctionForm, runKernels, skipNative } from './helpers.js';

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;
const between = (rng: Rng, lo: number, hi: number) => lo + rng.int(hi - lo + 1);
const weights = (rng: Rng, name: string, dims: number[]) =>
  floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.3));

function oneNode(n: Node, inputs: [string, number[]][], inits: ReturnType<typeof weights>[]): Model {
  return model(graph({ nodes: [n], inputs: inputs.map(([v, d]) => valueInfo(v, 'float32', d)), outputs: [valueInfo('y', 'float32')], initializers: inits }), { opset: 17 });
}

function gemm(rng: Rng): Model {
  const [m, k, n] = [rng.int(3) ? between(rng, 1, 9) : between(rng, 10, 70), between(rng, 1, 40), between(rng, 1, 40)];
  const [ta, tb] = [rng.int(2), rng.int(2)];
  const cShape = pick(rng, [null, [], [1], [n], [m, 1], [1, n], [m, n]] as (number[] | null)[]);
  const inits = [weights(rng, 'w', tb ? [n, k] : [k, n]), ...(cShape ? [weights(rng, 'c', cShape)] : [])];
  const attrs = [attr.int('transA', ta), attr.int('transB', tb), attr.float('alpha', pick(rng, [1, 0.5, -1.5])), attr.float('beta', pick(rng, [1, 2, 0]))];
  return oneNode(node('Gemm', ['a', 'w', ...(cShape ? ['c'] : [])], ['y'], attrs), [['a', ta ? [k, m] : [m, k]]], inits);
}

function matmul(rng: Rng): Model {
  const [k, n] = [between(rng, 1, 48), between(rng, 1, 40)];
  const lead = pick(rng, [[], [between(rng, 1, 7)], [2, between(rng, 1, 5)], [2, 1, 3], [between(rng, 16, 40)], [3, between(rng, 6, 20)]]);
  return oneNode(node('MatMul', ['a', 'w'], ['y']), [['a', [...lead, k]]], [weights(rng, 'w', [k, n])]);
}

function decode(rng: Rng): Model {
  const [m, k, b] = [between(rng, 2, 20), between(rng, 2, 20), between(rng, 1, 4)];
  return oneNode(node('MatMul', ['w', 'a'], ['y']), [['a', [k, b]]], [weights(rng, 'w', [m, k])]);
}

function conv(rng: Rng): Model {
  const spatial = between(rng, 1, 2);
  const kind = pick(rng, ['plain', 'group', 'depthwise'] as const);
  const group = kind === 'plain' ? 1 : kind === 'group' ? between(rng, 2, 3) : between(rng, 2, 6);
  const cg = kind === 'depthwise' ? 1 : between(rng, 1, 5);
  const ocg = kind === 'depthwise' ? pick(rng, [1, 2]) : between(rng, 1, 9);
  const kernel = Array.from({ length: spatial }, () => between(rng, 1, 3));
  const size = Array.from({ length: spatial }, () => between(rng, 5, 12));
  const pad = pick(rng, ['pads', 'SAME_UPPER', 'SAME_LOWER', 'VALID', 'none']);
  // onnxruntime refuses dilations with SAME_* auto_pad (the kernels follow the ONNX formula).
  const dilation = () => (pad.startsWith('SAME') ? 1 : between(rng, 1, 2));
  const attrs = [attr.int('group', group), attr.ints('strides', kernel.map(() => between(rng, 1, 2))), attr.ints('dilations', kernel.map(dilation))];
  if (pad === 'pads') attrs.push(attr.ints('pads', [...kernel, ...kernel].map(() => between(rng, 0, 2))));
  else if (pad !== 'none') attrs.push(attr.string('auto_pad', pad));
  if (rng.int(2)) attrs.push(attr.ints('kernel_shape', kernel));
  const bias = rng.int(2) === 1;
  const inits = [weights(rng, 'w', [ocg * group, cg, ...kernel]), ...(bias ? [weights(rng, 'b', [ocg * group])] : [])];
  return oneNode(node('Conv', ['x', 'w', ...(bias ? ['b'] : [])], ['y'], attrs), [['x', [between(rng, 1, 3), cg * group, ...size]]], inits);
}

type Mode = 'out-reuse' | 'in-combine' | 'general' | 'decode';

/** Which kernel strategy the layer gets (mirrors tbn_matrix_init) — to check the cases cover all. */
function modeOf(t: TiledLayer): Mode {
  const { layer, layout } = t;
  if (layer.weightInput !== 1) return 'decode';
  const outMajor = (layer.outAxis === 0) === (layout.tileAxis === 0);
  if (outMajor && layer.outDim % layout.p === 0) return 'out-reuse';
  if (!outMajor && layer.inDim % layout.p === 0) return 'in-combine';
  return 'general';
}

function compress(m: Model, rng: Rng) {
  const params = m.graph.initializers.find((i) => i.name === 'w')!.dims.reduce((a, b) => a * b, 1);
  const ps = [2, 3, 4, 5, 6, 8].filter((p) => params % p === 0);
  const p = ps.length ? pick(rng, ps) : params;
  const chosen = selectLayers(m, { p, minParams: 0, tileAxis: pick(rng, ['output', 'input'] as const) }).chosen;
  const tiled = tileChoices(chosen, pick(rng, ['per-tile', 'per-layer'] as const));
  return { bytes: toBytes(rewriteModel(m, tiled, { format: 'custom' })), tiled, p };
}

const GENERATORS = { gemm, matmul, conv, decode };
const cases = Object.entries(GENERATORS).flatMap(([kind, gen]) => Array.from({ length: kind === 'decode' ? 6 : 24 }, (_, i) => [kind, i, gen] as const));
const seen = new Map<string, number>();

describe.skipIf(skipNative)(`ai.tbn kernels on random layers${nativeReason}`, () => {
  it.each(cases)('%s #%i', async (kind, i, gen) => {
    const rng = new Rng(1000 * Object.keys(GENERATORS).indexOf(kind) + i);
    const m = gen(rng);
    const c = compress(m, rng);
    expect(c.tiled).toHaveLength(1);
    const mode = modeOf(c.tiled[0]!);
    seen.set(`${kind}:${mode}`, (seen.get(`${kind}:${mode}`) ?? 0) + 1);
    const feeds = syntheticInputs(m, { seed: i });
    const want = await runFunctionForm(c.bytes, feeds);
    for (const path of KERNEL_PATHS) expectClose(await runKernels(c.bytes, feeds, path), want);
    expectClose(await runKernels(c.bytes, feeds, KERNEL_PATHS.at(-1)!, 2), want);
  });

  it('covered every strategy of every fused op', () => {
    for (const kind of ['gemm', 'matmul', 'conv']) {
      for (const mode of ['out-reuse', 'in-combine', 'general']) expect(seen.get(`${kind}:${mode}`) ?? 0, `${kind} ${mode}`).toBeGreaterThan(0);
    }
    expect(seen.get('decode:decode')).toBe(6);
  });
});
