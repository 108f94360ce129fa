// Support files for the emulated Cortex-M4 (QEMU machine mps2-an386): a minimal startup
// (vector table, .data/.bss init, FPU on, SysTick for timing, stack painting, semihosting exit),
// a linker script whose memory sizes are parameters (QEMU's 4 MiB, or a part's budget, which
// the linker then enforces), and the main of a deployment-style image (no stdio) whose size
// is what a device would carry. Written into <out>/m4/.

export interface LinkerOptions {
  flashBytes: number;
  ramBytes: number;
  stackBytes: number;
}

/** QEMU mps2-an386: 4 MiB of ZBT SRAM at 0 (code), 4 MiB at 0x20000000 (data). */
export const QEMU_MEMORY: LinkerOptions = { flashBytes: 4 << 20, ramBytes: 4 << 20, stackBytes: 4 << 10 };

export function linkerScript(o: LinkerOptions): string {
  return `/* mps2_an386.ld — memory layout for the Cortex-M4 image (QEMU machine mps2-an386).
 * FLASH ${o.flashBytes} bytes at 0, RAM ${o.ramBytes} bytes at 0x20000000; the stack (${o.stackBytes} bytes) sits at
 * the top of RAM as its own section, so arm-none-eabi-size counts it with .bss and the linker
 * refuses an image that does not fit. The heap (newlib malloc, used by printf in the test
 * image only) runs from the end of .bss up to the stack. */
MEMORY
{
    FLASH (rx)  : ORIGIN = 0x00000000, LENGTH = ${o.flashBytes}
    RAM   (rwx) : ORIGIN = 0x20000000, LENGTH = ${o.ramBytes}
}

STACK_SIZE = ${o.stackBytes};
ENTRY(tbn_m4_reset)

SECTIONS
{
    .text : {
        KEEP(*(.vectors))
        *(.text*)
        . = ALIGN(4);
    } > FLASH
    .rodata : {
        *(.rodata*)
        . = ALIGN(4);
    } > FLASH
    .ARM.exidx : { *(.ARM.exidx*) } > FLASH
    .data : {
        __data_start = .;
        *(.data*)
        . = ALIGN(4);
        __data_end = .;
    } > RAM AT > FLASH
    __data_load = LOADADDR(.data);
    .bss (NOLOAD) : {
        __bss_start = .;
        *(.bss*)
        *(COMMON)
        . = ALIGN(4);
        __bss_end = .;
    } > RAM
    . = ALIGN(8);
    end = .;
    _end = .;
    .stack (ORIGIN(RAM) + LENGTH(RAM) - STACK_SIZE) (NOLOAD) : {
        __stack_limit = .;
        . += STACK_SIZE;
        __stack_top = .;
    } > RAM
}
`;
}

export const M4_HEADER = String.raw`/* tbn_m4.h — timing and stack measurement on the emulated Cortex-M4 (tbn_m4.c). */
#ifndef TBN_M4_H
#define TBN_M4_H

#include <stdint.h>

/* SysTick ticks since reset (24-bit counter extended by its wrap interrupt). */
uint64_t tbn_m4_ticks(void);
/* SysTick ticks per executed instruction, measured on a loop of known length. Under QEMU's
 * -icount the clock advances per instruction, so ticks / this = instructions. */
float tbn_m4_ticks_per_instruction(void);
/* Bytes of stack ever used (the stack is painted at reset). */
uint32_t tbn_m4_stack_used(void);
/* Ends the program through semihosting with an exit code. */
void tbn_m4_exit(int code);

#endif
`;

export const M4_STARTUP = String.raw`/* tbn_m4.c — minimal startup for the Cortex-M4 image on QEMU mps2-an386: vector table,
 * .data copy and .bss clear, FPU enable, SysTick as a tick counter, stack painting, and
 * semihosting exit. Built with -DTBN_M4_LIBC when newlib (rdimon) provides stdio and exit. */
#include "tbn_m4.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];
extern int main(void);
void tbn_m4_reset(void);

#ifdef TBN_M4_LIBC
extern void initialise_monitor_handles(void);
extern void exit(int code);
#endif

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define STACK_PAINT 0xA5A5A5A5u

static volatile uint32_t systick_wraps;

static void semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

void tbn_m4_exit(int code)
{
    /* SYS_EXIT_EXTENDED: reason ADP_Stopped_ApplicationExit, then the exit code */
    const uint32_t block[2] = { 0x20026u, (uint32_t)code };
    semihost(0x20u, block);
    for (;;) {
    }
}

static void fault_handler(void)
{
    semihost(0x04u, "tbn_m4: fault\n"); /* SYS_WRITE0 */
    tbn_m4_exit(3);
}

static void systick_handler(void)
{
    ++systick_wraps;
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top, tbn_m4_reset, fault_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0, fault_handler, systick_handler,
};

void tbn_m4_reset(void)
{
    uint32_t *src = __data_load, *dst = __data_start;
    uint32_t *sp;
    while (dst < __data_end) *dst++ = *src++;
    for (dst = __bss_start; dst < __bss_end;) *dst++ = 0;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (dst = __stack_limit; dst < sp - 16;) *dst++ = STACK_PAINT;
    CPACR |= 0xFu << 20; /* CP10, CP11: full access to the FPU */
    __asm volatile("dsb\n\tisb");
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt on wrap, enabled */
#ifdef TBN_M4_LIBC
    initialise_monitor_handles();
    exit(main());
#else
    tbn_m4_exit(main());
#endif
}

uint64_t tbn_m4_ticks(void)
{
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return ((uint64_t)wraps << 24) + (0xFFFFFFu - value);
}

float tbn_m4_ticks_per_instruction(void)
{
    uint32_t n = 1000000u;
    const uint64_t t0 = tbn_m4_ticks();
    __asm volatile("1:\n\tsubs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc"); /* 2 instructions per pass */
    return (float)(tbn_m4_ticks() - t0) / 2000000.0f;
}

uint32_t tbn_m4_stack_used(void)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == STACK_PAINT) ++p;
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}
`;

/** main() of the deployment-style image: one inference on zero inputs, no stdio. */
export function appMain(name: string, inputs: { ctype: string; macro: string }[], outputs: { ctype: string; macro: string }[]): string {
  const decl = (io: { ctype: string; macro: string }, i: number, dir: string) => `static ${io.ctype} ${dir}${i}[${io.macro}];`;
  const args = [...inputs.map((_, i) => `in${i}`), ...outputs.map((_, i) => `out${i}`)].join(', ');
  return `/* app_main.c — a deployment-style image: the model, the kernels it calls and the startup,
 * nothing else (no stdio). arm-none-eabi-size on it gives the flash and RAM a device needs. */
#include "../${name}.h"

${inputs.map((io, i) => decl(io, i, 'in')).join('\n')}
${outputs.map((io, i) => decl(io, i, 'out')).join('\n')}

int main(void)
{
    ${name}_run(${args});
    return out0[0] != out0[0]; /* 1 if NaN: keeps the result alive */
}
`;
}
