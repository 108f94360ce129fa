// WAV files: RIFF/WAVE with PCM 8/16/24/32-bit integer or 32/64-bit float samples (format 1, 3,
// or WAVE_FORMAT_EXTENSIBLE of those), any channel count. The header is read alone (chunk by
// chunk with positioned reads) to index a folder; samples are read for a frame range only.

import fs from 'node:fs';
import { failIn } from '../errors.js';

export interface WavInfo {
  file: string;
  rate: number;
  channels: number;
  /** Bits per sample. */
  bits: number;
  float: boolean;
  frames: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
}


function readAt(fd: number, pos: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  const got = fs.readSync(fd, b, 0, n, pos);
  return b.subarray(0, got);
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/** Parses the header of a WAV file. */
export function wavInfo(file: string): WavInfo {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    failIn(file, 'cannot open the file');
  }
  try {
    const size = fs.fstatSync(fd).size;
    const riff = readAt(fd, 0, 12);
    if (riff.length < 12 || riff.toString('latin1', 0, 4) !== 'RIFF' || riff.toString('latin1', 8, 12) !== 'WAVE') {
      failIn(file, riff.toString('latin1', 0, 4) === 'RF64' ? 'RF64 WAV files are not supported' : 'not a WAV file (no RIFF/WAVE header)');
    }
    let fmt: Buffer | undefined;
    for (let pos = 12; pos + 8 <= size; ) {
      const head = readAt(fd, pos, 8);
      const id = head.toString('latin1', 0, 4);
      const len = head.readUInt32LE(4);
      if (id === 'fmt ') {
        if (len < 16) failIn(file, 'WAV fmt chunk is too short');
        fmt = readAt(fd, pos + 8, Math.min(len, 40));
      } else if (id === 'data') {
        if (!fmt) failIn(file, 'WAV data chunk comes before its fmt chunk');
        return describe(file, fmt, pos + 8, Math.min(len, size - pos - 8), len > size - pos - 8);
      }
      pos += 8 + len + (len & 1);
    }
    failIn(file, fmt ? 'WAV file has no data chunk' : 'WAV file has no fmt chunk');
  } finally {
    fs.closeSync(fd);
  }
}

function describe(file: string, fmt: Buffer, dataOffset: number, dataBytes: number, truncated: boolean): WavInfo {
  let tag = fmt.readUInt16LE(0);
  const channels = fmt.readUInt16LE(2);
  const rate = fmt.readUInt32LE(4);
  const blockAlign = fmt.readUInt16LE(12);
  const bits = fmt.readUInt16LE(14);
  if (tag === EXTENSIBLE && fmt.length >= 26) tag = fmt.readUInt16LE(24);
  const float = tag === IEEE_FLOAT;
  const supported = (tag === PCM && [8, 16, 24, 32].includes(bits)) || (float && (bits === 32 || bits === 64));
  if (!supported) {
    const kind = tag === PCM ? `${bits}-bit PCM` : float ? `${bits}-bit float` : `format tag ${tag}${tag === 6 || tag === 7 ? ' (A-law/µ-law)' : tag === 2 || tag === 0x11 ? ' (ADPCM)' : ''}`;
    failIn(file, `unsupported WAV format: ${kind} (tbn reads PCM 8/16/24/32-bit and float 32/64-bit)`);
  }
  if (channels < 1) failIn(file, 'WAV file declares 0 channels');
  if (rate < 1) failIn(file, 'WAV file declares a sample rate of 0');
  if (blockAlign !== channels * (bits / 8)) failIn(file, `WAV block align ${blockAlign} does not match ${channels} channel(s) of ${bits} bits`);
  if (truncated) failIn(file, 'WAV data chunk is longer than the file (truncated?)');
  return { file, rate, channels, bits, float, frames: Math.floor(dataBytes / blockAlign), dataOffset };
}

/**
 * Frames [start, start + count) as float32 in [−1, 1], one array per channel; frames outside
 * the file read as silence.
 */
export function readWavFrames(info: WavInfo, start: number, count: number): Float32Array[] {
  const out = Array.from({ length: info.channels }, () => new Float32Array(count));
  const from = Math.max(0, start);
  const to = Math.min(info.frames, start + count);
  if (to <= from) return out;
  const bytesPer = info.bits / 8;
  const block = bytesPer * info.channels;
  const fd = fs.openSync(info.file, 'r');
  let buf: Buffer;
  try {
    buf = readAt(fd, info.dataOffset + from * block, (to - from) * block);
  } finally {
    fs.closeSync(fd);
  }
  if (buf.length < (to - from) * block) failIn(info.file, 'WAV file ended early (changed while tbn read it?)');
  const read = sampleReader(info);
  for (let f = from; f < to; f++) {
    const base = (f - from) * block;
    for (let ch = 0; ch < info.channels; ch++) out[ch]![f - start] = read(buf, base + ch * bytesPer);
  }
  return out;
}

function sampleReader(info: WavInfo): (b: Buffer, at: number) => number {
  if (info.float) return info.bits === 32 ? (b, at) => b.readFloatLE(at) : (b, at) => b.readDoubleLE(at);
  switch (info.bits) {
    case 8:
      return (b, at) => (b[at]! - 128) / 128;
    case 16:
      return (b, at) => b.readInt16LE(at) / 32768;
    case 24:
      return (b, at) => b.readIntLE(at, 3) / 8388608;
    default:
      return (b, at) => b.readInt32LE(at) / 2147483648;
  }
}
