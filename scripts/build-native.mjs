#!/usr/bin/env node
// Builds tbn's native parts with CMake into build/Release (npm install runs this): the ai.tbn
// custom-op library and the Node host (custom-ops/CMakeLists.txt), and the engine's native
// backend tbn_engine.node (native/engine/CMakeLists.txt). Without CMake, a C++ compiler or
// Node's headers it prints one line and exits 0 — tbn works without them — except under
// CI=true, where any failure fails. One project failing does not stop the other. With nvcc
// (CUDACXX, PATH or /usr/local/cuda/bin) the library also gets the CUDA kernels (and their
// test/bench program build/Release/tbn_cuda_harness, from custom-ops/test/cuda); without, they
// are skipped with a note. Flags:
//   --sanitize   ASan + UBSan build in build-asan/: of the kernels, the library and the
//                self-test; with --engine, of the engine addon only (its own CMake tree, so
//                both sanitizer builds can run at once)
//   --engine     build only the engine addon
//   --quiet      print only failures
// Env: TBN_SKIP_NATIVE=1 skips; TBN_CUDA=0 leaves the CUDA kernels out; TBN_CUDA_ARCHS overrides
// the CUDA architectures ("80-real;90"); CMAKE, CXX, CUDACXX and npm_config_nodedir are honoured.
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

/** The CUDA compiler to build the kernels with, or why there is none. */
function cudaCompiler() {
  if (process.env.TBN_CUDA === '0') return { reason: 'TBN_CUDA=0' };
  const candidates = [process.env.CUDACXX, 'nvcc', '/usr/local/cuda/bin/nvcc'].filter(Boolean);
  const nvcc = candidates.find((c) => found(c));
  return nvcc ? { nvcc } : { reason: 'nvcc not found; set CUDACXX or put nvcc on PATH to build them' };
}

const failures = [];

/** Runs cmake; on failure prints the log's tail, records the failure and returns false. */
function run(argv, label, env = process.env) {
  const r = spawnSync(cmake, argv, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, env });
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
const cuda = sanitize ? { reason: 'not in the sanitizer build' } : cudaCompiler();
// nvcc goes to CMake as CUDACXX, which only a first configure reads: a later run finding nvcc
// by another path does not change the cached compiler (CMake would wipe the cache and fail).
const configureEnv = cuda.nvcc ? { ...process.env, CUDACXX: cuda.nvcc } : process.env;
if (cuda.nvcc) {
  opsDefs.push('-DTBN_CUDA=ON');
  if (process.env.TBN_CUDA_ARCHS) opsDefs.push(`-DTBN_CUDA_ARCHS=${process.env.TBN_CUDA_ARCHS}`);
} else {
  opsDefs.push('-DTBN_CUDA=OFF');
}
if (sanitize) {
  opsDefs.push('-DTBN_SANITIZE=ON', '-DTBN_TESTS=ON', '-DTBN_HOST=OFF');
} else if (!engineOnly) {
  if (!node || !napi) done(`${node ? 'node-addon-api' : "Node's C headers (node_api.h)"} not found`, false);
  opsDefs.push(...headers);
}

const start = Date.now();
const jobs = String(Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
if (!engineOnly && run(['-S', path.join(root, 'custom-ops'), '-B', buildDir, ...opsDefs], 'configuring (cmake)', configureEnv)) {
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
const cudaNote = engineOnly ? 'engine addon only' : cuda.nvcc ? 'with CUDA kernels' : `CUDA kernels skipped: ${cuda.reason}`;
done(`tbn native build: ${path.relative(root, path.join(buildDir, 'Release'))} ready in ${((Date.now() - start) / 1000).toFixed(1)} s (${cudaNote})`, true);
