// tbn as a library: package.json's "main" (the built dist/index.js, which npm install writes)
// loads and gives what the CLI prints — here, tbn inspect's report.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { modelPath, ROOT } from '../helpers/fixtures.js';
import { tbn } from './run.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string; types: string };
const built = fs.existsSync(path.join(ROOT, pkg.main));

describe.skipIf(!built && process.env.CI !== 'true')('the package entry point', () => {
  it('exports the commands, and inspectModel reports what tbn inspect --json prints', async () => {
    expect(fs.existsSync(path.join(ROOT, pkg.types))).toBe(true);
    const lib = (await import(pathToFileURL(path.join(ROOT, pkg.main)).href)) as typeof import('../../src/index.js');
    for (const f of ['compressModel', 'verifyModels', 'inspectModel', 'exportModel', 'runCli'] as const) expect(typeof lib[f]).toBe('function');
    const r = await tbn('inspect', modelPath('mnist-cnn.onnx'), '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(JSON.stringify(lib.inspectModel(modelPath('mnist-cnn.onnx'))))).toEqual(JSON.parse(r.stdout));
  });
});
