// The MCU kernel runtime as the C files it is (native/mcu, with the shared headers from
// native/kernels): it compiles on its own, warnings as errors, for the host and the Cortex-M4,
// and an export carries every file it includes.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelFiles, kernelSource } from '../../src/mcu/kernel-runtime.js';
import { ARM_FLAGS, findTool, HOST_FLAGS, hostCompiler, run } from '../../src/mcu/toolchain.js';
import { tmpDir } from '../helpers/tmp.js';
import { hasArm, hasCC } from './tools.js';

const compileRuntime = (cc: string, flags: string[]) => {
  const obj = path.join(tmpDir('tbn-mcu-rt-'), 'tbn_kernels.o');
  const include = path.dirname(kernelSource('tbn_tile_math.h'));
  return run(cc, [...flags, '-pedantic', `-I${include}`, '-c', kernelSource('tbn_kernels.c'), '-o', obj]);
};

describe('the MCU kernel runtime', () => {
  it('includes only files the export carries', () => {
    const files = kernelFiles();
    for (const [name, text] of Object.entries(files)) {
      for (const m of text.matchAll(/#include "([^"]+)"/g)) expect(Object.keys(files), `${name} includes ${m[1]}`).toContain(m[1]);
    }
  });

  it.skipIf(!hasCC())('compiles for the host with -Wall -Wextra -Werror -pedantic', () => {
    const r = compileRuntime(hostCompiler()!, HOST_FLAGS);
    expect(r.code, r.stderr).toBe(0);
  });

  it.skipIf(!hasArm())('compiles for the Cortex-M4 with -Wall -Wextra -Werror -pedantic', () => {
    const r = compileRuntime(findTool('arm-none-eabi-gcc')!, ARM_FLAGS);
    expect(r.code, r.stderr).toBe(0);
  });
});
