// Which backend the engine starts on: TBN_BACKEND=js|native picks one; unset, the native backend
// when tbn_engine.node loads, else the TypeScript backend with a single warning that says why
// (both backends compute the same numbers; native is only faster). createBackend() gives tests
// and benchmarks a backend of either kind explicitly.

import { registerDefaultBackend, type Backend } from '../backend.js';
import { loadNativeBinding } from '../native-binding.js';
import { JsBackend } from './js.js';
import { NativeBackend } from './native.js';

let warned = false;

function warnOnce(message: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(message, { code: 'TBN_NATIVE_BACKEND' });
}

let native: NativeBackend | undefined;

/** The native backend (one per process: it owns the native buffer table), or why there is none. */
export function nativeBackend(): { backend: NativeBackend; error?: undefined } | { backend?: undefined; error: string } {
  if (native) return { backend: native };
  const load = loadNativeBinding();
  if (!load.binding) return { error: load.error };
  try {
    native = new NativeBackend(load.binding);
    return { backend: native };
  } catch (e) {
    return { error: `${load.path}: ${(e as Error).message}` };
  }
}

/** A backend of the given kind; throws when the native one is not available. */
export function createBackend(kind: 'js' | 'native'): Backend {
  if (kind === 'js') return new JsBackend();
  const n = nativeBackend();
  if (!n.backend) throw new Error(`native engine backend unavailable: ${n.error}`);
  return n.backend;
}

/** The default backend as TBN_BACKEND and the build decide. */
export function defaultBackend(): Backend {
  const want = (process.env.TBN_BACKEND ?? '').trim().toLowerCase();
  if (want === 'js') return new JsBackend();
  if (want && want !== 'native') warnOnce(`TBN_BACKEND=${process.env.TBN_BACKEND} is not 'js' or 'native'; choosing by the build`);
  const n = nativeBackend();
  if (n.backend) return n.backend;
  warnOnce(`tbn: the native engine backend is unavailable, fine-tuning runs on the slower TypeScript backend (${n.error})`);
  return new JsBackend();
}

registerDefaultBackend(defaultBackend);
