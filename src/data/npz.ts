// numpy .npz archives: a zip of .npy members. Our own small zip reader (central directory,
// stored and deflate members, zip64 sizes) because every size in it must be checked before
// anything is allocated: declared sizes are bounded, inflation is capped at the declared
// size (zip bombs stop there), and each member's CRC-32 is verified.

import zlib from 'node:zlib';
import { UserError } from '../errors.js';
import type { HostTensor } from '../util/host-tensor.js';
import { encodeNpy, parseNpy } from './npy.js';

/** Largest member tbn inflates (a calibration set of this size would not fit in memory anyway). */
export const MAX_MEMBER_BYTES = 8 * 1024 ** 3;

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

function fail(file: string, msg: string): never {
  throw new UserError(`${file}: ${msg}`);
}

interface Member {
  name: string;
  method: number;
  crc: number;
  compressed: number;
  size: number;
  localOffset: number;
}

function findEocd(buf: Uint8Array, view: DataView, file: string): number {
  const min = Math.max(0, buf.length - 22 - 65535);
  for (let i = buf.length - 22; i >= min; i--) if (view.getUint32(i, true) === EOCD_SIG) return i;
  fail(file, 'not an .npz file (no zip directory found)');
}

function readMembers(buf: Uint8Array, file: string): Member[] {
  if (buf.length < 22) fail(file, 'not an .npz file (too short to be a zip archive)');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const eocd = findEocd(buf, view, file);
  let count = view.getUint16(eocd + 10, true);
  let cenOffset = view.getUint32(eocd + 16, true);
  if (cenOffset === 0xffffffff || count === 0xffff) {
    // zip64 end-of-central-directory locator sits 20 bytes before the classic record.
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== 0x07064b50) fail(file, 'broken zip64 directory');
    const rec = Number(view.getBigUint64(loc + 8, true));
    if (rec + 56 > buf.length || view.getUint32(rec, true) !== 0x06064b50) fail(file, 'broken zip64 directory');
    count = Number(view.getBigUint64(rec + 32, true));
    cenOffset = Number(view.getBigUint64(rec + 48, true));
  }
  const members: Member[] = [];
  let p = cenOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || view.getUint32(p, true) !== CEN_SIG) fail(file, 'broken zip directory');
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let compressed = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > buf.length) fail(file, 'broken zip directory');
    const name = new TextDecoder().decode(buf.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information: the 0xffffffff fields, in order, as 8-byte values.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const take = () => {
          if (q + 8 > e + 4 + len) fail(file, `broken zip64 field for '${name}'`);
          const v = Number(view.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressed === 0xffffffff) compressed = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + len;
    }
    members.push({ name, method, crc, compressed, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return members;
}

function extract(buf: Uint8Array, m: Member, file: string): Uint8Array {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = m.localOffset;
  if (at + 30 > buf.length || view.getUint32(at, true) !== LOC_SIG) fail(file, `member '${m.name}' is missing from the archive`);
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  if (start + m.compressed > buf.length) fail(file, `member '${m.name}' is truncated`);
  if (m.size > MAX_MEMBER_BYTES) fail(file, `member '${m.name}' declares ${m.size} bytes, more than tbn will unpack`);
  const body = buf.subarray(start, start + m.compressed);
  let out: Uint8Array;
  if (m.method === 0) {
    if (m.compressed !== m.size) fail(file, `member '${m.name}' sizes disagree`);
    out = body;
  } else if (m.method === 8) {
    try {
      out = zlib.inflateRawSync(body, { maxOutputLength: Math.max(1, m.size) });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') fail(file, `member '${m.name}' inflates past its declared size ${m.size} (a zip bomb?)`);
      fail(file, `member '${m.name}' is not valid deflate data`);
    }
    if (out.length !== m.size) fail(file, `member '${m.name}' inflates to ${out.length} bytes, declared ${m.size}`);
  } else {
    fail(file, `member '${m.name}' uses zip compression method ${m.method}; numpy writes stored or deflate`);
  }
  if (zlib.crc32(out) >>> 0 !== m.crc >>> 0) fail(file, `member '${m.name}' fails its CRC check (corrupt file)`);
  return out;
}

/** Reads every array of an .npz file, keyed by name (without '.npy'). */
export function parseNpz(buf: Uint8Array, file: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const m of readMembers(buf, file)) {
    if (m.name.endsWith('/')) continue;
    const key = m.name.replace(/\.npy$/, '');
    if (out.has(key)) fail(file, `key '${key}' appears twice`);
    out.set(key, parseNpy(extract(buf, m, file), `${file}:${key}`));
  }
  if (!out.size) fail(file, 'the archive holds no arrays');
  return out;
}

/** Writes arrays as an .npz (deflate) archive: for tests, reference vectors and reports. */
export function encodeNpz(arrays: Record<string, HostTensor>): Uint8Array {
  const locals: Uint8Array[] = [];
  const cen: Uint8Array[] = [];
  let offset = 0;
  for (const [key, t] of Object.entries(arrays)) {
    const name = new TextEncoder().encode(`${key}.npy`);
    const raw = encodeNpy(t);
    const body = zlib.deflateRawSync(raw);
    const crc = zlib.crc32(raw) >>> 0;
    const loc = new Uint8Array(30 + name.length);
    const lv = new DataView(loc.buffer);
    lv.setUint32(0, LOC_SIG, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, 8, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, raw.length, true);
    lv.setUint16(26, name.length, true);
    loc.set(name, 30);
    const c = new Uint8Array(46 + name.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, CEN_SIG, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, 8, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, raw.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    c.set(name, 46);
    locals.push(loc, body);
    cen.push(c);
    offset += loc.length + body.length;
  }
  const cenSize = cen.reduce((a, c) => a + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, EOCD_SIG, true);
  ev.setUint16(8, cen.length, true);
  ev.setUint16(10, cen.length, true);
  ev.setUint32(12, cenSize, true);
  ev.setUint32(16, offset, true);
  return Buffer.concat([...locals, ...cen, eocd]);
}
