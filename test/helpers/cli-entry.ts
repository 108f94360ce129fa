// Runs the CLI from the TypeScript sources in a child process (node --import tsx …), for
// tests that need a real process: signals, exit codes set by the runtime.
import { main } from '../../src/cli/main.js';

await main(process.argv);
