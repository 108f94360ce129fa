// Text labels for sequence (CTC) outputs in array files: a `text` key holding Unicode code
// points, uint32/int32/int64 [N, L], zero-padded on the right (numpy: one row per sample of
// ord(c) values). Folder data sets get theirs from labels.txt / CSV.

import { UserError } from '../errors.js';
import type { HostTensor } from '../util/host-tensor.js';

export const TEXT_KEY = 'text';

/** Removes the text key from `arrays` and decodes it, or undefined when there is none. */
export function takeTextLabels(arrays: Map<string, HostTensor>, file: string, reserved: readonly string[]): string[] | undefined {
  const t = arrays.get(TEXT_KEY);
  if (!t || reserved.includes(TEXT_KEY)) return undefined;
  if (!['uint32', 'int32', 'int64', 'uint16', 'uint8'].includes(t.dtype) || t.dims.length !== 2) {
    throw new UserError(`${file}:${TEXT_KEY}: text labels must be integer Unicode code points of shape (N, L), zero-padded; found ${t.dtype} (${t.dims.join(', ')})`);
  }
  arrays.delete(TEXT_KEY);
  const [n, width] = t.dims as [number, number];
  const texts: string[] = [];
  for (let i = 0; i < n; i++) {
    const codes: number[] = [];
    for (let j = 0; j < width; j++) {
      const c = Number(t.data[i * width + j]);
      if (c === 0) break;
      if (!(c > 0 && c <= 0x10ffff)) throw new UserError(`${file}:${TEXT_KEY}: row ${i} holds ${c}, not a Unicode code point`);
      codes.push(c);
    }
    texts.push(String.fromCodePoint(...codes));
  }
  return texts;
}
