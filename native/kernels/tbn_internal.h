/* tbn_internal.h — shared by the kernel translation units, not part of the API.
 * Holds checked size arithmetic, the workspace arena, the ±1 lookup table and the table of
 * microkernels each kernel path (portable / AVX2 / AVX-512) provides; the per-element tile math
 * (shared with the CUDA kernels) is in tbn_tile_math.h. Everything here is
 * static inline or has a tbn_ prefix; ISA translation units must not share inline code with
 * external linkage (their copies would be compiled for a different instruction set). */
#ifndef TBN_INTERNAL_H
#define TBN_INTERNAL_H

#include "tbn_kernels.h"
#include "tbn_act_math.h"
#include "tbn_tile_math.h"

/* tbn_tile_math.h numbers the strategies for code that cannot see tbn_kernels.h (CUDA). */
typedef char tbn_act_values_match_[(TBN_ACT_MATH_GELU_TANH == (int)TBN_ACT_GELU_TANH &&
                                    TBN_ACT_MATH_CLIP == (int)TBN_ACT_CLIP && TBN_ACT_MATH_SILU == (int)TBN_ACT_SILU) ? 1 : -1];
typedef char tbn_mode_values_match_[(TBN_TILE_OUT_REUSE == (int)TBN_MODE_OUT_REUSE &&
                                     TBN_TILE_IN_COMBINE == (int)TBN_MODE_IN_COMBINE &&
                                     TBN_TILE_GENERAL == (int)TBN_MODE_GENERAL) ? 1 : -1];

/* a·b into *out when both are in [0, TBN_MAX_ELEMENTS] and so is the product. */
static inline int tbn_mul(int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0 || a > TBN_MAX_ELEMENTS || b > TBN_MAX_ELEMENTS) return 0;
  if (a != 0 && b > TBN_MAX_ELEMENTS / a) return 0;
  *out = a * b;
  return 1;
}

static inline int tbn_add(int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0 || a > TBN_MAX_ELEMENTS || b > TBN_MAX_ELEMENTS - a) return 0;
  *out = a + b;
  return 1;
}

static inline int64_t tbn_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Bump allocator over a caller workspace; with base == NULL it only measures. 64-byte aligned. */
typedef struct tbn_arena {
  unsigned char *base;
  size_t used;
} tbn_arena;

static inline void *tbn_take(tbn_arena *a, size_t bytes) {
  size_t off = (a->used + 63u) & ~(size_t)63u;
  a->used = off + bytes;
  return a->base ? (void *)(a->base + off) : (void *)0;
}

/* Runs fn over [0, n) with the caller's pool, or inline. */
static inline void tbn_for(const tbn_parallel *par, size_t n, tbn_task_fn fn, void *arg) {
  size_t i;
  if (n == 0) return;
  if (par && par->run && n > 1) {
    par->run(par->ctx, n, fn, arg);
    return;
  }
  for (i = 0; i < n; i++) fn(arg, i);
}

/* Units [*u0, *u1) of task t when `units` are split as evenly as can be over `tasks`. */
static inline void range_of(size_t t, size_t tasks, size_t units, size_t *u0, size_t *u1) {
  *u0 = t * units / tasks;
  *u1 = (t + 1) * units / tasks;
}

/* Units shared out over tasks at run time: task t takes the units of its home range
 * (range_of(t)) in order, then those still left in the others' ranges (t+1, t+2, … mod tasks).
 * A task that starts late, or is preempted on a busy machine, leaves its units to the tasks that
 * run instead of holding up the whole run; run inline (no pool, one thread), the first task takes
 * everything and the others find nothing left. Ranges are contiguous, so a task that does not
 * help another touches only the weight blocks of its own range. Units are claimed in chunks of
 * about 1/TBN_SHARE_CHUNKS of a range, one atomic increment of the range's counter each (each
 * counter on its own cache line): a claim costs nothing next to a chunk, even of the smallest
 * units (a few hundred ns), and a helper takes at most a chunk too many. Without GCC/Clang
 * atomics, each task takes its own range only. */
#define TBN_SHARE_STRIDE 8 /* int64 counters per 64-byte line */
#define TBN_SHARE_CHUNKS 32
typedef struct tbn_share {
  int64_t *next; /* [tasks · TBN_SHARE_STRIDE], zeroed by tbn_share_init */
  size_t tasks, units;
} tbn_share;

/* What a task holds: the ranges it has finished (k) and its current chunk [u, end). Zero at first. */
typedef struct tbn_claim {
  size_t k, u, end;
} tbn_claim;

