// The engine's public surface: tensors and their lifetimes, the tape, ops, losses and
// optimisers. Importing it registers the default backend: native when built (or as
// TBN_BACKEND=js|native says), else the TypeScript one (backends/native-select.ts).

import './backends/js.js';
import './backends/native-select.js';

export { getBackend, setBackend, withBackend, type Backend, type Buf } from './backend.js';
export { JsBackend } from './backends/js.js';
export { NativeBackend } from './backends/native.js';
export { createBackend, nativeBackend } from './backends/native-select.js';
export type { DType, HostArray } from './dtype.js';
export { Tensor, empty, full, zeros, ones, scalar, tensor, parameter, numel, type Tiling } from './tensor.js';
export { tidy, keep } from './scope.js';
export { backward, noGrad, isGradEnabled, releaseGraph, type BackwardOptions } from './autograd.js';
export * from './ops/elementwise.js';
export { expand, identity, sumToShape } from './ops/broadcast.js';
export { matmul, mm, gemm } from './ops/matmul.js';
export { conv, convTranspose, type ConvOptions, type ConvTransposeOptions } from './ops/conv.js';
export { maxPool, avgPool, globalAvgPool, globalMaxPool, poolOutSize, type PoolOptions } from './ops/pool.js';
export { sum, mean, max, min, prod, argMax, argMin } from './ops/reduce.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { layerNorm, batchNorm, batchNormTrain, channelAffine } from './ops/norm.js';
export { reshape, transpose, slice, concat, split, pad, gather, scatterAdd, squeeze, unsqueeze, flatten, tile } from './ops/shape-ops.js';
export { mseLoss, klDistillLoss, crossEntropyLoss, binaryKlLoss, cosineLoss } from './losses.js';
export { Adam, AdamW, cosineSchedule, oneCycleSchedule, type AdamOptions, type Schedule } from './optim.js';
