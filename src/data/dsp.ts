// Signal processing for audio inputs: band-limited resampling (windowed sinc) and log-mel
// spectrograms (STFT with a periodic Hann window, HTK or Slaney mel filters).
//
// Resampling: y[n] = Σₖ x[k] · f · h(f · (n·r_in/r_out − k)), h(τ) = sinc(τ) · kaiser(τ / Z),
// f = rolloff · min(1, r_out/r_in) (the cutoff, in units of the input Nyquist), Z = 32 zero
// crossings each side; h is tabulated at 512 points per crossing and interpolated linearly.
// Frames outside the signal are zero. Aliasing is ≥ 80 dB down above the output Nyquist.
//
// Spectrogram conventions follow torchaudio's MelSpectrogram (center=True reflect padding,
// onesided power spectrum, melscale_fbanks with all_freqs = linspace(0, rate // 2, n_fft/2+1))
// for mel=htk, and librosa's mel filters (Slaney scale and area normalisation) for mel=slaney.

const ZEROS = 32;
const PER_ZERO = 512;
const ROLLOFF = 0.945;
const BETA = 12;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

let table: Float64Array | undefined;

/** sinc(τ)·kaiser(τ/Z) for τ = i / PER_ZERO, i ∈ [0, Z·PER_ZERO] (+1 guard). */
function sincTable(): Float64Array {
  if (table) return table;
  const n = ZEROS * PER_ZERO;
  table = new Float64Array(n + 2);
  const norm = besselI0(BETA);
  for (let i = 0; i <= n; i++) {
    const t = i / PER_ZERO;
    const sinc = i === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
    table[i] = (sinc * besselI0(BETA * Math.sqrt(Math.max(0, 1 - (t / ZEROS) ** 2)))) / norm;
  }
  return table;
}

/** Input samples each side that an output sample reads when resampling inRate → outRate. */
export function resampleReach(inRate: number, outRate: number): number {
  return inRate === outRate ? 0 : Math.ceil(ZEROS / (ROLLOFF * Math.min(1, outRate / inRate))) + 1;
}

/** Output length of a whole signal of `frames` samples resampled inRate → outRate. */
export function resampledLength(frames: number, inRate: number, outRate: number): number {
  return Math.ceil((frames * outRate) / inRate);
}

/**
 * Output samples [outStart, outStart + count) of the signal resampled inRate → outRate.
 * `x` holds input samples from index `x0` on; samples outside [0, total) are zero. `x` must
 * cover [t − reach, t + reach] for every output time t that lies in the signal.
 */
export function resample(x: Float32Array, x0: number, total: number, inRate: number, outRate: number, outStart: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (inRate === outRate) {
    for (let i = 0; i < count; i++) {
      const k = outStart + i;
      out[i] = k >= 0 && k < total ? x[k - x0]! : 0;
    }
    return out;
  }
  const h = sincTable();
  const f = ROLLOFF * Math.min(1, outRate / inRate);
  const reach = ZEROS / f;
  const lo = Math.max(0, x0);
  const hi = Math.min(total, x0 + x.length);
  for (let i = 0; i < count; i++) {
    const t = ((outStart + i) * inRate) / outRate;
    const k0 = Math.max(lo, Math.ceil(t - reach));
    const k1 = Math.min(hi - 1, Math.floor(t + reach));
    let acc = 0;
    for (let k = k0; k <= k1; k++) {
      const p = Math.abs(t - k) * f * PER_ZERO;
      const j = Math.floor(p);
      const w = h[j]! + (p - j) * (h[j + 1]! - h[j]!);
      acc += x[k - x0]! * w;
    }
    out[i] = acc * f;
  }
  return out;
}

// ---- FFT ----

interface FftPlan {
  n: number;
  /** Power-of-two size the transform runs at (n itself, or ≥ 2n − 1 for Bluestein). */
  m: number;
  cos: Float64Array;
  sin: Float64Array;
  rev: Uint32Array;
  /** Bluestein: chirp w[k] = exp(−iπk²/n) and the FFT of its conjugate, padded to m. */
  chirp?: { re: Float64Array; im: Float64Array; bRe: Float64Array; bIm: Float64Array };
}

