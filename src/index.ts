// tbn as a library: what each command does, with the options the CLI declares for it
// (src/pipeline/<command>-options.ts) and the reports it prints. `package.json` "main".

export { compressModel, type CompressOptions, type CompressReport, type ProgressEvent } from './pipeline/compress.js';
export { verifyModels, type VerifyOptions, type VerifyReport } from './pipeline/verify.js';
export { inspectModel, inspectWithSensitivity, type InspectOptions, type InspectReport } from './pipeline/inspect.js';
export { exportModel, type ExportOptions, type ExportReport } from './pipeline/export.js';
export { UserError, UsageError, ThresholdError } from './errors.js';
export { runCli } from './cli/main.js';
