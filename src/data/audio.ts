// WAV files as model inputs: channels mixed down to mono (their mean) or kept, resampled to
// the recipe's rate, cut to a fixed length (from the start, the centre, or one sample per
// window), then a waveform or a log-mel spectrogram, scaled and normalised. Only the frames a
// segment needs are read from the file.

import { UserError } from '../errors.js';
import { frameCount, melFilters, melSpectrogram, resample, resampledLength, resampleReach, type MelOptions } from './dsp.js';
import type { Recipe } from './recipe.js';
import { readWavFrames, type WavInfo } from './wav.js';

/** One audio sample: a segment [start, start + length) of a file at the target rate. */
export interface AudioSegment {
  info: WavInfo;
  start: number;
  length: number;
}

/** The target rate: the recipe's, or the file's own. */
export function targetRate(r: Recipe, info: WavInfo): number {
  return r.rate ?? info.rate;
}

/** The samples a file gives under the recipe (several with crop=windows). */
export function audioSegments(info: WavInfo, r: Recipe): AudioSegment[] {
  const total = resampledLength(info.frames, info.rate, targetRate(r, info));
  const L = r.length;
  if (L === undefined) return [{ info, start: 0, length: total }];
  if (r.cropMode === 'start') return [{ info, start: 0, length: L }];
  if (r.cropMode === 'center') return [{ info, start: Math.floor((total - L) / 2), length: L }];
  const stride = r.stride ?? L;
  const segs: AudioSegment[] = [];
  for (let s = 0; s + L <= total; s += stride) segs.push({ info, start: s, length: L });
  // A file shorter than one window still gives one (padded) sample.
  return segs.length ? segs : [{ info, start: 0, length: L }];
}

export function melOptions(r: Recipe, rate: number): MelOptions {
  let nFft = r.mel.nFft ?? 1;
  if (r.mel.nFft === undefined) while (nFft < r.mel.win) nFft *= 2;
  const fmax = r.mel.fmax ?? rate / 2;
  return { rate, nFft, win: r.mel.win, hop: r.mel.hop, nMels: r.mel.nMels, fmin: r.mel.fmin, fmax, scale: r.mel.scale, power: r.mel.power, center: r.mel.center };
}

/** Per-sample output shape before fitting to the model input. */
export function audioDims(seg: AudioSegment, r: Recipe): number[] {
  const channels = r.channels === 'keep' ? seg.info.channels : 1;
  if (r.features === 'waveform') return channels === 1 ? [seg.length] : [channels, seg.length];
  const o = melOptions(r, targetRate(r, seg.info));
  const frames = frameCount(seg.length, o);
  const core = r.featureLayout === 'mels-frames' ? [o.nMels, frames] : [frames, o.nMels];
  return channels === 1 ? core : [channels, ...core];
}

/** Checks the recipe against one file's header (rates, frequencies, lengths), naming the key. */
export function checkAudioRecipe(info: WavInfo, r: Recipe): void {
  const rate = targetRate(r, info);
  if (r.features === 'logmel') {
    const o = melOptions(r, rate);
    if (!(o.fmax > o.fmin) || o.fmax > rate / 2) throw new UserError(`${info.file}: recipe keys fmin/fmax (${o.fmin}, ${o.fmax} Hz) must satisfy fmin < fmax ≤ rate/2 = ${rate / 2}`);
  }
  if (r.channels === 'rgb' || r.channels === 'bgr' || r.channels === 'gray') throw new UserError(`${info.file}: recipe key channels=${r.channels} is for images; audio takes channels=mono or keep`);
}

const logOf = (v: number, r: Recipe): number => {
  const { log, logOffset } = r.mel;
  if (log === 'ln') return Math.log(v + logOffset);
  if (log === 'log10') return Math.log10(v + logOffset);
  if (log === 'db') return 10 * Math.log10(Math.max(v, logOffset));
  return v;
};

/** Reads and preprocesses one segment: values in the output layout of audioDims. */
export function preprocessAudio(seg: AudioSegment, r: Recipe, filters?: Float64Array[]): Float64Array {
  const { info } = seg;
  const rate = targetRate(r, info);
  // Input frames the output segment depends on (the resampler's reach on each side).
  const reach = resampleReach(info.rate, rate);
  const first = Math.floor((seg.start * info.rate) / rate) - reach;
  const last = Math.ceil(((seg.start + seg.length) * info.rate) / rate) + reach;
  const raw = readWavFrames(info, first, last - first);
  const channels = r.channels === 'keep' ? raw : [mixdown(raw)];
  const waves = channels.map((x) => resample(x, first, info.frames, info.rate, rate, seg.start, seg.length));
  const scale = r.scale ?? 1;
  const perChannel = (list: number[], key: string, i: number): number => {
    if (list.length === 1) return list[0]!;
    if (list.length !== waves.length) throw new UserError(`${info.file}: recipe key ${key} has ${list.length} values for ${waves.length} channel(s)`);
    return list[i]!;
  };
  const parts: Float64Array[] = waves.map((w, ci) => {
    const mean = perChannel(r.mean, 'mean', ci);
    const std = perChannel(r.std, 'std', ci);
    if (r.features === 'waveform') return Float64Array.from(w, (v) => (v * scale - mean) / std);
    const o = melOptions(r, rate);
    const mel = melSpectrogram(w, o, filters ?? melFilters(o));
    const frames = mel[0]?.length ?? 0;
    const out = new Float64Array(o.nMels * frames);
    for (let m = 0; m < o.nMels; m++) {
      for (let t = 0; t < frames; t++) {
        const v = (logOf(mel[m]![t]!, r) * scale - mean) / std;
        out[r.featureLayout === 'mels-frames' ? m * frames + t : t * o.nMels + m] = v;
      }
    }
    return out;
  });
  if (parts.length === 1) return parts[0]!;
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  parts.forEach((p, i) => out.set(p, i * p.length));
  return out;
}

function mixdown(chs: Float32Array[]): Float32Array {
  if (chs.length === 1) return chs[0]!;
  const out = new Float32Array(chs[0]!.length);
  for (const c of chs) for (let i = 0; i < out.length; i++) out[i]! += c[i]!;
  for (let i = 0; i < out.length; i++) out[i]! /= chs.length;
  return out;
}
