// Text labels for sequence (CTC) outputs in array files: a `text` key holding Unicode code
// points, uint32/int32/int64 [N, L], zero-padded on the right (numpy: one row per sample of
// ord(c) values). Read by rows like the inputs: only the batch's rows are decoded. Folder data
// sets get theirs from labels.txt / CSV (files.ts, media.ts).

import { UserError } from '../errors.js';
import type { RowSource } from './rows.js';

export const TEXT_KEY = 'text';

const CODE_TYPES = ['uint32', 'int32', 'int64', 'uint16', 'uint8'];

/** Reads the texts of the samples at `indices`. */
export type TextReader = (indices: ArrayLike<number>) => string[];

/**
 * Removes the text key from `arrays` (unless a model input or output has that name) and
 * returns a reader of its rows, or undefined when there is none. The header is checked now.
 */
export function takeTextLabels(arrays: Map<string, RowSource>, file: string, reserved: readonly string[]): { rows: number; read: TextReader } | undefined {
  const t = arrays.get(TEXT_KEY);
  if (!t || reserved.includes(TEXT_KEY)) return undefined;
  if (!CODE_TYPES.includes(t.dtype) || t.dims.length !== 2) {
    throw new UserError(`${file}:${TEXT_KEY}: text labels must be integer Unicode code points of shape (N, L), zero-padded; found ${t.dtype} (${t.dims.join(', ')})`);
  }
  arrays.delete(TEXT_KEY);
  const width = t.dims[1]!;
  const read: TextReader = (indices) => {
    const codes = t.read(indices).data;
    return Array.from(indices, (row, i) => {
      const chars: number[] = [];
      for (let j = 0; j < width; j++) {
        const c = Number(codes[i * width + j]);
        if (c === 0) break;
        if (!(c > 0 && c <= 0x10ffff)) throw new UserError(`${file}:${TEXT_KEY}: row ${row} holds ${c}, not a Unicode code point`);
        chars.push(c);
      }
      return String.fromCodePoint(...chars);
    });
  };
  return { rows: t.dims[0]!, read };
}
