// The test harness written next to the model: reference vectors from onnxruntime as C arrays
// (<name>_test_data.{h,c}), a checker (<name>_test.c) that runs the C model on them and
// compares every output (max |error| ≤ 1e-4 × the output's scale = its largest |reference|),
// and a Makefile: `make test` on the host, `make m4-test` on QEMU, `make m4-app` for the
// deployment image. The same C runs on both; on the M4 it also counts instructions.

import { cArrayBody, cText, type CType } from './c-text.js';
import type { IoInfo } from './codegen.js';
import { ARM_FLAGS, HOST_FLAGS, QEMU_ARGS } from './toolchain.js';

export interface ReferenceSet {
  /** Where the inputs came from, for the report. */
  source: string;
  samples: number;
  /** Per model input: all samples, flattened. */
  inputs: ArrayLike<number | bigint>[];
  /** Per model output: onnxruntime's values for all samples, flattened. */
  outputs: Float32Array[];
  labels?: number[];
}

/** Relative tolerance: max |C − onnxruntime| ≤ TOLERANCE × max |onnxruntime| per output. */
export const TOLERANCE = 1e-4;

const ctypeOf = (io: IoInfo): CType => (io.ctype === 'int64_t' ? 'int64_t' : io.ctype === 'int32_t' ? 'int32_t' : 'float');

export function testData(name: string, ref: ReferenceSet, inputs: IoInfo[], outputs: IoInfo[]): Record<string, string> {
  const NAME = name.toUpperCase();
  const arrays: { sym: string; ctype: CType; data: ArrayLike<number | bigint>; what: string }[] = [
    ...inputs.map((io, i) => ({ sym: `${name}_test_input${i}`, ctype: ctypeOf(io), data: ref.inputs[i]!, what: `input '${io.name}'` })),
    ...outputs.map((io, i) => ({ sym: `${name}_test_output${i}`, ctype: 'float' as CType, data: ref.outputs[i]!, what: `onnxruntime's output '${io.name}'` })),
    ...(ref.labels ? [{ sym: `${name}_test_labels`, ctype: 'int32_t' as CType, data: ref.labels, what: 'labels' }] : []),
  ];
  const header = [
    `/* ${name}_test_data.h — reference vectors: ${cText(ref.source)}, outputs from onnxruntime. */`,
    `#ifndef ${NAME}_TEST_DATA_H`,
    `#define ${NAME}_TEST_DATA_H`,
    '#include <stdint.h>',
    `#define ${NAME}_TEST_SAMPLES ${ref.samples}`,
    ...arrays.map((a) => `extern const ${a.ctype} ${a.sym}[${a.data.length}]; /* ${cText(a.what)} */`),
    '#endif',
    '',
  ].join('\n');
  const body = [
    `/* ${name}_test_data.c — ${ref.samples} reference samples: ${cText(ref.source)}. */`,
    `#include "${name}_test_data.h"`,
    '',
    ...arrays.flatMap((a) => [`const ${a.ctype} ${a.sym}[${a.data.length}] = ${cArrayBody(a.ctype, a.data)};`, '']),
  ].join('\n');
  return { [`${name}_test_data.h`]: header, [`${name}_test_data.c`]: body };
}

