// Spelling things in C: identifiers from ONNX names, float literals that round-trip float32
// exactly, array initialisers, comments that cannot be closed early by a name containing
// the comment terminator, and designated struct initialisers.

/** A C identifier from an ONNX name: [A-Za-z0-9_], no leading digit, no double underscores. */
export function cIdent(name: string): string {
  let s = name
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!s) s = 'v';
  if (/^[0-9]/.test(s)) s = `v${s}`;
  return s;
}

/**
 * A shorter C name for an exporter-made ONNX path: "/features/features.1/features.1.0/Conv" →
 * "features.1.0/Conv" (a scope that only prefixes the next one is dropped), "_output_0" dropped.
 */
export function shortName(name: string): string {
  const segs = name.replace(/^\/+/, '').split('/');
  const kept = segs.filter((s, i) => !(i + 1 < segs.length && segs[i + 1]!.startsWith(`${s}.`)));
  return kept.join('/').replace(/_output_0$/, '');
}

/** Hands out unique identifiers (and avoids C keywords and reserved names). */
export class Idents {
  private used = new Set<string>(C_RESERVED);
  constructor(reserved: Iterable<string> = []) {
    for (const r of reserved) this.used.add(r);
  }
  fresh(base: string): string {
    let b = cIdent(shortName(base));
    if (/^tbn_/i.test(b)) b = `v_${b}`; // tbn_ names belong to the kernel runtime
    let s = b;
    for (let i = 2; this.used.has(s); i++) s = `${b}_${i}`;
    this.used.add(s);
    return s;
  }
}

const C_RESERVED = [
  'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double', 'else', 'enum', 'extern', 'float',
  'for', 'goto', 'if', 'inline', 'int', 'long', 'register', 'restrict', 'return', 'short', 'signed', 'sizeof', 'static',
  'struct', 'switch', 'typedef', 'union', 'unsigned', 'void', 'volatile', 'while', '_Bool', '_Complex', '_Imaginary',
  'main', 'arena', 'NULL', 'bt',
];

/** The shortest decimal float literal that reads back as exactly this float32. */
export function cFloat(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f)) return 'NAN';
  if (f === Infinity) return 'INFINITY';
  if (f === -Infinity) return '-INFINITY';
  if (f === 0) return Object.is(f, -0) ? '-0.0f' : '0.0f';
  let s = '';
  for (let digits = 1; digits <= 9; digits++) {
    s = f.toPrecision(digits);
    if (Math.fround(Number(s)) === f) break;
  }
  // toPrecision may give "1e+21" or "12": make it a float literal.
  if (s.includes('e')) {
    const [m, e] = s.split('e');
    s = `${m!.includes('.') ? m : `${m}.0`}e${e}`;
  } else if (!s.includes('.')) s = `${s}.0`;
  return `${s}f`;
}

/** A comment body that cannot terminate the comment early. */
export const cText = (s: string): string => s.replace(/\*\//g, '* /').replace(/[\r\n]+/g, ' ');

export type CType = 'float' | 'uint8_t' | 'int32_t' | 'int64_t';

export const CTYPE_BYTES: Record<CType, number> = { float: 4, uint8_t: 1, int32_t: 4, int64_t: 8 };

/** Element spelling for an initialiser. */
function cValue(ctype: CType, v: number | bigint): string {
  switch (ctype) {
    case 'float':
      return cFloat(Number(v));
    case 'uint8_t':
      return `0x${Number(v).toString(16).padStart(2, '0')}`;
    case 'int32_t':
      return String(v);
    case 'int64_t':
      return `INT64_C(${String(v)})`;
  }
}

/** `{ v, v, … }` wrapped at `perLine` values, indented by four spaces. */
export function cArrayBody(ctype: CType, values: ArrayLike<number | bigint>): string {
  const perLine = ctype === 'uint8_t' ? 16 : ctype === 'float' ? 8 : 12;
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += perLine) {
    const row: string[] = [];
    for (let j = i; j < Math.min(values.length, i + perLine); j++) row.push(cValue(ctype, values[j]!));
    lines.push(`    ${row.join(', ')},`);
  }
  return `{\n${lines.join('\n')}\n}`;
}

/** A struct field value: a number, a C expression, or a nested struct. */
export type CInit = number | string | { [field: string]: CInit };

/** Designated initialiser `{ .a = 1, .b = { … } }`: scalar fields packed into lines of about
 * 100 columns, nested structs on lines of their own. */
export function cStruct(fields: { [field: string]: CInit }, indent = '    '): string {
  const lines: string[] = [];
  let line = '';
  const flush = () => {
    if (line) lines.push(indent + line.trimEnd());
    line = '';
  };
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'object') {
      flush();
      lines.push(`${indent}.${k} = ${cStruct(v, indent + '    ')},`);
      continue;
    }
    const part = `.${k} = ${typeof v === 'number' ? cNumber(v) : v}, `;
    if (line && indent.length + line.length + part.length > 100) flush();
    line += part;
  }
  flush();
  return `{\n${lines.join('\n')}\n${indent.slice(4)}}`;
}

/** Integers as integers, other numbers as float literals. */
export function cNumber(v: number): string {
  return Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? String(v) : cFloat(v);
}

/** A float field that must be spelled as a float literal even when integral (alpha = 1.0f). */
export const f32 = (v: number): string => cFloat(v);
