// The float16/bfloat16 boundary of the CUDA ops (custom-ops/src/cuda/convert_kernel.cu), compiled
// as C++ against the CPU emulation (test/gpu/emu, with its cuda_fp16.h/cuda_bf16.h stand-ins)
// and run on every float16 and bfloat16 bit pattern and on floats around every rounding case,
// against the TypeScript conversions of src/ir/dtype.ts. It checks the launchers' indexing
// (grid-stride past 4096 blocks, sizes not a multiple of a block) and the rounding the kernels
// ask for; the hardware's own conversions are checked by cuda-kernels.test.ts on a GPU.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat } from '../../src/ir/dtype.js';
import { ROOT } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';
import { Rng } from '../../src/util/random.js';
import { cxx, exec } from './helpers.js';

const CUDA = path.join(ROOT, 'custom-ops', 'src', 'cuda');
const EMU = path.join(ROOT, 'test', 'gpu', 'emu');
const KERNELS = path.join(ROOT, 'native', 'kernels');

// mode 0: half bits → float; 1: bfloat16 bits → float; 2: float → half bits; 3: float → bfloat16 bits.
const DRIVER = `
#include <cstdio>
#include <vector>
#include "convert_kernel.cuh"
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  const int mode = std::atoi(argv[1]);
  std::FILE *in = std::fopen(argv[2], "rb");
  std::vector<unsigned char> bytes;
  for (int c; (c = std::fgetc(in)) != EOF;) bytes.push_back(static_cast<unsigned char>(c));
  std::fclose(in);
  const tbn::CudaFloat type = mode % 2 == 0 ? tbn::CudaFloat::F16 : tbn::CudaFloat::BF16;
  std::vector<unsigned char> out;
  cudaError_t e;
  if (mode < 2) {
    const int64_t n = static_cast<int64_t>(bytes.size() / 2);
    out.resize(static_cast<size_t>(n) * 4);
    e = tbn::launch_tbn_to_float(nullptr, bytes.data(), type, reinterpret_cast<float *>(out.data()), n);
  } else {
    const int64_t n = static_cast<int64_t>(bytes.size() / 4);
    out.resize(static_cast<size_t>(n) * 2);
    e = tbn::launch_tbn_from_float(nullptr, reinterpret_cast<const float *>(bytes.data()), type, out.data(), n);
  }
  if (e != cudaSuccess) return 3;
  if (tbn::launch_tbn_to_float(nullptr, bytes.data(), tbn::CudaFloat::F32, nullptr, 1) != cudaErrorInvalidValue) return 4;
  std::FILE *o = std::fopen(argv[3], "wb");
  std::fwrite(out.data(), 1, out.size(), o);
  std::fclose(o);
  return 0;
}
`;

const compiler = cxx();

describe.skipIf(!compiler)('CUDA float16/bfloat16 conversion kernels on the CPU emulation', () => {
  // Each test builds in its own folder (tmpDir folders go after each test).
  let dir = '';
  let exe = '';
  const run = (mode: number, input: ArrayBufferView): Uint8Array => {
    if (!exe || !fs.existsSync(exe)) {
      dir = tmpDir('tbn-cuda-convert-');
      fs.writeFileSync(path.join(dir, 'driver.cc'), DRIVER);
      const target = path.join(dir, 'convert');
      const flags = ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-Wno-unknown-pragmas', '-include', path.join(EMU, 'cuda_emu.h'), `-I${path.join(EMU, 'include')}`, `-I${CUDA}`, `-I${KERNELS}`];
      const b = exec(compiler!, [...flags, '-x', 'c++', path.join(CUDA, 'convert_kernel.cu'), path.join(dir, 'driver.cc'), '-o', target], { timeout: 300_000 });
      if (b.status !== 0) throw new Error(`building the conversion driver failed:\n${b.err.slice(-3000)}`);
      exe = target;
    }
    const inFile = path.join(dir, `in${mode}`);
    const outFile = path.join(dir, `out${mode}`);
    fs.writeFileSync(inFile, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
    const r = exec(exe, [String(mode), inFile, outFile], { timeout: 300_000 });
    expect(r.status, r.err).toBe(0);
    return new Uint8Array(fs.readFileSync(outFile));
  };
  const same = (a: number, b: number) => (Number.isNaN(a) ? Number.isNaN(b) : Object.is(a, b));

  it('widens every float16 and bfloat16 bit pattern exactly', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    for (const [mode, widen] of [[0, halfToFloat], [1, bfloat16ToFloat]] as const) {
      const got = new Float32Array(run(mode, all).buffer);
      const bad = Array.from(all).filter((h) => !same(got[h]!, Math.fround(widen(h))));
      expect(bad.slice(0, 5), `mode ${mode}`).toEqual([]);
    }
  }, 300_000);

  it('rounds floats to nearest even (ties, subnormals, overflow), over 4096 blocks', () => {
    const rng = new Rng(4);
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const values: number[] = [0, -0, Infinity, -Infinity, 65504, 65519.99, 65520, 1e-8, 2.98e-8, 5.96e-8, 6.1e-5, 3.4e38];
    // Every half value, its neighbours and the midpoints (ties) between consecutive halves.
    for (let h = 0; h < 0x7c00; h++) {
      const a = halfToFloat(h);
      const b = halfToFloat(h + 1);
      values.push(a, -a, (a + b) / 2, -(a + b) / 2, a + (b - a) * 0.49, a + (b - a) * 0.51);
    }
    // Random bit patterns (bfloat16 ties included: low 16 bits 0x8000).
    for (let i = 0; i < 900_000; i++) {
      u32[0] = (rng.int(0x10000) << 16) | (i % 4 === 0 ? 0x8000 : rng.int(0x10000));
      values.push(f32[0]!);
    }
    const input = Float32Array.from(values);
    for (const [mode, narrow] of [[2, floatToHalf], [3, floatToBfloat16]] as const) {
      const got = new Uint16Array(run(mode, input).buffer);
      const bad: string[] = [];
      input.forEach((v, i) => {
        const want = narrow(v);
        const nan = mode === 2 ? (want & 0x7c00) === 0x7c00 && (want & 0x3ff) !== 0 : (want & 0x7f80) === 0x7f80 && (want & 0x7f) !== 0;
        if (nan ? Number.isNaN(mode === 2 ? halfToFloat(got[i]!) : bfloat16ToFloat(got[i]!)) : got[i] === want) return;
        if (bad.length < 5) bad.push(`${v} → ${got[i]!.toString(16)} (want ${want.toString(16)})`);
      });
      expect(bad, `mode ${mode}`).toEqual([]);
    }
  }, 300_000);
});
