// The characters a CTC output's classes stand for, to compare its decode with the true text:
// `--charset FILE` (one token per line, PaddleOCR's dictionary format) or the model's metadata
// (`charset`/`character`/`vocabulary`: a JSON array, newline-separated tokens, or one character
// per code point). Lined up with the classes around the blank: C − 1 tokens skip the blank's
// index; C tokens are taken as they are; C − 2 tokens with blank 0 is PaddleOCR with
// use_space_char (a space is appended).

import fs from 'node:fs';
import { UserError } from '../errors.js';
import type { Model } from '../ir/types.js';

const META_KEYS = ['charset', 'character', 'vocabulary'];

function splitTokens(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const list = JSON.parse(trimmed) as unknown;
      if (Array.isArray(list) && list.every((x) => typeof x === 'string')) return list as string[];
    } catch {
      // not JSON: the other forms
    }
  }
  if (text.includes('\n')) return text.replace(/\r/g, '').split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  return [...text];
}

/** Tokens by class index ('' at the blank), and where they came from; undefined without a charset. */
export function resolveCharset(model: Model, classes: number, blank: number, file?: string): { tokens: string[]; source: string; note?: string } | undefined {
  let tokens: string[];
  let source: string;
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      throw new UserError(`--charset ${file}: cannot read the file`);
    }
    tokens = text.replace(/\r/g, '').split('\n');
    if (tokens[tokens.length - 1] === '') tokens.pop();
    source = file;
  } else {
    const meta = model.metadataProps?.find((p) => p.key && META_KEYS.includes(p.key));
    if (!meta?.value) return undefined;
    tokens = splitTokens(meta.value);
    source = `the model's metadata '${meta.key}'`;
  }
  let note: string | undefined;
  if (tokens.length === classes - 2 && blank === 0) {
    tokens = [...tokens, ' '];
    note = `${source} has ${classes - 2} tokens for ${classes} classes: a space appended (PaddleOCR's use_space_char)`;
  }
  if (tokens.length === classes) return { tokens: tokens.map((t, i) => (i === blank ? '' : t)), source, note };
  if (tokens.length === classes - 1) return { tokens: [...tokens.slice(0, blank), '', ...tokens.slice(blank)], source, note };
  throw new UserError(`${file ? `--charset ${file}` : source}: ${tokens.length} tokens for an output of ${classes} classes (blank ${blank}); expected ${classes - 1} or ${classes}`);
}