const plans = new Map<number, FftPlan>();

function radix2(re: Float64Array, im: Float64Array, p: FftPlan, inverse: boolean): void {
  const m = p.m;
  for (let i = 0; i < m; i++) {
    const j = p.rev[i]!;
    if (j > i) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let size = 2; size <= m; size *= 2) {
    const half = size / 2;
    const step = m / size;
    for (let s = 0; s < m; s += size) {
      for (let k = 0; k < half; k++) {
        const c = p.cos[k * step]!;
        const sn = inverse ? -p.sin[k * step]! : p.sin[k * step]!;
        const a = s + k;
        const b = a + half;
        const tr = re[b]! * c + im[b]! * sn;
        const ti = im[b]! * c - re[b]! * sn;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a]! += tr;
        im[a]! += ti;
      }
    }
  }
}

function plan(n: number): FftPlan {
  let p = plans.get(n);
  if (p) return p;
  const pow2 = (n & (n - 1)) === 0;
  let m = 1;
  while (m < (pow2 ? n : 2 * n - 1)) m *= 2;
  const bits = Math.log2(m);
  const rev = new Uint32Array(m);
  for (let i = 0; i < m; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  // Twiddles exp(−2πik/m) = cos − i·sin, stored as (cos, sin).
  const cos = Float64Array.from({ length: m / 2 }, (_, k) => Math.cos((2 * Math.PI * k) / m));
  const sin = Float64Array.from({ length: m / 2 }, (_, k) => Math.sin((2 * Math.PI * k) / m));
  p = { n, m, cos, sin, rev };
  if (!pow2) {
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const a = (Math.PI * ((k * k) % (2 * n))) / n;
      re[k] = Math.cos(a);
      im[k] = -Math.sin(a);
    }
    const bRe = new Float64Array(m);
    const bIm = new Float64Array(m);
    for (let k = 0; k < n; k++) {
      bRe[k] = re[k]!;
      bIm[k] = -im[k]!;
      if (k) {
        bRe[m - k] = re[k]!;
        bIm[m - k] = -im[k]!;
      }
    }
    radix2(bRe, bIm, p, false);
    p.chirp = { re, im, bRe, bIm };
  }
  plans.set(n, p);
  return p;
}

/** The DFT of a real signal of length n: bins 0 … n/2 as (re, im). */
export function realDft(x: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = x.length;
  const p = plan(n);
  const bins = Math.floor(n / 2) + 1;
  if (!p.chirp) {
    const re = Float64Array.from(x);
    const im = new Float64Array(n);
    radix2(re, im, p, false);
    return { re: re.subarray(0, bins), im: im.subarray(0, bins) };
  }
  // Bluestein: X[k] = w[k] · Σ (x[j] w[j]) · conj(w[k − j]), a circular convolution of size m.
  const { re: wr, im: wi, bRe, bIm } = p.chirp;
  const m = p.m;
  const aRe = new Float64Array(m);
  const aIm = new Float64Array(m);
  for (let j = 0; j < n; j++) {
    aRe[j] = x[j]! * wr[j]!;
    aIm[j] = x[j]! * wi[j]!;
  }
  radix2(aRe, aIm, p, false);
  for (let k = 0; k < m; k++) {
    const r = aRe[k]! * bRe[k]! - aIm[k]! * bIm[k]!;
    aIm[k] = aRe[k]! * bIm[k]! + aIm[k]! * bRe[k]!;
    aRe[k] = r;
  }
  radix2(aRe, aIm, p, true);
  const re = new Float64Array(bins);
  const im = new Float64Array(bins);
  for (let k = 0; k < bins; k++) {
    const cr = aRe[k]! / m;
    const ci = aIm[k]! / m;
    re[k] = cr * wr[k]! - ci * wi[k]!;
    im[k] = cr * wi[k]! + ci * wr[k]!;
  }
  return { re, im };
}

// ---- mel spectrogram ----

