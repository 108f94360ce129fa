// λ chosen from the model: the largest tileable layers until they hold ≥ 90 % of the tileable
// weight bytes and the rest no more than they would at 1 bit per weight, never a layer under
// 1 024 parameters; inspect and compress agree on it.
import { describe, expect, it } from 'vitest';
import { inspectModel } from '../../../src/pipeline/inspect.js';
import { loadModel } from '../../../src/onnx/file.js';
import { selectLayers } from '../../../src/tbn/select.js';
import { AUTO_LAMBDA_FLOOR, chooseLambda } from '../../../src/tbn/sizes.js';
import { modelPath } from '../../helpers/fixtures.js';

const layer = (params: number) => ({ params, bytes: 4 * params });

describe('chooseLambda', () => {
  it('takes the largest layers until they hold 90 % of the bytes', () => {
    // 60 % + 25 % = 85 % < 90 %, + 10 % = 95 %: λ is the third layer's size; the last layer's
    // 20 kB are fewer than the 950 000 tiled weights at 1 bit (119 kB).
    const c = chooseLambda([layer(600_000), layer(100_000), layer(250_000), layer(5_000)]);
    expect(c).toMatchObject({ value: 100_000, auto: true, layersAtOrAbove: 3, layers: 4 });
    expect(c.bytesAtOrAbove / c.bytes).toBeCloseTo(0.995, 3);
    expect(c.reason).toMatch(/^λ = 100,000 \(chosen from the model\): the largest layers until they hold ≥ 90 %/);
  });

  it('tiles the large layers of a 330 k-parameter CNN that λ = 64 000 would leave alone', () => {
    // The audio CNN: 20 convs, the largest 27 648 parameters.
    const sizes = [27_648, 27_648, 27_648, 27_648, 24_576, 24_576, 24_576, 18_432, 18_432, 18_432, 16_384, 16_384, 12_288, 12_288, 9_216, 9_216, 4_608, 2_304, 1_152, 288];
    const c = chooseLambda(sizes.map(layer));
    expect(c.value).toBeLessThan(64_000);
    expect(c.value).toBeGreaterThanOrEqual(AUTO_LAMBDA_FLOOR);
    expect(c.bytesAtOrAbove / c.bytes).toBeGreaterThanOrEqual(0.9);
    expect(chooseLambda(sizes.map(layer), 64_000)).toMatchObject({ value: 64_000, auto: false, layersAtOrAbove: 0 });
  });

  it('goes on past 90 % while the fp32 rest outweighs the tiles at 1 bit per weight (a ViT-Tiny)', () => {
    // 12 blocks: fc1 and fc2 147 456 each, qkv 110 592, the output projection 36 864; patch
    // projection 9 408, head 1 920. At 90 % the twelve projections (1.77 MB fp32) would stay,
    // more than the 4.9 M tiled weights take at 1 bit (0.61 MB); with them tiled, the patch
    // projection and head (45 kB) do not.
    const vit = [...Array(24).fill(147_456), ...Array(12).fill(110_592), ...Array(12).fill(36_864), 9_408, 1_920].map(layer);
    expect(chooseLambda(vit)).toMatchObject({ value: 36_864, layersAtOrAbove: 48 });
    // The 90 % rule alone stopped at the qkv projections.
    const atQkv = chooseLambda(vit, 110_592);
    expect(atQkv.bytesAtOrAbove / atQkv.bytes).toBeGreaterThanOrEqual(0.9);
  });

  it('does not go on for the first layer alone (the ViT fixture keeps its patch projection)', () => {
    // vit-mnist: qkv, fc1, fc2 and proj of 3 blocks reach 96.5 %; the patch projection's 12.5 kB
    // are more than the 86 k tiled weights take at 1 bit (10.8 kB), but it is the stem.
    const vit = [...Array(3).fill(12_288), ...Array(6).fill(6_144), ...Array(3).fill(4_096)].map(layer);
    expect(chooseLambda([{ ...layer(3_136), first: true }, ...vit]).value).toBe(4_096);
    expect(chooseLambda([layer(3_136), ...vit]).value).toBe(3_136);
  });

  it('never goes under 1 024 parameters, and says so', () => {
    const c = chooseLambda([layer(3_000), layer(900), layer(800), layer(700)]);
    expect(c.value).toBe(3_000);
    expect(c.reason).toMatch(/every layer with ≥ 1,024 parameters/);
    expect(chooseLambda([layer(500)]).value).toBe(AUTO_LAMBDA_FLOOR);
    expect(chooseLambda([]).reason).toMatch(/no tileable layer/);
  });
});

describe.each(['mnist-mlp.onnx', 'mnist-cnn.onnx', 'mnist-resnet.onnx', 'tcn-1d.onnx', 'transformer-encoder.onnx', 'tf-style-opset11.onnx', 'fp16-weight.onnx'])(
  'inspect and compress on %s',
  (name) => {
    it('agree on λ and on the layers they would tile', () => {
      const report = inspectModel(modelPath(name));
      const sel = selectLayers(loadModel(modelPath(name)).model, { p: 1 });
      const inspectTiled = report.layers.filter((l) => !l.blocked && !l.underThreshold).map((l) => l.weight);
      expect(sel.chosen.map((c) => c.layer.source.name)).toEqual(inspectTiled);
      expect(report.lambda.auto).toBe(true);
    });
  },
);
