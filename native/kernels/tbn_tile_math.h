/* tbn_tile_math.h — the per-element tile math of the format (src/tbn/tile.ts), shared by the C99
 * CPU kernels, the CUDA kernels (custom-ops/src/cuda), so the CPU tests cover what the GPU
 * runs, and the MCU runtime (native/mcu; every C export carries a copy, so it stays C99).
 * TBN_HD is __host__ __device__ under nvcc and empty for plain C/C++.
 *   stream position k = index of W's value in the stream of N = p·q values (tile_axis order);
 *   region r = k / q has scale scales[r] (or scales[0] for one α per layer);
 *   the value is ±scale by tile bit k mod q (bit j = bit j&7 of byte j>>3; 1 means +1).
 * Everything is static inline, without allocation or I/O; no function here checks sizes (the
 * callers validate once). */
#ifndef TBN_TILE_MATH_H
#define TBN_TILE_MATH_H

#include <stdint.h>

#if defined(__CUDACC__)
#define TBN_HD __host__ __device__
#else
#define TBN_HD
#endif

/* The three strategies of a weight used as W[out][in] (values match tbn_mode in tbn_kernels.h). */
#define TBN_TILE_OUT_REUSE 0  /* regions along the outputs, p | out: out/p tile rows, α per block */
#define TBN_TILE_IN_COMBINE 1 /* regions along the inputs, p | in: combine p input chunks first */
#define TBN_TILE_GENERAL 2    /* anything else: per-element sign × region scale */

/* Tile bit j (0 or 1). */
static inline TBN_HD int tbn_tile_bit(const uint8_t *bits, int64_t j) { return (bits[j >> 3] >> (j & 7)) & 1; }

/* v for bit 1, −v for bit 0: the value of a ±1 tile entry times v. */
static inline TBN_HD float tbn_signed(int bit, float v) { return bit ? v : -v; }

/* Region of stream position k (q = N/p values per region). */
static inline TBN_HD int64_t tbn_region(int64_t k, int64_t q) { return k / q; }

/* Scale of region r: one per region (scales_len = p) or one per layer (scales_len = 1). */
static inline TBN_HD float tbn_region_scale(const float *scales, int64_t scales_len, int64_t r) {
  return scales_len == 1 ? scales[0] : scales[r];
}

/* W viewed as [m][kc] (m = shape[0], kc = N/m). Row-major index of stream position k:
 * tile_axis 0 streams W row-major; tile_axis 1 streams Wᵀ [kc][m] row-major (tile.ts streamIndex). */
static inline TBN_HD int64_t tbn_stream_to_index(int64_t k, int64_t tile_axis, int64_t m, int64_t kc) {
  int64_t col, row;
  if (tile_axis == 0) return k;
  col = k / m;
  row = k - col * m;
  return row * kc + col;
}

/* Inverse of tbn_stream_to_index: stream position of W's row-major element idx. */
static inline TBN_HD int64_t tbn_index_to_stream(int64_t idx, int64_t tile_axis, int64_t m, int64_t kc) {
  int64_t row, col;
  if (tile_axis == 0) return idx;
  row = idx / kc;
  col = idx - row * kc;
  return col * m + row;
}

/* Value of stream position k: scale of its region, signed by tile bit k mod q. */
static inline TBN_HD float tbn_stream_value(const uint8_t *bits, const float *scales, int64_t scales_len, int64_t q,
                                            int64_t k) {
  const int64_t r = tbn_region(k, q);
  return tbn_signed(tbn_tile_bit(bits, k - r * q), tbn_region_scale(scales, scales_len, r));
}

/* ---- a weight used as a matrix W[out][in] ---- */

/* Whether the stream runs along W[out][in] rows (k = o·in + i) or columns (k = i·out + o):
 * w_out_first says shape[0] is the output axis (Gemm transB = 1, Conv), not the input (MatMul). */
static inline TBN_HD int tbn_out_major(int w_out_first, int64_t tile_axis) {
  return (w_out_first != 0) == (tile_axis == 0);
}