static inline size_t tbn_share_bytes(size_t tasks) { return tasks * TBN_SHARE_STRIDE * sizeof(int64_t); }

static inline void tbn_share_init(tbn_share *s, int64_t *mem, size_t tasks, size_t units) {
  size_t i;
  s->next = mem, s->tasks = tasks, s->units = units;
  for (i = 0; i < s->tasks * TBN_SHARE_STRIDE; i++) mem[i] = 0;
}

/* The next unit for task t into *u; 0 when none is left. */
static inline int tbn_share_next(const tbn_share *s, size_t t, tbn_claim *c, size_t *u) {
  if (c->u < c->end) {
    *u = c->u++;
    return 1;
  }
  while (c->k < s->tasks) {
    const size_t r = (t + c->k) % s->tasks;
    size_t u0, u1, len, chunk;
    int64_t i;
    range_of(r, s->tasks, s->units, &u0, &u1);
    len = u1 - u0, chunk = len / TBN_SHARE_CHUNKS + 1;
#if defined(__GNUC__) || defined(__clang__)
    /* A range already taken is only read: an add would take its cache line for nothing. */
    if (c->k > 0 && __atomic_load_n(&s->next[r * TBN_SHARE_STRIDE], __ATOMIC_RELAXED) >= (int64_t)len) {
      c->k++;
      continue;
    }
    i = __atomic_fetch_add(&s->next[r * TBN_SHARE_STRIDE], (int64_t)chunk, __ATOMIC_RELAXED);
#else
    if (c->k > 0) return 0;
    i = s->next[r * TBN_SHARE_STRIDE], s->next[r * TBN_SHARE_STRIDE] += (int64_t)chunk;
#endif
    if (i >= 0 && (size_t)i < len) {
      c->u = u0 + (size_t)i, c->end = u0 + ((size_t)i + chunk < len ? (size_t)i + chunk : len);
      *u = c->u++;
      return 1;
    }
    c->k++;
  }
  return 0;
}

/* Runs fn over `tasks` tasks that share `units` units through `s` (counters in `mem`). */
static inline void tbn_for_shared(const tbn_parallel *par, tbn_share *s, int64_t *mem, size_t tasks, size_t units, tbn_task_fn fn, void *arg) {
  tbn_share_init(s, mem, tasks, units);
  tbn_for(par, tasks, fn, arg);
}

static inline size_t tbn_tasks(const tbn_parallel *par) {
  return (par && par->run && par->max_tasks > 1) ? par->max_tasks : 1;
}

/* Tasks for `units` units of `work` multiply-accumulates in all: each task gets at least
 * TBN_TASK_WORK of them (about 11 µs of the AVX-512 conv kernel), because a second task costs more
 * than a wake-up (2–3 µs in onnxruntime's pool): measured on a 2-core Xeon, the same half of a
 * small conv at batch 1 took 6–13 µs longer on the other core than on the one that copied its
 * input (its input band and its outputs cross between the cores' caches). */
#define TBN_TASK_WORK ((int64_t)1 << 19)
static inline int64_t tbn_task_work(const tbn_parallel *par) {
  return par && par->task_work > 0 ? par->task_work : TBN_TASK_WORK;
}
static inline size_t tbn_tasks_for(const tbn_parallel *par, size_t units, int64_t work) {
  size_t t = tbn_tasks(par);
  const int64_t by_work = work / tbn_task_work(par);
  if (by_work < (int64_t)t) t = by_work < 1 ? 1 : (size_t)by_work;
  return t < units ? t : (units < 1 ? 1 : units);
}

/* tbn_sign_lut[b][j] = bit j of b ? +1 : -1 */
extern const float tbn_sign_lut[256][8];

/* Weight rows are expanded 8 at a time into [kk][8] float panels (TBN_EXP_ROWS columns). */
#define TBN_EXP_ROWS 8

/* The table-lookup path: 32 batch rows per block, tables for 16 groups of 4 inputs at a time. */
#define TBN_LUT_BATCH 32
#define TBN_LUT_TABLE (16 * 16 * TBN_LUT_BATCH)

