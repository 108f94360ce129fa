// Builds compressed models in memory (no fine-tuning) for tests of the format and kernels.
import type { Model } from '../../src/ir/types.js';
import { loadModel } from '../../src/onnx/file.js';
import { encodeModel } from '../../src/onnx/proto.js';
import { writeModel } from '../../src/onnx/write.js';
import { tileChoices } from '../../src/tbn/method.js';
import { rewriteModel, type OutputFormat, type TiledLayer } from '../../src/tbn/rewrite.js';
import { selectLayers, type SelectOptions } from '../../src/tbn/select.js';

export interface Compressed {
  original: Model;
  model: Model;
  bytes: Uint8Array;
  tiled: TiledLayer[];
}

export function compressInMemory(source: string | Model, format: OutputFormat, opts: SelectOptions = {}): Compressed {
  const original = typeof source === 'string' ? loadModel(source).model : source;
  const tiled = tileChoices(selectLayers(original, { minParams: 0, ...opts }).chosen, 'per-tile');
  const model = rewriteModel(original, tiled, { format });
  return { original, model, bytes: encodeModel(writeModel(model)), tiled };
}

export const toBytes = (m: Model) => encodeModel(writeModel(m));
