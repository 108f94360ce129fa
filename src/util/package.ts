// tbn's own package: its root folder (where native/, build/ and package.json live, both from
// src/ under tsx and from dist/ in an install) and the version in its package.json, the one
// place the version is written.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Manifest {
  name?: string;
  version?: string;
}

let found: { root: string; manifest: Manifest } | undefined;

function locate(): { root: string; manifest: Manifest } {
  if (found) return found;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    try {
      const manifest = JSON.parse(fs.readFileSync(pkg, 'utf8')) as Manifest;
      if (manifest.name === 'tbn') return (found = { root: dir, manifest });
    } catch {
      // no or unreadable package.json here: keep looking upwards
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the tbn package root (no package.json named tbn above this module)');
    dir = up;
  }
}

/** The package root: the nearest folder above this module with tbn's package.json. */
export const packageRoot = (): string => locate().root;

/** tbn's version, from its package.json. */
export function packageVersion(): string {
  const v = locate().manifest.version;
  if (!v) throw new Error(`tbn's package.json (${path.join(locate().root, 'package.json')}) has no version`);
  return v;
}
