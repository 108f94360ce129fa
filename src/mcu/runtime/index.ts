// The kernel runtime copied verbatim into every export (tbn_kernels.h / tbn_kernels.c). The C
// lives in TypeScript string modules so it ships inside the compiled package with no file
// lookups at run time; test/c compiles it on its own with -Wall -Wextra -Werror.

import { KERNELS_C_DENSE, KERNELS_C_HEAD } from './kernels-dense.js';
import { KERNELS_H } from './kernels-h.js';
import { KERNELS_C_MISC } from './kernels-misc.js';
import { KERNELS_C_TILED } from './kernels-tiled.js';

export const KERNEL_FILES = {
  'tbn_kernels.h': KERNELS_H,
  'tbn_kernels.c': KERNELS_C_HEAD + KERNELS_C_DENSE + KERNELS_C_TILED + KERNELS_C_MISC,
} as const;