export function testMain(name: string, inputs: IoInfo[], outputs: IoInfo[], hasLabels: boolean): string {
  const NAME = name.toUpperCase();
  const runArgs = [...inputs.map((io, i) => `${name}_test_input${i} + s * ${io.macro}`), ...outputs.map((_, i) => `out${i}`)].join(', ');
  const perOutput = outputs.map(
    (io, i) => `        check(out${i}, ${name}_test_output${i} + s * ${io.macro}, ${io.macro}, &err[${i}], &scale[${i}], &nan[${i}]);`,
  );
  const report = outputs.map(
    (io, i) =>
      `    printf("tbn-test: output=%d name=%s max_abs_err=%.3e scale=%.6e\\n", ${i}, "${cText(io.name).replace(/["\\]/g, '_')}", (double)err[${i}], (double)scale[${i}]);\n` +
      `    ok = ok && !nan[${i}] && err[${i}] <= ${TOLERANCE}f * (scale[${i}] > 0.0f ? scale[${i}] : 1.0f);`,
  );
  const o0 = outputs[0]!;
  return `/* ${name}_test.c — runs ${name}_run on the reference vectors and compares every output with
 * onnxruntime's: PASS when max |error| <= ${TOLERANCE} x the output's scale (its largest |value|).
 * Prints "tbn-test:" lines that tbn export reads. Host: make test. Cortex-M4: make m4-test. */
#include <math.h>
#include <stdio.h>

#include "${name}.h"
#include "${name}_test_data.h"
#ifdef TBN_M4
#include "m4/tbn_m4.h"
#endif

/* TBN_TEST_LIMIT=n runs only the first n samples (the emulator is slower than the host). */
#ifndef TBN_TEST_LIMIT
#define TBN_TEST_LIMIT ${NAME}_TEST_SAMPLES
#endif

${outputs.map((io, i) => `static float out${i}[${io.macro}];`).join('\n')}

static void check(const float *got, const float *want, int n, float *err, float *scale, int *nan)
{
    int i;
    for (i = 0; i < n; ++i) {
        const float d = fabsf(got[i] - want[i]);
        if (d != d) *nan = 1;
        else if (d > *err) *err = d;
        if (fabsf(want[i]) > *scale) *scale = fabsf(want[i]);
    }
}

static int argmax(const float *v, int n)
{
    int i, best = 0;
    for (i = 1; i < n; ++i)
        if (v[i] > v[best]) best = i;
    return best;
}

int main(void)
{
    const int samples = TBN_TEST_LIMIT < ${NAME}_TEST_SAMPLES ? TBN_TEST_LIMIT : ${NAME}_TEST_SAMPLES;
    float err[${outputs.length}] = {0}, scale[${outputs.length}] = {0};
    int nan[${outputs.length}] = {0};
    int s, ok = 1, agree = 0, correct = 0;
#ifdef TBN_M4
    uint64_t ticks = 0;
    const float per_insn = tbn_m4_ticks_per_instruction();
#endif
    for (s = 0; s < samples; ++s) {
#ifdef TBN_M4
        const uint64_t t0 = tbn_m4_ticks();
#endif
        ${name}_run(${runArgs});
#ifdef TBN_M4
        ticks += tbn_m4_ticks() - t0;
#endif
${perOutput.join('\n')}
        agree += argmax(out0, ${o0.macro}) == argmax(${name}_test_output0 + s * ${o0.macro}, ${o0.macro});
${hasLabels ? `        correct += argmax(out0, ${o0.macro}) == ${name}_test_labels[s];` : ''}
    }
${report.join('\n')}
    printf("tbn-test: samples=%d top1_agree=%d labels=${hasLabels ? 1 : 0} label_correct=%d\\n", samples, agree, correct);
#ifdef TBN_M4
    printf("tbn-test: ticks_per_inference=%.1f ticks_per_instruction=%.6f instructions_per_inference=%.0f stack_used=%u\\n",
           (double)ticks / samples, (double)per_insn, (double)ticks / samples / (double)per_insn, (unsigned)tbn_m4_stack_used());
#endif
    printf("tbn-test: %s\\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
`;
}

export function makefile(name: string): string {
  const model = `${name}.c ${name}_weights.c tbn_kernels.c`;
  return `# make test: compile with the host C compiler and check against onnxruntime's
# reference vectors. make m4-test: the same on an emulated Cortex-M4 (QEMU mps2-an386, semihosting).
# make m4-app: the deployment-style image (model + kernels + startup) and its flash/RAM.
CC ?= cc
CFLAGS ?= ${HOST_FLAGS.join(' ')}
ARM_CC ?= arm-none-eabi-gcc
ARM_FLAGS ?= ${ARM_FLAGS.join(' ')}
QEMU ?= qemu-system-arm
M4_TEST_LIMIT ?= 10

MODEL = ${model}

.PHONY: test m4-test m4-app clean

test: ${name}_test
\t./${name}_test

${name}_test: $(MODEL) ${name}_test.c ${name}_test_data.c ${name}.h tbn_kernels.h tbn_tile_math.h tbn_act_math.h ${name}_test_data.h
\t$(CC) $(CFLAGS) -o $@ $(MODEL) ${name}_test.c ${name}_test_data.c -lm

${name}_m4_test.elf: $(MODEL) ${name}_test.c ${name}_test_data.c m4/tbn_m4.c m4/mps2_an386.ld
\t$(ARM_CC) $(ARM_FLAGS) -DTBN_M4 -DTBN_M4_LIBC -DTBN_TEST_LIMIT=$(M4_TEST_LIMIT) --specs=rdimon.specs -nostartfiles -T m4/mps2_an386.ld -Wl,--gc-sections -o $@ $(MODEL) ${name}_test.c ${name}_test_data.c m4/tbn_m4.c -lm

m4-test: ${name}_m4_test.elf
\t$(QEMU) ${QEMU_ARGS.join(' ')} -kernel $<

${name}_m4_app.elf: $(MODEL) m4/app_main.c m4/tbn_m4.c m4/mps2_an386.ld
\t$(ARM_CC) $(ARM_FLAGS) --specs=nano.specs --specs=nosys.specs -nostartfiles -T m4/mps2_an386.ld -Wl,--gc-sections -o $@ $(MODEL) m4/app_main.c m4/tbn_m4.c -lm

m4-app: ${name}_m4_app.elf
\tarm-none-eabi-size $<

clean:
\trm -f ${name}_test ${name}_m4_test.elf ${name}_m4_app.elf
`;
}
