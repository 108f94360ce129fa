// Images as model inputs: decoded by sharp (libvips: PNG, JPEG, WebP, TIFF, GIF, AVIF) to 8-bit
// RGB — alpha dropped and EXIF orientation not applied, as PIL's convert('RGB') does — then
// the recipe: gray conversion (PIL's ITU-R 601-2 luma), resize, pad and crop (8-bit, rounded as
// the training libraries do), scale, mean/std per channel, channel order and layout. The
// output is float64 values that src/data/media.ts casts to the model input's type.

import { UserError } from '../errors.js';
import type { Recipe } from './recipe.js';
import { resizeImage } from './resize.js';

type Sharp = (typeof import('sharp'))['default'];
let sharpModule: Promise<Sharp> | undefined;

async function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp')
    .then((m) => {
      const sharp = m.default;
      // Each image is decoded once: libvips' operation cache would only hold memory.
      sharp.cache(false);
      return sharp;
    })
    .catch((e: unknown) => {
      sharpModule = undefined;
      throw new UserError(`images need the sharp package, which did not load on this platform (${e instanceof Error ? e.message.split('\n')[0] : e})`);
    });
  return sharpModule;
}

export interface ImageInfo {
  height: number;
  width: number;
}

/** Reads an image's header: its size (nothing is decoded). */
export async function imageInfo(file: string): Promise<ImageInfo> {
  const sharp = await loadSharp();
  let meta;
  try {
    meta = await sharp(file).metadata();
  } catch (e) {
    throw new UserError(`${file}: not an image tbn can read (${sharpMessage(e)})`);
  }
  if (!meta.width || !meta.height) throw new UserError(`${file}: the image has no size in its header`);
  return { height: meta.height, width: meta.width };
}

function sharpMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.replace(/^Input file /, '').trim();
}

/** Decodes to 8-bit RGB, H × W × 3 interleaved. */
export async function decodeRgb(file: string): Promise<{ data: Uint8Array; height: number; width: number }> {
  const sharp = await loadSharp();
  try {
    const { data, info } = await sharp(file, { failOn: 'truncated', sequentialRead: true })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), height: info.height, width: info.width };
  } catch (e) {
    throw new UserError(`${file}: corrupt or unreadable image (${sharpMessage(e)})`);
  }
}

/** PIL's convert('L'): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16. */
export function rgbToGray(rgb: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) out[i] = (rgb[3 * i]! * 19595 + rgb[3 * i + 1]! * 38470 + rgb[3 * i + 2]! * 7471 + 0x8000) >>> 16;
  return out;
}

/** Python's round(): halves to even (torchvision's center crop uses it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface Geometry {
  /** Size the image is resized to. */
  resizeH: number;
  resizeW: number;
  /** Output size. */
  outH: number;
  outW: number;
  /** Output (y, x) shows resized (y − top, x − left); outside is padding. */
  top: number;
  left: number;
}

