import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src/onnx/file.js';
import { ATTENTION_EPOCHS, DEFAULT_EPOCHS, attentionNodes, defaultEpochs } from '../../../src/tbn/schedule.js';
import { modelPath } from '../../helpers/fixtures.js';

const load = (name: string) => loadModel(modelPath(name)).model;

describe('the default fine-tuning length', () => {
  it('finds the two activation × activation MatMuls of each attention block', () => {
    // vit-mnist: 3 blocks; transformer-encoder: 2 layers (scripts/make_fixtures.py).
    expect(attentionNodes(load('vit-mnist.onnx'))).toHaveLength(6);
    expect(attentionNodes(load('transformer-variants/text-nofold-opset17-dynamic.onnx')).length).toBeGreaterThanOrEqual(2);
    expect(defaultEpochs(load('vit-mnist.onnx')).epochs).toBe(ATTENTION_EPOCHS);
  });

  it('does not take a MatMul with a weight, a Conv net or an exported opset-9 graph for attention', () => {
    for (const name of ['mnist-mlp.onnx', 'mnist-cnn.onnx', 'mnist-resnet.onnx', 'tcn-1d.onnx', 'exporters/torch-opset9.onnx', 'exporters/tf-nhwc-opset10.onnx']) {
      expect(attentionNodes(load(name)), name).toEqual([]);
      expect(defaultEpochs(load(name))).toEqual({ epochs: DEFAULT_EPOCHS, reason: 'the default' });
    }
  });

  it('keeps --epochs as given', () => {
    expect(defaultEpochs(load('vit-mnist.onnx'), 7)).toEqual({ epochs: 7, reason: '--epochs' });
  });
});
