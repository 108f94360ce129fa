// The ONNX interpreter: graph IR → an engine program that runs forward and backward.

export { compile, type CompileOptions } from './compile.js';
export { Program, type Producer, type RunOptions, type RunResult, type InputInfo, type PlanInfo } from './program.js';
export type { BatchStats } from './registry.js';
export { fromHost, toHost } from './host.js';
export { SUPPORTED_OPS } from './ops/index.js';
export { checkSupport } from './support.js';
