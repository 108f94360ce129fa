// numpy .npz archives: a zip of .npy members. Our own small zip reader (central directory,
// stored and deflate members, zip64 sizes) because every size in it must be checked before
// anything is allocated: declared sizes are bounded, inflation is capped at the declared
// size (zip bombs stop there), and each member's CRC-32 is verified.
// openNpz reads an archive on disk without loading it: stored members (np.savez) are read by
// rows at their offset in the file; deflated ones (np.savez_compressed) are inflated into
// memory when small, else streamed into a temporary file that is then read by rows.

import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { failIn } from '../errors.js';
import type { HostTensor } from '../util/host-tensor.js';
import { encodeNpy, NPY_HEAD_BYTES, npyLayout, parseNpy } from './npy.js';
import { fileRows, memoryRows, type RowSource } from './rows.js';
import { tempDataFile } from './temp.js';

/** Largest member tbn inflates (a calibration set of this size would not fit in memory anyway). */
export const MAX_MEMBER_BYTES = 8 * 1024 ** 3;

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;


interface Member {
  name: string;
  method: number;
  crc: number;
  compressed: number;
  size: number;
  localOffset: number;
}

/** Random access to the archive's bytes: a buffer, or a file read with positioned reads. */
interface ZipBytes {
  size: number;
  /** Bytes [pos, pos + len) clipped to the archive. */
  at(pos: number, len: number): Uint8Array;
}

function memoryBytes(buf: Uint8Array): ZipBytes {
  return { size: buf.length, at: (pos, len) => buf.subarray(pos, Math.min(buf.length, pos + len)) };
}

