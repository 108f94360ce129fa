// Small shared pieces for the interpreter tests: fixture programs and host-side references.

import * as E from '../../../src/engine/index.js';
import { compile, type Program } from '../../../src/interp/index.js';
import type { Model } from '../../../src/ir/types.js';
import { loadModel } from '../../../src/onnx/file.js';
import { Rng } from '../../../src/util/random.js';
import { modelPath } from '../../helpers/fixtures.js';

export function fixture(file: string): { model: Model; program: Program } {
  const { model } = loadModel(modelPath(file));
  return { model, program: compile(model) };
}

export function randn(shape: number[], seed = 1, scale = 1): E.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return E.tensor(Float32Array.from({ length: n }, () => rng.normal() * scale), shape);
}

export const arr = (t: E.Tensor): number[] => Array.from(t.toArray());