/* A path provides either panel + gemv or lut + vlut (+ vlut_tables) for Gemm/MatMul, and conv. */
typedef struct tbn_micro {
  /* y[b*ldy + j] = Σ_i x[b*ldx + i] · T(32·panel + j, i) for b < panel_nb, j < jn (≤ 32). */
  void (*panel)(const uint32_t *panel, int64_t ri, const float *x, int64_t ldx, float *y, int64_t ldy, int jn);
  /* Same for jn tile rows given as bit rows (any jn), nb ≤ gemv_nb batch rows. */
  void (*gemv)(const uint16_t *rows, int64_t row_words, int64_t ri, int64_t jn, const float *x, int64_t ldx, int nb,
               float *y, int64_t ldy);
  /* out[j*conv_pb + v] = Σ_{kk<kn} w[kk*8 + j] · src[off[kk] + v] for j < jb (≤ conv_jb), v < conv_pb. */
  void (*conv)(const float *w, int64_t kn, const float *src, const int64_t *off, int jb, float *out);
  /* Optional: the same for only the first npos (< conv_pb) positions; the rest of out is not written. */
  void (*conv_short)(const float *w, int64_t kn, const float *src, const int64_t *off, int jb, float *out, int64_t npos);
  /* Optional (NULL: not on this path). Table-lookup product for TBN_LUT_BATCH batch rows at once
   * (tile rows read from m->groups):
   * out[(j - j0)*32 + b] = Σ_i T(j, i) · xt[i*32 + b] for tile rows j in [j0, j1), b < 32, where xt
   * is x transposed, [16·row_words][32], zero-padded. Every 4 inputs' signs pick one of 16 signed
   * sums built once per 64 inputs (table: TBN_LUT_TABLE floats of scratch). */
  void (*lut)(const tbn_matrix *m, int64_t j0, int64_t j1, const float *xt, float *table, float *out);
  /* Optional, for a few batch rows. tables[b*tab + 16*c + e] = Σ_{k<4} (bit k of e ? +1 : −1) ·
   * x[b][4c+k] for c < 2·row_bytes (x past ri reads as 0); then y[b*ldy + j] for j in [j0, j0+jn)
   * (j0 a multiple of 16, jn ≤ 64): the 4-bit groups of 16 rows index the 16-entry table of each
   * 4 inputs with one in-register permute (m->groups layout). */
  void (*vlut_tables)(const float *x, int64_t ldx, int nb, int64_t ri, int64_t row_bytes, float *tables, int64_t tab);
  void (*vlut)(const tbn_matrix *m, int64_t j0, int64_t jn, const float *tables, int64_t tab, int nb, float *y,
               int64_t ldy);
  int panel_nb, gemv_nb, conv_jb, conv_pb;
  /* The activation of an epilogue, in place on n contiguous values. */
  void (*act)(float *y, int64_t n, const tbn_epilogue *e);
  /* out[i] = act(s·t[i] + b) for i < n; e NULL (or no activation): s·t[i] + b. */
  void (*affine_act)(const float *t, int64_t n, float s, float b, const tbn_epilogue *e, float *out);
  /* The conv store of one computed row t into nch channels (≤ TBN_MAX_STORE): for each channel c,
   * y[c][dst[k] + i] = act(s[c]·t[src[k] + i] + b[c] + r[c][dst[k] + i]) for i < len[k], k < nseg
   * (r[c] NULL: no residual; e NULL: no activation). */
  void (*store_segments)(const float *t, int nch, const float *s, const float *b, float *const *y, const float *const *r,
                         const tbn_epilogue *e, const int64_t *src, const int64_t *dst, const int64_t *len, int nseg);
  /* The dense store of a block of nb rows (row b at y + b·ld): copy r of its n raw values (last copy
   * first, copy 0 in place) y[b·ld + r·stride + i] = act(mul[r·stride + i]·y[b·ld + i] + add[r·stride + i]
   * + res[b·ld + r·stride + i]) for i < n (res NULL: none; e NULL: no activation). */
  void (*post_block)(float *y, int64_t ld, int64_t nb, int64_t n, int64_t copies, int64_t stride, const float *mul,
                     const float *add, const float *res, const tbn_epilogue *e);
  /* dst[j·ldd + i] = src[i·lds + j] for i < rows, j < cols (channels-last copies and stores). */
  void (*transpose)(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd);
  /* even[j] = src[2j], odd[j] = src[2j + 1] for j < n (the column phases of a stride-2 conv). */
  void (*deinterleave2)(const float *src, int64_t n, float *even, float *odd);
  /* conv_short reads the first npos positions rounded up to a multiple of this from each tap. */
  int conv_short_step;
  /* A zero-padded row: d[j] = src[j − pl] for pl ≤ j < pl + wd, else 0, for j < pl + wd + right.
   * Rows of small maps are a few floats: the memset, memcpy, memset per row this replaces were
   * a third of the input copy's time on the fixture CNN. */
  void (*pad_row)(float *d, const float *src, int64_t pl, int64_t wd, int64_t right);
  /* Optional (NULL: pad_row, then deinterleave2): both in one pass, the padded row never
   * written. even[j] = P[2j], odd[j] = P[2j + 1] for j < n, where P[i] = src[i − pl] for
   * pl ≤ i < pl + wd, else 0 (the stride-2 copy was a third of a strided conv's time). */
  void (*pad_split2)(float *even, float *odd, const float *src, int64_t pl, int64_t wd, int64_t n);
} tbn_micro;