export interface MelOptions {
  rate: number;
  nFft: number;
  win: number;
  hop: number;
  nMels: number;
  fmin: number;
  fmax: number;
  scale: 'htk' | 'slaney';
  power: number;
  center: boolean;
}

const htkMel = (f: number) => 2595 * Math.log10(1 + f / 700);
const htkHz = (m: number) => 700 * (10 ** (m / 2595) - 1);
const SLANEY_SP = 200 / 3;
const SLANEY_LOGSTEP = Math.log(6.4) / 27;
const slaneyMel = (f: number) => (f < 1000 ? f / SLANEY_SP : 1000 / SLANEY_SP + Math.log(f / 1000) / SLANEY_LOGSTEP);
const slaneyHz = (m: number) => (m < 1000 / SLANEY_SP ? m * SLANEY_SP : 1000 * Math.exp(SLANEY_LOGSTEP * (m - 1000 / SLANEY_SP)));

/** Triangular mel filters [nMels][bins]. */
export function melFilters(o: MelOptions): Float64Array[] {
  const bins = Math.floor(o.nFft / 2) + 1;
  const [toMel, toHz] = o.scale === 'htk' ? [htkMel, htkHz] : [slaneyMel, slaneyHz];
  const top = o.scale === 'htk' ? Math.floor(o.rate / 2) : o.rate / 2;
  const freqs = Float64Array.from({ length: bins }, (_, i) => (bins > 1 ? (top * i) / (bins - 1) : 0));
  const m0 = toMel(o.fmin);
  const m1 = toMel(o.fmax);
  const pts = Float64Array.from({ length: o.nMels + 2 }, (_, i) => toHz(m0 + ((m1 - m0) * i) / (o.nMels + 1)));
  return Array.from({ length: o.nMels }, (_, m) => {
    const w = new Float64Array(bins);
    const norm = o.scale === 'slaney' ? 2 / (pts[m + 2]! - pts[m]!) : 1;
    for (let b = 0; b < bins; b++) {
      const down = (freqs[b]! - pts[m]!) / (pts[m + 1]! - pts[m]!);
      const up = (pts[m + 2]! - freqs[b]!) / (pts[m + 2]! - pts[m + 1]!);
      w[b] = Math.max(0, Math.min(down, up)) * norm;
    }
    return w;
  });
}

/** numpy's 'reflect' index for any i (repeated reflection). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

export function frameCount(samples: number, o: Pick<MelOptions, 'nFft' | 'hop' | 'center'>): number {
  const padded = o.center ? samples + 2 * Math.floor(o.nFft / 2) : samples;
  return padded < o.nFft ? 0 : 1 + Math.floor((padded - o.nFft) / o.hop);
}

/** Mel spectrogram [nMels][frames] (power, before the log). */
export function melSpectrogram(x: Float32Array, o: MelOptions, filters = melFilters(o)): Float64Array[] {
  const frames = frameCount(x.length, o);
  const pad = o.center ? Math.floor(o.nFft / 2) : 0;
  // Periodic Hann of length win, centred in n_fft (torch.stft pads the window so).
  const offset = Math.floor((o.nFft - o.win) / 2);
  const window = Float64Array.from({ length: o.win }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / o.win));
  const out = Array.from({ length: o.nMels }, () => new Float64Array(frames));
  const frame = new Float64Array(o.nFft);
  for (let t = 0; t < frames; t++) {
    frame.fill(0);
    for (let i = 0; i < o.win; i++) frame[offset + i] = x[reflect(t * o.hop + offset + i - pad, x.length)]! * window[i]!;
    const { re, im } = realDft(frame);
    for (let m = 0; m < o.nMels; m++) {
      const w = filters[m]!;
      let acc = 0;
      for (let b = 0; b < re.length; b++) {
        if (w[b] === 0) continue;
        const pw = re[b]! * re[b]! + im[b]! * im[b]!;
        acc += w[b]! * (o.power === 2 ? pw : Math.sqrt(pw));
      }
      out[m]![t] = acc;
    }
  }
  return out;
}