function fileBytes(fd: number, size: number): ZipBytes {
  return {
    size,
    at(pos, len) {
      const out = new Uint8Array(Math.max(0, Math.min(len, size - pos)));
      let got = 0;
      while (got < out.length) {
        const n = fs.readSync(fd, out, got, out.length - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      return out.subarray(0, got);
    },
  };
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function findEocd(zip: ZipBytes, file: string): { tail: Uint8Array; at: number } {
  const from = Math.max(0, zip.size - 22 - 65535);
  const tail = zip.at(from, zip.size - from);
  const view = viewOf(tail);
  for (let i = tail.length - 22; i >= 0; i--) if (view.getUint32(i, true) === EOCD_SIG) return { tail: tail.subarray(i), at: from + i };
  failIn(file, 'not an .npz file (no zip directory found)');
}

function readMembers(zip: ZipBytes, file: string): Member[] {
  if (zip.size < 22) failIn(file, 'not an .npz file (too short to be a zip archive)');
  const eocd = findEocd(zip, file);
  const ev = viewOf(eocd.tail);
  let count = ev.getUint16(10, true);
  let cenSize = ev.getUint32(12, true);
  let cenOffset = ev.getUint32(16, true);
  if (cenOffset === 0xffffffff || count === 0xffff || cenSize === 0xffffffff) {
    // zip64 end-of-central-directory locator sits 20 bytes before the classic record.
    const loc = eocd.at - 20;
    const locBytes = loc >= 0 ? zip.at(loc, 20) : new Uint8Array(0);
    if (locBytes.length < 20 || viewOf(locBytes).getUint32(0, true) !== 0x07064b50) failIn(file, 'broken zip64 directory');
    const rec = Number(viewOf(locBytes).getBigUint64(8, true));
    const recBytes = zip.at(rec, 56);
    if (recBytes.length < 56 || viewOf(recBytes).getUint32(0, true) !== 0x06064b50) failIn(file, 'broken zip64 directory');
    count = Number(viewOf(recBytes).getBigUint64(32, true));
    cenSize = Number(viewOf(recBytes).getBigUint64(40, true));
    cenOffset = Number(viewOf(recBytes).getBigUint64(48, true));
  }
  if (cenOffset + cenSize > zip.size) failIn(file, 'broken zip directory');
  const buf = zip.at(cenOffset, cenSize);
  const view = viewOf(buf);
  const members: Member[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || view.getUint32(p, true) !== CEN_SIG) failIn(file, 'broken zip directory');
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let compressed = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > buf.length) failIn(file, 'broken zip directory');
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
          if (q + 8 > e + 4 + len) failIn(file, `broken zip64 field for '${name}'`);
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

/** Offset of a member's data, after checking its local header and declared sizes. */
function dataStart(zip: ZipBytes, m: Member, file: string): number {
  const at = m.localOffset;
  const loc = zip.at(at, 30);
  if (loc.length < 30 || viewOf(loc).getUint32(0, true) !== LOC_SIG) failIn(file, `member '${m.name}' is missing from the archive`);
  const start = at + 30 + viewOf(loc).getUint16(26, true) + viewOf(loc).getUint16(28, true);
  if (start + m.compressed > zip.size) failIn(file, `member '${m.name}' is truncated`);
  if (m.size > MAX_MEMBER_BYTES) failIn(file, `member '${m.name}' declares ${m.size} bytes, more than tbn will unpack`);
  if (m.method === 0 && m.compressed !== m.size) failIn(file, `member '${m.name}' sizes disagree`);
  if (m.method !== 0 && m.method !== 8) failIn(file, `member '${m.name}' uses zip compression method ${m.method}; numpy writes stored or deflate`);
  return start;
}

function checkCrc(crc: number, m: Member, file: string): void {
  if (crc >>> 0 !== m.crc >>> 0) failIn(file, `member '${m.name}' fails its CRC check (corrupt file)`);
}

function inflateError(e: unknown, m: Member, file: string): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof InflatedTooMuch) failIn(file, `member '${m.name}' inflates past its declared size ${m.size} (a zip bomb?)`);
  failIn(file, `member '${m.name}' is not valid deflate data`);
}

class InflatedTooMuch extends Error {}

function extract(zip: ZipBytes, m: Member, file: string): Uint8Array {
  const body = zip.at(dataStart(zip, m, file), m.compressed);
  let out: Uint8Array = body;
  if (m.method === 8) {
    try {
      out = zlib.inflateRawSync(body, { maxOutputLength: Math.max(1, m.size) });
    } catch (e) {
      inflateError(e, m, file);
    }
    if (out.length !== m.size) failIn(file, `member '${m.name}' inflates to ${out.length} bytes, declared ${m.size}`);
  }
  checkCrc(zlib.crc32(out), m, file);
  return out;
}

function arrayMembers(zip: ZipBytes, file: string): { key: string; m: Member }[] {
  const out: { key: string; m: Member }[] = [];
  const seen = new Set<string>();
  for (const m of readMembers(zip, file)) {
    if (m.name.endsWith('/')) continue;
    const key = m.name.replace(/\.npy$/, '');
    if (seen.has(key)) failIn(file, `key '${key}' appears twice`);
    seen.add(key);
    out.push({ key, m });
  }
  if (!out.length) failIn(file, 'the archive holds no arrays');
  return out;
}

/** Reads every array of an .npz file, keyed by name (without '.npy'). */
export function parseNpz(buf: Uint8Array, file: string): Map<string, HostTensor> {
  const zip = memoryBytes(buf);
  return new Map(arrayMembers(zip, file).map(({ key, m }) => [key, parseNpy(extract(zip, m, file), `${file}:${key}`)]));
}

/** Deflated members up to this size are inflated in memory; larger ones into a temporary file. */
export const INFLATE_IN_MEMORY_BYTES = 64 * 1024 ** 2;

const CHUNK = 4 * 1024 ** 2;

/** CRC-32 of bytes [start, start + len) of an open file, read in chunks. */
function fileCrc(fd: number, start: number, len: number): number {
  const buf = new Uint8Array(Math.min(CHUNK, Math.max(1, len)));
  let crc = 0;
  for (let done = 0; done < len; ) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, len - done), start + done);
    if (n === 0) break;
    crc = zlib.crc32(buf.subarray(0, n), crc);
    done += n;
  }
  return crc;
}

