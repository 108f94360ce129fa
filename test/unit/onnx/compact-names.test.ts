// Short intermediate names (src/ir/compact-names.ts): onnxruntime computes bit-identical outputs
// from the renamed file, the names a caller or a reader looks for stay, and the file shrinks.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attr, graph, model, node, tensor, valueInfo } from '../../../src/ir/build.js';
import { compactValueNames } from '../../../src/ir/compact-names.js';
import { subgraphs, validateModel } from '../../../src/ir/graph.js';
import type { Graph, Model, Opaque } from '../../../src/ir/types.js';
import { loadModel, saveModel } from '../../../src/onnx/file.js';
import { syntheticInputs } from '../../../src/data/synthetic.js';
import { EXPORTER_MODELS, TORCH_MODELS, modelPath } from '../../helpers/fixtures.js';
import { runOnce } from '../../helpers/ort.js';
import { tmpDir } from '../../helpers/tmp.js';

const FILES = [...TORCH_MODELS, ...EXPORTER_MODELS, 'tf-style-opset11.onnx', 'vit-mnist.onnx', 'text-transformer.onnx', 'mnist-lstm.onnx', 'mnist-gru.onnx'];

/** An If whose branches read an intermediate of the enclosing graph ('h') and define their own. */
function ifReadingOuterValue(): Model {
  const branch = (scale: number, tag: string) =>
    graph({
      name: tag,
      nodes: [node('Mul', ['/enc/Relu_output_0', `k_${tag}`], [`/${tag}/Mul_output_0`], [], { name: `/${tag}/Mul` })],
      initializers: [tensor(`k_${tag}`, 'float32', [], Float32Array.of(scale))],
      inputs: [],
      outputs: [valueInfo(`/${tag}/Mul_output_0`, 'float32', [2, 4])],
    });
  return model(
    graph({
      name: 'ifOuter',
      nodes: [
        node('Relu', ['x'], ['/enc/Relu_output_0'], [], { name: '/enc/Relu' }),
        node('ReduceSum', ['x'], ['/enc/ReduceSum_output_0'], [attr.int('keepdims', 0)], { name: '/enc/ReduceSum' }),
        node('Greater', ['/enc/ReduceSum_output_0', 'zero'], ['/enc/Greater_output_0'], [], { name: '/enc/Greater' }),
        node('If', ['/enc/Greater_output_0'], ['y'], [attr.graph('then_branch', branch(2, 'then')), attr.graph('else_branch', branch(-1, 'else'))], { name: '/enc/If' }),
      ],
      initializers: [tensor('zero', 'float32', [], Float32Array.of(0))],
      inputs: [valueInfo('x', 'float32', [2, 4])],
      outputs: [valueInfo('y', 'float32', [2, 4])],
    }),
    { opset: 13 },
  );
}
const IF_MODEL = ifReadingOuterValue();

type NameSets = { io: string[]; initializers: string[]; nodes: string[]; values: string[] };

function names(g: Graph, into: NameSets = { io: [], initializers: [], nodes: [], values: [] }, top = true): NameSets {
  if (top) into.io.push(...[...g.inputs, ...g.outputs].map((v) => v.name!));
  into.initializers.push(...g.initializers.map((t) => t.name!));
  for (const n of g.nodes) {
    into.nodes.push(n.name ?? '');
    into.values.push(...n.inputs, ...n.outputs);
    for (const s of subgraphs(n)) names(s, into, false);
  }
  return into;
}

async function checkCompaction(name: string, source: Model): Promise<void> {
  const before = JSON.stringify(names(source.graph));
  const { model: compact, keptBecause } = compactValueNames(source);
  expect(keptBecause).toBeUndefined();
  expect(JSON.stringify(names(source.graph))).toBe(before); // the input is not modified
  validateModel(compact);

  const [a, b] = [names(source.graph), names(compact.graph)];
  expect(b.io).toEqual(a.io);
  expect(b.initializers).toEqual(a.initializers);
  expect(b.nodes).toEqual(a.nodes);
  const keptNames = new Set([...a.io, ...a.initializers, '']);
  for (const v of b.values) if (!keptNames.has(v)) expect(v).toMatch(/^v[0-9a-z]+$/);
  // Renaming is one-to-one: as many distinct values before as after.
  expect(new Set(b.values).size).toBe(new Set(a.values).size);

  const d = tmpDir();
  const [fa, fb] = [path.join(d, `a-${name}`), path.join(d, `b-${name}`)];
  saveModel(source, fa);
  saveModel(compact, fb);
  expect(fs.statSync(fb).size).toBeLessThanOrEqual(fs.statSync(fa).size);
  const feeds = syntheticInputs(source, { batch: 2, seed: 3 });
  const [ra, rb] = [await runOnce(fa, feeds, { noOptimize: true }), await runOnce(fb, feeds, { noOptimize: true })];
  expect(Object.keys(rb)).toEqual(Object.keys(ra));
  for (const k of Object.keys(ra)) expect(rb[k]!.data).toEqual(ra[k]!.data);
}

describe('compactValueNames', () => {
  it.each(FILES)('renames the intermediates of %s and onnxruntime gives the same outputs', async (file) => {
    await checkCompaction(path.basename(file), loadModel(modelPath(file)).model);
  });

  it('renames the values a subgraph reads from the enclosing graph consistently (If)', async () => {
    await checkCompaction('if.onnx', IF_MODEL);
  });

  it('keeps every name when the model names values in fields tbn passes through undecoded', () => {
    const m: Model = { ...IF_MODEL, trainingInfo: [{ __opaque: {} } as Opaque] };
    const r = compactValueNames(m);
    expect(r.model).toBe(m);
    expect(r.keptBecause).toMatch(/training_info/);
  });
});
