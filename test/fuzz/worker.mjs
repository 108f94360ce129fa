// Runs CLI invocations for the fuzz suite inside a worker thread, one at a time, and reports
// exit code and captured output. The parent enforces the time limit (terminate) and the heap
// limit (resourceLimits). Plain JS: tsx's tsImport loads the TypeScript sources.
import { parentPort } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { runCli } = await tsImport('../../src/cli/main.ts', import.meta.url);

parentPort.on('message', async (msg) => {
  let stdout = '';
  let stderr = '';
  const started = performance.now();
  let code;
  try {
    code = await runCli(msg.argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), interactive: false });
  } catch (e) {
    code = -1;
    stderr += `runCli threw: ${e instanceof Error ? e.stack : e}`;
  }
  parentPort.postMessage({ id: msg.id, code, stdout, stderr: stderr.slice(0, 4000), ms: performance.now() - started });
});
