// npm run bench [-- name …] [--json]: runs every bench/*.bench.ts (or those whose file name
// contains one of the names), prints each section as a table, then all results as one JSON
// document (also saved to bench/results/latest.json).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderTable } from '../src/cli/ui.js';

export interface BenchSection {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];
  data: unknown;
}

export type BenchModule = { default: () => Promise<BenchSection[]> };

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const jsonOnly = args.includes('--json');
const filters = args.filter((a) => !a.startsWith('--'));
const files = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => !filters.length || filters.some((n) => f.includes(n)))
  .sort();

const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus()[0]?.model };
for (const f of files) {
  const mod = (await import(pathToFileURL(path.join(here, f)).href)) as BenchModule;
  const sections = await mod.default();
  for (const s of sections) {
    if (!jsonOnly) {
      process.stdout.write(`\n## ${s.title}\n\n${renderTable(s.columns, s.rows)}`);
      for (const n of s.notes ?? []) process.stdout.write(`${n}\n`);
    }
    results[s.title] = s.data;
  }
}
fs.mkdirSync(path.join(here, 'results'), { recursive: true });
fs.writeFileSync(path.join(here, 'results', 'latest.json'), JSON.stringify(results, null, 2));
process.stdout.write((jsonOnly ? '' : '\n') + JSON.stringify(results, null, 2) + '\n');
