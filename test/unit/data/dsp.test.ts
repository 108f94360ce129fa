// The resampler against the analytic signal (band-limited tones land where the formula says;
// tones above the new Nyquist are removed) and the DFT against the plain O(n²) sum.
import { describe, expect, it } from 'vitest';
import { realDft, resample, resampledLength, resampleReach } from '../../../src/data/dsp.js';

const tone = (rate: number, n: number, f: number, phase = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / rate + phase));

function rms(x: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! ** 2;
  return Math.sqrt(s / (to - from));
}

describe('band-limited resampling', () => {
  for (const [from, to] of [
    [44100, 16000],
    [22050, 16000],
    [8000, 16000],
    [48000, 44100],
  ]) {
    it(`${from} → ${to} Hz: a 440 Hz + 2.5 kHz signal lands on the analytic samples`, () => {
      const n = from / 4;
      const x = Float32Array.from(tone(from, n, 440), (v, i) => 0.5 * v + 0.3 * Math.sin((2 * Math.PI * 2500 * i) / from + 1));
      const out = resample(x, 0, n, from, to, 0, resampledLength(n, from, to));
      const edge = Math.ceil((resampleReach(from, to) * to) / from);
      let err = 0;
      for (let i = edge; i < out.length - edge; i++) {
        const t = i / to;
        const want = 0.5 * Math.sin(2 * Math.PI * 440 * t) + 0.3 * Math.sin(2 * Math.PI * 2500 * t + 1);
        err = Math.max(err, Math.abs(out[i]! - want));
      }
      expect(err).toBeLessThan(2e-3);
    });
  }

  it('removes a tone above the new Nyquist (10 kHz, 44.1 → 16 kHz) by more than 60 dB', () => {
    const n = 11025;
    const out = resample(tone(44100, n, 10000), 0, n, 44100, 16000, 0, resampledLength(n, 44100, 16000));
    expect(rms(out, 200, out.length - 200) / Math.SQRT1_2).toBeLessThan(1e-3);
  });

  it('a segment resampled alone equals the same samples of the whole signal', () => {
    const n = 4000;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.01) + Math.cos(i * 0.37));
    const whole = resample(x, 0, n, 22050, 16000, 0, resampledLength(n, 22050, 16000));
    const reach = resampleReach(22050, 16000);
    const first = Math.floor((1000 * 22050) / 16000) - reach;
    const part = resample(x.subarray(first, first + 600), first, n, 22050, 16000, 1000, 300);
    for (let i = 0; i < 300; i++) expect(part[i]).toBeCloseTo(whole[1000 + i]!, 6);
  });

  it('the same rate copies the samples', () => {
    const x = Float32Array.from([1, 2, 3]);
    expect(Array.from(resample(x, 0, 3, 16000, 16000, -1, 5))).toEqual([0, 1, 2, 3, 0]);
  });
});

describe('DFT', () => {
  for (const n of [8, 400, 512, 97]) {
    it(`n = ${n} matches the direct sum`, () => {
      const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + 0.25 * Math.cos(i * i * 0.01));
      const { re, im } = realDft(x);
      let err = 0;
      for (let k = 0; k <= n / 2; k++) {
        let r = 0;
        let s = 0;
        for (let j = 0; j < n; j++) {
          r += x[j]! * Math.cos((2 * Math.PI * j * k) / n);
          s -= x[j]! * Math.sin((2 * Math.PI * j * k) / n);
        }
        err = Math.max(err, Math.abs(re[k]! - r), Math.abs(im[k]! - s));
      }
      expect(err).toBeLessThan(1e-9 * n);
    });
  }
});
