import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'fixtures');
export const modelPath = (name: string) => path.join(FIXTURES, 'models', name);
export const dataPath = (name: string) => path.join(FIXTURES, 'data', name);

/** The exported PyTorch fixtures (scripts/make_fixtures.py). */
export const TORCH_MODELS = [
  'mnist-mlp.onnx',
  'mnist-cnn.onnx',
  'mnist-resnet.onnx',
  'tcn-1d.onnx',
  'transformer-encoder.onnx',
] as const;

/** Old-opset exports (scripts/fixtures/exporters.py). */
export const EXPORTER_MODELS = ['exporters/torch-opset9.onnx', 'exporters/torch-opset11.onnx', 'exporters/tf-nhwc-opset10.onnx'] as const;
