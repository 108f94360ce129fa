#!/usr/bin/env node
// Builds tbn's native parts with CMake into build/Release (npm install runs this): the ai.tbn
// custom-op library and the Node host (custom-ops/CMakeLists.txt), and the engine's native
// backend tbn_engine.node (native/engine/CMakeLists.txt). Without CMake, a C++ compiler or
// Node's headers it prints one line and exits 0 — tbn works without them — except under
// CI=true, where any failure fails. One project failing does not stop the other. Flags:
//   --sanitize   ASan + UBSan build in build-asan/: of the kernels, the library and the
//                self-test; with --engine, of the engine addon only (its own CMake tree, so
//                both sanitizer builds can run at once)
//   --engine     build only the engine addon
//   --quiet      print only failures
// Env: TBN_SKIP_NATIVE=1 skips; CMAKE, CXX and npm_config_nodedir are honoured.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const sanitize = args.has('--sanitize');
const engineOnly = args.has('--engine');
const quiet = args.has('--quiet');
const ci = process.env.CI === 'true' || process.env.CI === '1';
const buildDir = path.join(root, sanitize ? 'build-asan' : 'build');
const cmake = process.env.CMAKE || 'cmake';

function done(message, ok) {
  if (!ok && ci) {
    console.error(`tbn native build failed: ${message}`);
    process.exit(1);
  }
  if (!ok || !quiet) console.log(ok ? message : `tbn native build skipped: ${message} (tbn works without it, slower and without the custom-op runtime)`);
  process.exit(0);
}

function found(cmd, argv = ['--version']) {
  const r = spawnSync(cmd, argv, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function nodeHeaders() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
  ].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

function addonHeaders() {
  try {
    const dir = createRequire(path.join(root, 'package.json'))('node-addon-api').include_dir;
    return fs.existsSync(path.join(dir, 'napi.h')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

const failures = [];

/** Runs cmake; on failure prints the log's tail, records the failure and returns false. */
function run(argv, label) {
  const r = spawnSync(cmake, argv, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) {
    const log = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    if (!quiet || ci) console.error(log);
    failures.push(`${label} failed${r.error ? ` (${r.error.message})` : ''}`);
    return false;
  }
  return true;
}

if (process.env.TBN_SKIP_NATIVE === '1' && !sanitize) done('TBN_SKIP_NATIVE=1', false);
if (!found(cmake)) done('CMake not found', false);
const cxx = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean).find((c) => found(c));
if (!cxx) done('no C++ compiler (c++, g++ or clang++) found', false);

const defs = [`-DCMAKE_BUILD_TYPE=${sanitize ? 'RelWithDebInfo' : 'Release'}`];
if (process.env.CXX === undefined) defs.push(`-DCMAKE_CXX_COMPILER=${cxx}`);
const node = nodeHeaders();
const napi = addonHeaders();
const headers = [`-DNODE_INCLUDE_DIR=${node}`, `-DNODE_ADDON_API_DIR=${napi}`];
const opsDefs = [...defs];
if (sanitize) {
  opsDefs.push('-DTBN_SANITIZE=ON', '-DTBN_TESTS=ON', '-DTBN_HOST=OFF');
} else if (!engineOnly) {
  if (!node || !napi) done(`${node ? 'node-addon-api' : "Node's C headers (node_api.h)"} not found`, false);
  opsDefs.push(...headers);
}

const start = Date.now();
const jobs = String(Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
if (!engineOnly && run(['-S', path.join(root, 'custom-ops'), '-B', buildDir, ...opsDefs], 'configuring (cmake)')) {
  run(['--build', buildDir, '--parallel', jobs], 'compiling');
}

// The engine's native backend: its own CMake project, writing into the same Release folder
// (--sanitize alone keeps to the custom-op build; --sanitize --engine builds this one).
if (engineOnly || !sanitize) {
  if (!node || !napi) failures.push(`engine addon: ${node ? 'node-addon-api' : "Node's C headers (node_api.h)"} not found`);
  else {
    const engineDir = path.join(buildDir, 'engine');
    const engineDefs = [...defs, ...headers, `-DTBN_OUT_DIR=${path.join(buildDir, 'Release')}`, ...(sanitize ? ['-DTBN_SANITIZE=ON'] : [])];
    if (run(['-S', path.join(root, 'native', 'engine'), '-B', engineDir, ...engineDefs], 'configuring the engine addon (cmake)')) {
      run(['--build', engineDir, '--parallel', jobs], 'compiling the engine addon');
    }
  }
}
if (failures.length) done(failures.join('; '), false);
done(`tbn native build: ${path.relative(root, path.join(buildDir, 'Release'))} ready in ${((Date.now() - start) / 1000).toFixed(1)} s`, true);
