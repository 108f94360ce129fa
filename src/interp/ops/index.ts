// The whole op table, assembled from the family files; adding an op means adding one entry
// to a family (with its check and kernel) and a test case that exercises it.

import type { OpTable } from '../registry.js';
import { ELEMENTWISE_OPS } from './elementwise.js';
import { EINSUM_OPS } from './einsum.js';
import { INDEXING_OPS } from './indexing.js';
import { LOSS_OPS } from './loss.js';
import { RESIZE_OPS } from './resize.js';
import { SCATTER_OPS } from './scatter.js';
import { MATH_OPS } from './math.js';
import { NN_OPS } from './nn.js';
import { QUANTIZE_OPS } from './quantize.js';
import { RECURRENT_OPS } from './recurrent.js';
import { SHAPE_OPS } from './shape.js';
import { TENSOR_OPS } from './tensor.js';

export const OPS: OpTable = { ...ELEMENTWISE_OPS, ...MATH_OPS, ...NN_OPS, ...SHAPE_OPS, ...TENSOR_OPS, ...INDEXING_OPS, ...RESIZE_OPS, ...EINSUM_OPS, ...LOSS_OPS, ...SCATTER_OPS, ...QUANTIZE_OPS, ...RECURRENT_OPS };

export const SUPPORTED_OPS: readonly string[] = Object.keys(OPS).sort();
