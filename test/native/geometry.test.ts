// The geometry layouts (native/engine/geometry.h) as both sides see them: every layout packed by
// the TypeScript backend from a parameter object of distinct values and read back by the addon's
// own reader comes back field for field, under the same names.
import { describe, expect, it } from 'vitest';
import { nativeBackend, nativeReason, skipNative } from './helpers.js';

describe.skipIf(skipNative)(`geometry layouts${nativeReason}`, () => {
  it('every layout round-trips through the packer and the native reader', () => {
    const backend = nativeBackend();
    const layouts = backend.binding.geometryLayouts();
    expect(Object.keys(layouts).sort()).toEqual(['adam', 'broadcast', 'conv', 'copy', 'matmul', 'pool', 'tile', 'where']);
    for (const [name, text] of Object.entries(layouts)) {
      const fields = text.trim().split(/\s+/).map((f) => f.split(':') as [string, string]);
      // Distinct values per field, so a swapped pair or an off-by-one shows; ranks of 2 or 3.
      const rank = name === 'conv' || name === 'pool' ? 2 : 3;
      let next = 1;
      const params: Record<string, unknown> = {};
      for (const [field, kind] of fields) {
        if (kind === 'int') params[field] = next++;
        else if (kind === 'real') params[field] = next++ + 0.25;
        else if (kind === 'flag') params[field] = next++ % 2 === 0;
        else if (kind === 'ints') params[field] = Array.from({ length: rank }, () => next++);
      }
      const back = backend.echoGeometry(name as Parameters<typeof backend.echoGeometry>[0], params);
      expect(back, name).toEqual(params);
    }
  });

  it('a geometry one field short is refused by name, not read past its end', () => {
    const backend = nativeBackend();
    expect(() => backend.binding.geometryEcho('tile', Float64Array.of(4, 8, 2, 0))).toThrow(/geometry too short/);
    expect(() => backend.binding.geometryEcho('conv', Float64Array.of(1, 3, 8, 1, 9))).toThrow(/geometry rank out of range/);
    // tileAxis is an int on the native side: 2^32 would have read as axis 0.
    expect(() => backend.binding.geometryEcho('tile', Float64Array.of(4, 8, 2, 2 ** 32, 0))).toThrow(/geometry value out of range/);
  });
});
