// Augmentation: seeded, shape-preserving, and a zero-strength augmentation is the identity.
import { describe, expect, it } from 'vitest';
import { augmentBatch } from '../../../src/tbn/augment.js';
import { Rng } from '../../../src/util/random.js';

const image = () => {
  const data = new Float32Array(2 * 1 * 12 * 12);
  for (let i = 0; i < 12; i++) data[5 * 12 + i] = 1; // a horizontal bar in image 0
  return { dtype: 'float32' as const, dims: [2, 1, 12, 12], data };
};

describe('augmentBatch', () => {
  it('is the identity when every strength is zero', () => {
    const x = image();
    const r = augmentBatch({ x }, new Rng(1), { shift: 0, rotate: 0, noise: 0, mixup: 0 });
    expect(r.feeds.x!.data).toEqual(x.data);
    expect(r.labelsValid).toBe(true);
  });

  it('is reproducible for a seed and changes the images', () => {
    const opts = { shift: 2, rotate: 10, noise: 0.1, mixup: 0 };
    const a = augmentBatch({ x: image() }, new Rng(7), opts);
    const b = augmentBatch({ x: image() }, new Rng(7), opts);
    expect(a.feeds.x!.data).toEqual(b.feeds.x!.data);
    expect(a.feeds.x!.dims).toEqual([2, 1, 12, 12]);
    expect(a.feeds.x!.data).not.toEqual(image().data);
  });

  it('moves the bar by a pure shift (rotation 0): mass is preserved inside the frame', () => {
    const r = augmentBatch({ x: image() }, new Rng(3), { shift: 1, rotate: 0, noise: 0, mixup: 0 });
    const d = r.feeds.x!.data as Float32Array;
    const mass = d.subarray(0, 144).reduce((s, v) => s + v, 0);
    expect(mass).toBeGreaterThan(10); // 12 lit pixels, at most one column can leave the frame
    expect(mass).toBeLessThanOrEqual(12 + 1e-4);
  });

  it('warps channels-last images (a tf2onnx input, [N, H, W, C]) as it warps the same images channels-first', () => {
    const [n, c, h, w] = [2, 3, 12, 10];
    const first = new Float32Array(n * c * h * w).map((_, i) => Math.sin(i * 0.37));
    const last = new Float32Array(first.length);
    for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) last[(i * h * w + p) * c + ch] = first[(i * c + ch) * h * w + p]!;
    const opts = { shift: 2, rotate: 10, noise: 0, mixup: 0 };
    const a = augmentBatch({ x: { dtype: 'float32', dims: [n, c, h, w], data: first } }, new Rng(5), opts).feeds.x!.data as Float32Array;
    const b = augmentBatch({ x: { dtype: 'float32', dims: [n, h, w, c], data: last } }, new Rng(5), opts).feeds.x!.data as Float32Array;
    expect(a).not.toEqual(first);
    for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) expect(b[(i * h * w + p) * c + ch]).toBe(a[(i * c + ch) * h * w + p]);
  });

  it('marks mixed batches so hard labels are not used', () => {
    const r = augmentBatch({ x: image() }, new Rng(3), { shift: 0, rotate: 0, noise: 0, mixup: 1 });
    expect(r.labelsValid).toBe(false);
  });
});
