// The dependency rule of docs/design.md §4: src/engine knows nothing of ONNX, the IR, the data
// loaders or the CLI — every relative import of an engine file stays inside src/engine, and it
// imports no package (a native backend added later must keep the same surface).

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/fixtures.js';

const ENGINE = path.join(ROOT, 'src', 'engine');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('engine import boundary', () => {
  const all = files(ENGINE);
  it('finds the engine sources', () => expect(all.length).toBeGreaterThan(10));
  for (const file of all) {
    it(path.relative(ENGINE, file), () => {
      const specs = [...fs.readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*from\s*'([^']+)'/g)].map((m) => m[1]!);
      for (const spec of specs) {
        if (spec.startsWith('node:')) continue;
        expect(spec.startsWith('.'), `${spec} is a package import`).toBe(true);
        const target = path.resolve(path.dirname(file), spec);
        expect(target.startsWith(ENGINE + path.sep), `${spec} leaves src/engine`).toBe(true);
      }
    });
  }
});
