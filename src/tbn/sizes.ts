// Storage arithmetic of the compressed format (docs/design.md §2): q = N/p tile bits packed into
// ⌈q/8⌉ bytes, plus one α per tile region (or one per layer) in the layer's float type (4 bytes
// for float32, 2 for float16/bfloat16: format.ts).

export const CANDIDATE_P = [2, 4, 8, 16, 32] as const;

/** Default λ: layers with fewer parameters are not tiled (the paper's code uses 64 000). */
export const DEFAULT_MIN_PARAMS = 64_000;

export function tileBits(params: number, p: number): number {
  return params / p;
}

export function tiledBytes(params: number, p: number, alphaCount = p, alphaBytes = 4): number {
  return Math.ceil(params / p / 8) + alphaBytes * alphaCount;
}

export function bitsPerWeight(params: number, bytes: number): number {
  return (8 * bytes) / params;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
