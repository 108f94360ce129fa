// The kernel runtime copied verbatim into every export. The C lives in real files shipped with
// the package (native/mcu: tbn_kernels.{h,c}), and the tile bit and activation math they
// include come from native/kernels, the headers the CPU and CUDA kernels use; the export gets
// copies, so its folder is self-contained C99. Read once, from the package root (the same
// from src/ under tsx and from dist/ in an install).

import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { packageRoot } from '../util/package.js';

/** Export file name → where it comes from, relative to the package root. */
const SOURCES = {
  'tbn_kernels.h': 'native/mcu/tbn_kernels.h',
  'tbn_kernels.c': 'native/mcu/tbn_kernels.c',
  'tbn_tile_math.h': 'native/kernels/tbn_tile_math.h',
  'tbn_act_math.h': 'native/kernels/tbn_act_math.h',
} as const;

export type KernelFile = keyof typeof SOURCES;

let cached: Record<KernelFile, string> | undefined;

/** The runtime's files by the name they get in the export. */
export function kernelFiles(): Record<KernelFile, string> {
  if (cached) return cached;
  const root = packageRoot();
  const files = {} as Record<KernelFile, string>;
  for (const [name, rel] of Object.entries(SOURCES) as [KernelFile, string][]) {
    const file = path.join(root, rel);
    if (!fs.existsSync(file)) throw new UserError(`tbn's MCU kernel runtime is incomplete: ${file} is missing (reinstall tbn)`);
    files[name] = fs.readFileSync(file, 'utf8');
  }
  return (cached = files);
}

/** Where a runtime file lives in the package (for tests that compile it in place). */
export const kernelSource = (name: KernelFile): string => path.join(packageRoot(), SOURCES[name]);