/* Stream position of W[o][i]. */
static inline TBN_HD int64_t tbn_matrix_stream_pos(int out_major, int64_t out, int64_t in, int64_t o, int64_t i) {
  return out_major ? o * in + i : i * out + o;
}

/* The strategy, and the product it computes: ro rows of ri inputs (docs/design.md §6). */
static inline TBN_HD int tbn_plan_mode(int out_major, int64_t out, int64_t in, int64_t p, int64_t *ro, int64_t *ri) {
  if (out_major && out % p == 0) {
    *ro = out / p, *ri = in;
    return TBN_TILE_OUT_REUSE;
  }
  if (!out_major && in % p == 0) {
    *ro = out, *ri = in / p;
    return TBN_TILE_IN_COMBINE;
  }
  *ro = out, *ri = in;
  return TBN_TILE_GENERAL;
}

/* Tile bit of T(j, i), row j < ro and input i < ri of the product (fast modes only):
 * OUT_REUSE: row j of the first region, j·in + i; IN_COMBINE: input row i of Wᵀ, i·out + j. */
static inline TBN_HD int64_t tbn_tile_bit_index(int mode, int64_t ri, int64_t out, int64_t j, int64_t i) {
  return mode == TBN_TILE_OUT_REUSE ? j * ri + i : i * out + j;
}

/* OUT_REUSE: output o is tile row o mod ro scaled by α[o / ro]. */
static inline TBN_HD int64_t tbn_reuse_row(int64_t o, int64_t ro) { return o % ro; }
static inline TBN_HD int64_t tbn_reuse_region(int64_t o, int64_t ro) { return o / ro; }

/* Conv in OUT_REUSE with groups: group channels [c0, c0 + ocg) need tile rows; computed row t
 * (t < min(ocg, ro)) is tile row t when the group spans every row (ocg ≥ ro), else the row of
 * channel c0 + t. The first channel of the group that uses tile row j: */
static inline TBN_HD int64_t tbn_conv_reuse_row(int64_t ocg, int64_t ro, int64_t c0, int64_t t) {
  return ocg >= ro ? t : (c0 % ro + t) % ro;
}
static inline TBN_HD int64_t tbn_conv_first_channel(int64_t c0, int64_t ro, int64_t j) {
  return c0 + ((j - c0 % ro) % ro + ro) % ro;
}
/* The same for a tile row j in [0, ro) with c0r = c0 mod ro given: no division (the CPU store
 * asks per row of every block; three divisions each were 8% of a 1×1 conv at batch 1). */
static inline TBN_HD int64_t tbn_conv_first_channel_r(int64_t c0, int64_t c0r, int64_t ro, int64_t j) {
  return c0 + (j >= c0r ? j - c0r : j - c0r + ro);
}

/* ---- 32 bits at a time ---- */

/* Little-endian 32-bit word w of the tile (bits 32w … 32w+31); bytes past nbytes read as 0. */
static inline TBN_HD uint32_t tbn_tile_word(const uint8_t *bits, int64_t nbytes, int64_t w) {
  uint32_t v = 0;
  int b;
  for (b = 0; b < 4; b++)
    if (4 * w + b < nbytes) v |= (uint32_t)bits[4 * w + b] << (8 * b);
  return v;
}

/* Bits pos … pos+31 as one word (bit t = tile bit pos + t), from the two words they span. */
static inline TBN_HD uint32_t tbn_window_of(uint32_t lo, uint32_t hi, int64_t pos) {
  const unsigned sh = (unsigned)(pos & 31);
  return sh ? (lo >> sh) | (hi << (32u - sh)) : lo;
}

static inline TBN_HD uint32_t tbn_tile_window32(const uint8_t *bits, int64_t nbytes, int64_t pos) {
  const int64_t w = pos >> 5;
  return tbn_window_of(tbn_tile_word(bits, nbytes, w), (pos & 31) ? tbn_tile_word(bits, nbytes, w + 1) : 0u, pos);
}

#endif
