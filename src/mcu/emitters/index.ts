// THE emitter table: every op the C export can emit, keyed like the lowered graph's nodes
// (ONNX op type; ai.tbn ops by their type). An op missing here is refused by name, with its
// node, before anything is written. To add an op: write its emitter in the family file (or a
// new one), add it here, add a kernel to the C runtime (native/mcu/tbn_kernels.{h,c}) if it needs one, and cover it in test/c.

import { CONV_EMITTERS } from './conv.js';
import { GATHER_TILED_EMITTERS } from './gather-tiled.js';
import { BINARY_EMITTERS, UNARY_EMITTERS } from './elementwise.js';
import { MATMUL_EMITTERS } from './matmul.js';
import { NORMALIZE_EMITTERS } from './normalize.js';
import { POOL_EMITTERS } from './pool.js';
import { SHAPE_EMITTERS } from './shape.js';
import type { OpEmitter } from './types.js';

export const EMITTERS: Readonly<Record<string, OpEmitter>> = {
  ...MATMUL_EMITTERS,
  ...CONV_EMITTERS,
  ...POOL_EMITTERS,
  ...UNARY_EMITTERS,
  ...BINARY_EMITTERS,
  ...NORMALIZE_EMITTERS,
  ...SHAPE_EMITTERS,
  ...GATHER_TILED_EMITTERS,
};

export const emitterFor = (op: string): OpEmitter | undefined => (Object.hasOwn(EMITTERS, op) ? EMITTERS[op] : undefined);

export type { ConstKind, EmitCtx, Emitted, OpEmitter } from './types.js';