/** The .npy header of a member whose bytes start at `start` in `zip`, as row access. */
function npyRows(zip: ZipBytes, file: string, start: number, size: number, what: string): RowSource {
  const layout = npyLayout(zip.at(start, Math.min(size, NPY_HEAD_BYTES)), size, what);
  if (layout.shape.length === 0 || (layout.fortran && layout.shape.length > 1)) {
    if (size > INFLATE_IN_MEMORY_BYTES) failIn(what, `a ${layout.shape.length ? 'Fortran-order' : '0-d'} array of ${size} bytes cannot be streamed; save it in C order (numpy.ascontiguousarray)`);
    return memoryRows(parseNpy(zip.at(start, size), what));
  }
  return fileRows({ file, offset: start + layout.dataStart, dtype: layout.dtype, size: layout.size, dims: layout.shape, bigEndian: layout.bigEndian, what });
}

/** Streams a deflated member into a temporary file (CRC and size checked); returns its path. */
async function inflateToFile(file: string, start: number, m: Member): Promise<string> {
  const out = tempDataFile(`${m.name}.inflated`);
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > m.size) return done(new InflatedTooMuch());
      crc = zlib.crc32(chunk, crc);
      done(null, chunk);
    },
  });
  try {
    await pipeline(fs.createReadStream(file, { start, end: start + m.compressed - 1 }), zlib.createInflateRaw(), check, fs.createWriteStream(out));
  } catch (e) {
    fs.rmSync(out, { force: true });
    inflateError(e, m, file);
  }
  if (size !== m.size) failIn(file, `member '${m.name}' inflates to ${size} bytes, declared ${m.size}`);
  checkCrc(crc, m, file);
  return out;
}

/** The arrays of an .npz file on disk, read by rows when asked (see the header comment). */
export async function openNpz(file: string, inMemoryBytes = INFLATE_IN_MEMORY_BYTES): Promise<Map<string, RowSource>> {
  const fd = fs.openSync(file, 'r');
  try {
    const zip = fileBytes(fd, fs.fstatSync(fd).size);
    const out = new Map<string, RowSource>();
    for (const { key, m } of arrayMembers(zip, file)) {
      const what = `${file}:${key}`;
      const start = dataStart(zip, m, file);
      if (m.method === 0) {
        checkCrc(fileCrc(fd, start, m.size), m, file);
        out.set(key, npyRows(zip, file, start, m.size, what));
      } else if (m.size <= inMemoryBytes) {
        out.set(key, memoryRows(parseNpy(extract(zip, m, file), what)));
      } else {
        const tmp = await inflateToFile(file, start, m);
        const tfd = fs.openSync(tmp, 'r');
        try {
          out.set(key, npyRows(fileBytes(tfd, m.size), tmp, 0, m.size, what));
        } finally {
          fs.closeSync(tfd);
        }
      }
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes arrays as an .npz archive (deflate, or stored as numpy.savez does): for tests, reference vectors and reports. */
export function encodeNpz(arrays: Record<string, HostTensor>, opts: { stored?: boolean } = {}): Uint8Array {
  const method = opts.stored ? 0 : 8;
  const locals: Uint8Array[] = [];
  const cen: Uint8Array[] = [];
  let offset = 0;
  for (const [key, t] of Object.entries(arrays)) {
    const name = new TextEncoder().encode(`${key}.npy`);
    const raw = encodeNpy(t);
    const body = opts.stored ? raw : zlib.deflateRawSync(raw);
    const crc = zlib.crc32(raw) >>> 0;
    const loc = new Uint8Array(30 + name.length);
    const lv = new DataView(loc.buffer);
    lv.setUint32(0, LOC_SIG, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
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
    cv.setUint16(10, method, true);
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