/** Where an h × w image lands in the output under the recipe's resize, pad and crop. */
export function imageGeometry(h: number, w: number, r: Recipe): Geometry {
  const z = r.resize;
  let g: Geometry;
  switch (z.mode) {
    case 'none':
      g = { resizeH: h, resizeW: w, outH: h, outW: w, top: 0, left: 0 };
      break;
    case 'fixed':
      g = { resizeH: z.height, resizeW: z.width, outH: z.height, outW: z.width, top: 0, left: 0 };
      break;
    case 'keep-aspect-pad': {
      // Letterbox: fit inside, keep the aspect ratio.
      const s = Math.min(z.height / h, z.width / w);
      const rh = Math.min(z.height, Math.max(1, Math.round(h * s)));
      const rw = Math.min(z.width, Math.max(1, Math.round(w * s)));
      g = { resizeH: rh, resizeW: rw, outH: z.height, outW: z.width, top: 0, left: 0 };
      break;
    }
    case 'fit-height-pad': {
      // Text lines (PaddleOCR, CRNN): height fixed, width by the aspect ratio up to the width.
      const rw = Math.min(z.width, Math.max(1, Math.ceil((z.height * w) / h)));
      g = { resizeH: z.height, resizeW: rw, outH: z.height, outW: z.width, top: 0, left: 0 };
      break;
    }
    case 'shorter-side': {
      // torchvision Resize(int): the shorter side becomes S, the longer one int(S · long / short).
      const s = z.side;
      const [rh, rw] = h <= w ? [s, Math.trunc((s * w) / h)] : [Math.trunc((s * h) / w), s];
      g = { resizeH: rh, resizeW: rw, outH: rh, outW: rw, top: 0, left: 0 };
      break;
    }
  }
  if (r.padSide === 'center') {
    g.top = Math.floor((g.outH - g.resizeH) / 2);
    g.left = Math.floor((g.outW - g.resizeW) / 2);
  }
  if (r.crop) {
    // torchvision CenterCrop: offsets int(round((size − crop) / 2)); a larger crop pads.
    g.top -= roundHalfEven((g.outH - r.crop.height) / 2);
    g.left -= roundHalfEven((g.outW - r.crop.width) / 2);
    g.outH = r.crop.height;
    g.outW = r.crop.width;
  }
  return g;
}

export interface ImageOutput {
  /** Values in the output layout ([C, H, W] or [H, W, C]). */
  values: Float64Array;
  dims: number[];
}

/** Decodes `file` and applies the recipe; `g` must be imageGeometry of the file's size. */
export async function preprocessImage(file: string, r: Recipe, expect: ImageInfo): Promise<ImageOutput> {
  const img = await decodeRgb(file);
  if (img.height !== expect.height || img.width !== expect.width) {
    throw new UserError(`${file}: decoded to ${img.height}x${img.width}, its header said ${expect.height}x${expect.width}`);
  }
  return applyRecipe(img.data, img.height, img.width, r, file);
}

/** The recipe on decoded 8-bit RGB pixels (H × W × 3). */
export function applyRecipe(rgb: Uint8Array, h: number, w: number, r: Recipe, file: string): ImageOutput {
  const gray = r.channels === 'gray';
  const c = gray ? 1 : 3;
  const px = gray ? rgbToGray(rgb, h * w) : rgb;
  const g = imageGeometry(h, w, r);
  const resized = resizeImage(px, h, w, c, g.resizeH, g.resizeW, r.interp);
  const perChannel = (list: number[], key: string): number[] => {
    if (list.length === 1) return Array(c).fill(list[0]);
    if (list.length !== c) throw new UserError(`${file}: recipe key ${key} has ${list.length} values, the image has ${c} channel(s) (channels=${r.channels})`);
    return list;
  };
  // mean/std/pad are given in the output channel order (BGR for channels=bgr).
  const order = r.channels === 'bgr' ? [2, 1, 0] : gray ? [0] : [0, 1, 2];
  const mean = perChannel(r.mean, 'mean');
  const std = perChannel(r.std, 'std');
  const pad = perChannel(r.pad, 'pad');
  const scale = r.scale ?? 1;
  const { outH, outW } = g;
  const nchw = r.layout !== 'nhwc';
  const values = new Float64Array(c * outH * outW);
  for (let oc = 0; oc < c; oc++) {
    const src = order[oc]!;
    const padValue = r.padNorm ?? (pad[oc]! * scale - mean[oc]!) / std[oc]!;
    for (let y = 0; y < outH; y++) {
      const sy = y - g.top;
      for (let x = 0; x < outW; x++) {
        const sx = x - g.left;
        const inside = sy >= 0 && sy < g.resizeH && sx >= 0 && sx < g.resizeW;
        const v = inside ? (resized[(sy * g.resizeW + sx) * c + src]! * scale - mean[oc]!) / std[oc]! : padValue;
        values[nchw ? (oc * outH + y) * outW + x : (y * outW + x) * c + oc] = v;
      }
    }
  }
  return { values, dims: nchw ? [c, outH, outW] : [outH, outW, c] };
}
