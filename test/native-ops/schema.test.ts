// custom-ops/include/tbn_op_schema.h (what the C++ library registers and reads) says exactly
// what src/tbn/format.ts (the contract) says: domain, version, op names, input and output
// order, attribute names, kinds and defaults. Needs no build.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, OPS, TBN_DOMAIN, TBN_OPSET_VERSION, TBN_OPSET_VERSION_MIN, type OpAttr, type TbnOpName } from '../../src/tbn/format.js';
import { ROOT } from '../helpers/fixtures.js';

/** #define NAME value, with line continuations joined and adjacent string literals concatenated. */
function defines(file: string): Map<string, string> {
  const text = fs.readFileSync(file, 'utf8').replace(/\\\r?\n/g, ' ');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^#define[ \t]+(TBN_\w+)[ \t]+(.+)$/gm)) {
    const value = m[2]!.trim();
    const strings = [...value.matchAll(/"([^"]*)"/g)].map((s) => s[1]);
    out.set(m[1]!, strings.length ? strings.join('') : value.replace(/f$/, ''));
  }
  return out;
}

const header = defines(path.join(ROOT, 'custom-ops', 'include', 'tbn_op_schema.h'));
const KEYS: Record<string, TbnOpName> = { DECODE: 'TbnDecode', GEMM: 'TbnGemm', MATMUL: 'TbnMatMul', CONV: 'TbnConv', CONV_NHWC: 'TbnConvNhwc', CONV_MAX_POOL: 'TbnConvMaxPool' };
const attrSpec = (a: OpAttr) => `${a.name}:${a.kind}${a.default !== undefined ? `=${String(a.default)}` : ''}`;
const constName = (attr: string) => attr.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

describe('tbn_op_schema.h matches src/tbn/format.ts', () => {
  it('domain and version', () => {
    expect(header.get('TBN_DOMAIN')).toBe(TBN_DOMAIN);
    expect(Number(header.get('TBN_OPSET_VERSION'))).toBe(TBN_OPSET_VERSION);
  });

  it.each(Object.entries(KEYS))('%s: name, inputs, outputs, attributes', (key, op) => {
    const spec = OPS[op];
    expect(header.get(`TBN_OP_${key}`)).toBe(spec.name);
    expect(header.get(`TBN_${key}_INPUTS`)).toBe(spec.inputs.join(','));
    expect(header.get(`TBN_${key}_OUTPUTS`)).toBe(spec.outputs.join(','));
    expect(header.get(`TBN_${key}_ATTRS`)).toBe(spec.attrs.map(attrSpec).join(','));
  });

  it('every op is in the header and every attribute has its name constant and default', () => {
    expect(Object.values(KEYS).sort()).toEqual(Object.keys(OPS).sort());
    for (const a of Object.values(OPS).flatMap((o) => o.attrs)) {
      expect(header.get(`TBN_ATTR_${constName(a.name)}`), a.name).toBe(a.name);
      if (a.default === undefined) continue;
      const value = header.get(`TBN_DEFAULT_${constName(a.name)}`);
      if (typeof a.default === 'number') expect(Number(value), a.name).toBe(a.default);
      else expect(value, a.name).toBe(String(a.default));
    }
  });

  it('the epilogue inputs start where the header says; the activation list is format.ts\'s', () => {
    const first = { GEMM: 'TbnGemm', MATMUL: 'TbnMatMul', CONV: 'TbnConv' } as const;
    for (const [key, op] of Object.entries(first)) expect(OPS[op].inputs[Number(header.get(`TBN_INPUT_EPILOGUE_${key}`))]).toBe('scale');
    expect(header.get('TBN_ACTIVATIONS')).toBe(ACTIVATIONS.join(','));
    expect(Number(header.get('TBN_OPSET_VERSION_MIN'))).toBe(TBN_OPSET_VERSION_MIN);
  });

  it('the ops added after version 1 start where format.ts says', () => {
    for (const [key, op] of Object.entries(KEYS)) {
      const since = header.get(`TBN_${key}_SINCE`);
      expect(since === undefined ? 1 : Number(since), op).toBe(OPS[op].since ?? 1);
    }
  });

  it('bits and scales are inputs 1 and 2 of the fused ops and 0 and 1 of TbnDecode', () => {
    for (const [key, op] of Object.entries(KEYS)) {
      const inputs = OPS[op].inputs;
      const suffix = key === 'DECODE' ? '_DECODE' : '';
      expect(inputs[Number(header.get(`TBN_INPUT_BITS${suffix}`))]).toBe('bits');
      expect(inputs[Number(header.get(`TBN_INPUT_SCALES${suffix}`))]).toBe('scales');
    }
  });
});
