// Image and WAV decoding and each recipe step against what PIL, OpenCV, torchvision-style code,
// PaddleOCR's own resize and torch.stft made of the same files (scripts/fixtures/media.py).
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { preprocessAudio, audioSegments } from '../../../src/data/audio.js';
import { readArrays } from '../../../src/data/dataset.js';
import { decodeRgb, applyRecipe, rgbToGray } from '../../../src/data/image.js';
import { parseRecipes, type Recipe } from '../../../src/data/recipe.js';
import { resizeImage } from '../../../src/data/resize.js';
import { readWavFrames, wavInfo } from '../../../src/data/wav.js';
import type { HostTensor } from '../../../src/util/host-tensor.js';
import { dataPath } from '../../helpers/fixtures.js';
import { tmpDir } from '../../helpers/tmp.js';

const media = (name: string) => dataPath(path.join('media', name));
let ref: Map<string, HostTensor>;
beforeAll(async () => {
  ref = (await readArrays(media('reference.npz'))).arrays;
});

function recipe(text: string): Recipe {
  return parseRecipes([text])[0]!;
}

/** Largest |a − b| over the arrays (which must have the same length). */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

describe('image decoding (sharp) against PIL', () => {
  for (const name of ['rgb.png', 'rgba.png', 'gray.png', 'palette.png', 'photo.jpg', 'progressive.jpg', 'photo.webp', 'text.png']) {
    it(`${name} decodes to PIL's convert('RGB')`, async () => {
      const img = await decodeRgb(media(name));
      const want = ref.get(`${name}.rgb`)!;
      expect([img.height, img.width, 3]).toEqual(want.dims);
      expect(maxDiff(img.data, want.data as Uint8Array)).toBe(0);
    });
  }

  it("gray conversion is PIL's convert('L')", async () => {
    const img = await decodeRgb(media('rgb.png'));
    expect(maxDiff(rgbToGray(img.data, img.height * img.width), ref.get('rgb.png.gray')!.data as Uint8Array)).toBe(0);
  });

  it('names the file and the problem for a corrupt or unreadable image', async () => {
    const dir = tmpDir();
    const bytes = fs.readFileSync(media('photo.jpg'));
    fs.writeFileSync(path.join(dir, 'cut.jpg'), bytes.subarray(0, bytes.length >> 1));
    await expect(decodeRgb(path.join(dir, 'cut.jpg'))).rejects.toThrow(/cut\.jpg: corrupt or unreadable image \(.*premature end/i);
    fs.writeFileSync(path.join(dir, 'not.png'), 'hello');
    await expect(decodeRgb(path.join(dir, 'not.png'))).rejects.toThrow(/not\.png: corrupt or unreadable image/);
  });
});

describe('resizing', () => {
  let rgb: Uint8Array;
  beforeAll(async () => {
    rgb = (await decodeRgb(media('rgb.png'))).data;
  });
  for (const interp of ['bilinear', 'bicubic', 'nearest', 'linear'] as const) {
    for (const [h, w] of [
      [13, 19],
      [40, 50],
    ]) {
      it(`${interp} to ${h}x${w} matches ${interp === 'linear' ? "OpenCV's INTER_LINEAR" : 'PIL'} within one level`, () => {
        const out = resizeImage(rgb, 24, 32, 3, h, w, interp);
        expect(maxDiff(out, ref.get(`rgb.png.${interp}_${h}x${w}`)!.data as Uint8Array)).toBeLessThanOrEqual(interp === 'nearest' ? 0 : 1);
      });
    }
  }
});

describe('whole image recipes against the projects that define them', () => {
  it("PaddleOCR's text-line resize_norm_img (height 48, width by aspect, BGR, right-padded after normalising)", async () => {
    const img = await decodeRgb(media('text.png'));
    const r = recipe('resize=fit-height-pad:48x100,interp=linear,channels=bgr,scale=1/255,mean=0.5,std=0.5,pad-norm=0,layout=nchw');
    const out = applyRecipe(img.data, img.height, img.width, r, 'text.png');
    expect(out.dims).toEqual([3, 48, 100]);
    // One 8-bit level of OpenCV's fixed-point rounding is 2/255 after (x/255 − 0.5)/0.5.
    expect(maxDiff(out.values, ref.get('text.png.paddleocr_48x100')!.data as Float32Array)).toBeLessThanOrEqual(2 / 255 + 1e-6);
  });

  it("torchvision's Resize(20) + CenterCrop(16) + ToTensor + Normalize(ImageNet)", async () => {
    const img = await decodeRgb(media('rgb.png'));
    const r = recipe('resize=shorter-side:20,crop=16x16,channels=rgb,scale=1/255,mean=0.485,0.456,0.406,std=0.229,0.224,0.225');
    const out = applyRecipe(img.data, img.height, img.width, r, 'rgb.png');
    expect(out.dims).toEqual([3, 16, 16]);
    expect(maxDiff(out.values, ref.get('rgb.png.imagenet_20_16')!.data as Float32Array)).toBeLessThanOrEqual(1 / 255 / 0.224 + 1e-5);
  });

  it("YOLO's letterbox (fit inside, centred, pad 114, HWC)", async () => {
    const img = await decodeRgb(media('rgb.png'));
    const r = recipe('resize=keep-aspect-pad:32x32,pad-side=center,pad=114,interp=linear,channels=rgb,scale=1,layout=nhwc');
    const out = applyRecipe(img.data, img.height, img.width, r, 'rgb.png');
    expect(out.dims).toEqual([32, 32, 3]);
    expect(maxDiff(out.values, ref.get('rgb.png.letterbox_32x32')!.data as Uint8Array)).toBeLessThanOrEqual(1);
  });

  it('per-channel lists must match the channel count, named by key', async () => {
    const img = await decodeRgb(media('rgb.png'));
    expect(() => applyRecipe(img.data, 24, 32, recipe('channels=gray,mean=0.1,0.2'), 'rgb.png')).toThrow(/rgb\.png: recipe key mean has 2 values, the image has 1 channel/);
  });
});

describe('WAV decoding', () => {
  for (const [name, rate, channels, bits] of [
    ['tone16.wav', 16000, 1, 16],
    ['stereo24.wav', 22050, 2, 24],
    ['float32.wav', 44100, 1, 32],
  ] as const) {
    it(`${name}: ${bits}-bit, ${channels} channel(s) at ${rate} Hz, samples as numpy reads them`, () => {
      const info = wavInfo(media(name));
      expect([info.rate, info.channels, info.bits]).toEqual([rate, channels, bits]);
      const frames = readWavFrames(info, 0, 256);
      const want = ref.get(`${name}.samples`)!;
      for (let c = 0; c < channels; c++) expect(maxDiff(frames[c]!, (want.data as Float32Array).subarray(c * 256, (c + 1) * 256))).toBe(0);
    });
  }

  it('reads frames outside the file as silence', () => {
    const info = wavInfo(media('tone16.wav'));
    const [x] = readWavFrames(info, -3, 6);
    expect(Array.from(x!.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(x![3]).toBe((ref.get('tone16.wav.samples')!.data as Float32Array)[0]);
  });

  it('refuses formats it does not read, naming the file', () => {
    const dir = tmpDir();
    const bytes = Buffer.from(fs.readFileSync(media('tone16.wav')));
    bytes.writeUInt16LE(2, 20); // format tag 2: MS ADPCM
    fs.writeFileSync(path.join(dir, 'adpcm.wav'), bytes);
    expect(() => wavInfo(path.join(dir, 'adpcm.wav'))).toThrow(/adpcm\.wav: unsupported WAV format: format tag 2 \(ADPCM\)/);
    fs.writeFileSync(path.join(dir, 'text.wav'), 'not a wav file at all');
    expect(() => wavInfo(path.join(dir, 'text.wav'))).toThrow(/text\.wav: not a WAV file/);
    fs.writeFileSync(path.join(dir, 'cut.wav'), bytes.subarray(0, 100));
    bytes.writeUInt16LE(1, 20);
    fs.writeFileSync(path.join(dir, 'cut.wav'), bytes.subarray(0, 100));
    expect(() => wavInfo(path.join(dir, 'cut.wav'))).toThrow(/cut\.wav: WAV data chunk is longer than the file/);
  });
});

describe('audio recipe steps', () => {
  it('channels=mono is the mean of the channels; keep gives each; length pads with silence', () => {
    const info = wavInfo(media('stereo24.wav'));
    const want = ref.get('stereo24.wav.samples')!.data as Float32Array;
    const mono = recipe('channels=mono,length=1200');
    const [seg] = audioSegments(info, mono);
    const m = preprocessAudio(seg!, mono);
    expect(m.length).toBe(1200);
    for (let i = 0; i < 256; i++) expect(m[i]).toBeCloseTo((want[i]! + want[256 + i]!) / 2, 6);
    expect(Array.from(m.subarray(info.frames))).toEqual(new Array(1200 - info.frames).fill(0));
    const keep = recipe('channels=keep,scale=2');
    const k = preprocessAudio(audioSegments(info, keep)[0]!, keep);
    expect(k.length).toBe(2 * info.frames);
    expect(k[info.frames + 3]).toBeCloseTo(2 * want[256 + 3]!, 6);
  });

  it('crop=center and crop=windows cut the resampled signal', () => {
    const info = wavInfo(media('tone16.wav'));
    const r = recipe('length=1000,crop=windows,stride=1500');
    expect(audioSegments(info, r).map((s) => s.start)).toEqual([0, 1500, 3000]);
    const c = recipe('length=1000,crop=center');
    expect(audioSegments(info, c)[0]!.start).toBe(1500);
    const x = preprocessAudio(audioSegments(info, c)[0]!, c);
    const [whole] = readWavFrames(info, 1500, 1000);
    expect(maxDiff(x, whole!)).toBe(0);
  });
});

describe('log-mel features against torch.stft with torchaudio / librosa mel filters', () => {
  for (const [key, text] of [
    ['tone16.wav.logmel_htk', 'features=logmel,n_mels=40,win=400,hop=160,n_fft=512,mel=htk'],
    ['tone16.wav.logmel_slaney_fft400', 'features=logmel,n_mels=20,win=25ms,hop=10ms,n_fft=400,fmin=20,fmax=7600,mel=slaney,rate=16000'],
  ] as const) {
    it(key, () => {
      const r = recipe(text);
      r.channels = 'mono';
      const info = wavInfo(media('tone16.wav'));
      const [seg] = audioSegments(info, r);
      const out = preprocessAudio(seg!, r);
      const want = ref.get(key)!;
      const frames = want.dims[1]!;
      expect(out.length).toBe(want.dims[0]! * frames);
      // log(power + 1e-6): absolute error in the log domain.
      expect(maxDiff(out, want.data as Float32Array)).toBeLessThan(2e-3);
    });
  }
});