void tbn_deinterleave2_portable(const float *src, int64_t n, float *even, float *odd);
void tbn_pad_row_portable(float *d, const float *src, int64_t pl, int64_t wd, int64_t right);
void tbn_transpose_portable(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd);
void tbn_post_block_portable(float *y, int64_t ld, int64_t nb, int64_t n, int64_t copies, int64_t stride,
                             const float *mul, const float *add, const float *res, const tbn_epilogue *e);

#define TBN_MAX_STORE 16
void tbn_store_segments_portable(const float *t, int nch, const float *s, const float *b, float *const *y,
                                 const float *const *r, const tbn_epilogue *e, const int64_t *src, const int64_t *dst,
                                 const int64_t *len, int nseg);

/* BODY(A) with A the constant tbn_act equal to act (none for an unknown value): lets a SIMD path
 * instantiate one loop per activation with the activation's code inlined. */
#define TBN_ACT_SWITCH(act, BODY)                          \
  switch (act) {                                           \
    case TBN_ACT_RELU: BODY(TBN_ACT_RELU); break;          \
    case TBN_ACT_LEAKY_RELU: BODY(TBN_ACT_LEAKY_RELU); break; \
    case TBN_ACT_CLIP: BODY(TBN_ACT_CLIP); break;          \
    case TBN_ACT_HARD_SWISH: BODY(TBN_ACT_HARD_SWISH); break; \
    case TBN_ACT_SIGMOID: BODY(TBN_ACT_SIGMOID); break;    \
    case TBN_ACT_SILU: BODY(TBN_ACT_SILU); break;          \
    case TBN_ACT_GELU: BODY(TBN_ACT_GELU); break;          \
    case TBN_ACT_GELU_TANH: BODY(TBN_ACT_GELU_TANH); break; \
    default: BODY(TBN_ACT_NONE); break;                    \
  }

void tbn_act_portable(float *y, int64_t n, const tbn_epilogue *e);
void tbn_affine_act_portable(const float *t, int64_t n, float s, float b, const tbn_epilogue *e, float *out);

/* A run's epilogue with the layer's own per-channel factors folded in: the store step computes
 * act(mul[c]·v + add[c] (+ cmul[c]·beta·C for Gemm) + residual), one multiply-add per value. */
typedef struct tbn_post {
  float *mul, *add, *cmul; /* [channels] each, in the run's workspace */
  const float *residual;
  const tbn_epilogue *e;
  void (*act)(float *y, int64_t n, const tbn_epilogue *e); /* NULL: no activation */
} tbn_post;

/* Fills p (mem: 3·channels floats): gain(c) = gain_all · gain[c / gain_period] (gain may be
 * NULL: α folded into the weights or absent), bias may be NULL. */
void tbn_post_init(tbn_post *p, const tbn_epilogue *e, const tbn_micro *mk, int64_t channels, const float *gain,
                   int64_t gain_period, float gain_all, const float *bias, float *mem);

/* Pools channel planes [p0, p1) of x into y (tbn_pool.c; plane u of x at u·in0·in1, of y at u·out0·out1). */
void tbn_maxpool_planes(const tbn_pool_geom *g, const float *x, float *y, int64_t p0, int64_t p1);

/* The microkernels of a path; NULL when it is not compiled in. */
const tbn_micro *tbn_micro_get(tbn_isa isa);
extern const tbn_micro tbn_micro_portable;
#if defined(TBN_HAVE_AVX2)
extern const tbn_micro tbn_micro_avx2;
#endif
#if defined(TBN_HAVE_AVX512)
extern const tbn_micro tbn_micro_avx512;
#endif

/* Value of W[o][i] (sign × its region's scale): the general, per-element decode. */
void tbn_expand_general(const tbn_matrix *m, int64_t row0, int jn, int64_t kn, float *w);
/* ±1 panel of tile rows rows[0..jn) (jn ≤ 8) over inputs [0, kn): w[kk*8 + j]. */
void tbn_expand_tile(const tbn_matrix *m, const int64_t *rows, int jn, int64_t kn, float *w);

#endif
