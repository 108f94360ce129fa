/* tbn_kernels.h — numeric kernels for Tiled Bit Network layers (C99 API, no ORT/N-API types).
 *
 * A weight W (shape `shape`, N elements) is a stream of N values cut into p regions of
 * q = N/p: stream position k is scales[k / q] (or scales[0]) times +1/-1 from tile bit k mod q
 * (bit j = bit j&7 of byte j>>3, 1 means +1). tile_axis 0 streams W row-major, tile_axis 1
 * streams the transpose of W viewed as [shape[0], N/shape[0]].
 *
 * Rules: nothing here allocates. A plan (tbn_matrix) lives in caller memory sized by
 * tbn_matrix_bytes; runs take a caller workspace sized by tbn_*_workspace. Every size is
 * validated and every function returns a tbn_status. */
#ifndef TBN_KERNELS_H
#define TBN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tbn_status {
  TBN_OK = 0,
  TBN_ERR_ARG = 1,         /* null pointer or negative count */
  TBN_ERR_ATTR = 2,        /* p, tile_axis, weight_shape or a layer attribute is invalid */
  TBN_ERR_TILE = 3,        /* bits or scales do not have the length the attributes imply */
  TBN_ERR_SHAPE = 4,       /* an input's shape does not fit the weight or the attributes */
  TBN_ERR_OVERFLOW = 5,    /* a size product exceeds TBN_MAX_ELEMENTS */
  TBN_ERR_WORKSPACE = 6,   /* caller memory smaller than the size query said */
  TBN_ERR_UNSUPPORTED = 7  /* kernel path not compiled in or not supported by this CPU */
} tbn_status;

/* Every element count, byte count and index product is kept below this (2^40). */
#define TBN_MAX_ELEMENTS ((int64_t)1 << 40)

const char *tbn_status_str(tbn_status s);

/* ---- kernel paths (chosen at run time) ---- */
typedef enum tbn_isa { TBN_ISA_PORTABLE = 0, TBN_ISA_AVX2 = 1, TBN_ISA_AVX512 = 2 } tbn_isa;

int tbn_isa_available(tbn_isa isa);        /* compiled in and supported by this CPU */
tbn_isa tbn_isa_best(void);
const char *tbn_isa_name(tbn_isa isa);      /* "portable" | "avx2" | "avx512" */
tbn_status tbn_isa_parse(const char *name, tbn_isa *out);

/* ---- the tile as a model gives it ---- */
typedef struct tbn_tile {
  const int64_t *shape;
  size_t rank;
  int64_t p;
  int64_t tile_axis;
  const uint8_t *bits;
  int64_t bits_len;
  const float *scales;
  int64_t scales_len;
} tbn_tile;

/* Checks p, tile_axis, shape, bits and scales lengths; gives N and q. */
tbn_status tbn_tile_validate(const tbn_tile *t, int64_t *numel, int64_t *q);

/* TbnDecode: W (row-major, w_len = N values). */
tbn_status tbn_decode(const tbn_tile *t, float *w, int64_t w_len);

/* ---- parallel loops (the caller's thread pool, or serial when NULL) ---- */
typedef void (*tbn_task_fn)(void *arg, size_t index);
typedef struct tbn_parallel {
  /* Calls fn(arg, i) once for every i < n, possibly concurrently, and returns when all are done. */
  void (*run)(void *ctx, size_t n, tbn_task_fn fn, void *arg);
  void *ctx;
  /* How many tasks a kernel may split one run into (>= 1); workspaces are sized by it. */
  size_t max_tasks;
  /* Multiply-adds a task must have at least (0: the kernels' default, worth a thread's wake-up);
   * tests set 1 to split even the smallest runs. */
  int64_t task_work;
} tbn_parallel;

/* ---- a weight as a matrix W[out][in] (y = x · Wᵀ), tile repacked for the kernels ---- */
typedef enum tbn_mode {
  /* Regions run along the outputs and p | out: ro = out/p tile rows are computed and output
   * block r is scales[r] × those (p× fewer multiply-accumulates). */
  TBN_MODE_OUT_REUSE = 0,
  /* Regions run along the inputs and p | in: the p input chunks are combined first
   * (Σ_r scales[r]·x_r, ri = in/p) and multiplied once by the tile. */
  TBN_MODE_IN_COMBINE = 1,
  /* Anything else: each weight row is expanded (sign × its region's scale) on the fly. */
  TBN_MODE_GENERAL = 2
} tbn_mode;

/* What a plan is for: it keeps only the bit layouts that use's kernels read on its path. */
typedef enum tbn_use { TBN_USE_DENSE = 0, TBN_USE_CONV = 1 } tbn_use;

typedef struct tbn_matrix {
  int64_t out, in;  /* W as [out][in] */
  int64_t p, q;
  int out_major;    /* stream position k = o*in + i (else k = i*out + o) */
  tbn_mode mode;
  int64_t ro, ri;   /* the product computed: ro rows of ri inputs */
  tbn_isa isa;
  tbn_use use;
  float *alpha;     /* p scales (a single scale is repeated p times) */
  /* Each NULL where the plan's path does not read it: */
  uint8_t *bits;    /* the tile as given, ceil(q/8) bytes (GENERAL) */
  uint32_t *panel;  /* [ceil(ro/32)][ri]: bit b of word = tile row 32*panel+b at input i (conv; dense off AVX-512) */
  uint16_t *rows;   /* [ro][row_words]: bit b of word w = tile row j at input 16*w+b (dense off AVX-512) */
  uint8_t *groups;  /* [ceil(ro/16)][row_bytes][16]: byte r = tile row 16*g+r at inputs 8*k..8*k+7 (dense, AVX-512) */
  int64_t row_words, row_bytes;
} tbn_matrix;

/* Bytes of plan memory for a weight of `t` used as W[out][in] by `use`'s kernels on path `isa`;
 * w_out_first says whether shape[0] is the output axis (Gemm transB=1, Conv) or the input axis
 * (MatMul, Gemm transB=0). A plan holds about one copy of the tile (q/8 bytes) in its layout. */
tbn_status tbn_matrix_bytes(const tbn_tile *t, int64_t out, int64_t in, int w_out_first, tbn_isa isa, tbn_use use,
                            size_t *bytes);
/* Validates, copies and repacks the tile into `mem` (64-byte aligned, `bytes` from above). */
tbn_status tbn_matrix_init(tbn_matrix *m, const tbn_tile *t, int64_t out, int64_t in, int w_out_first,
                           tbn_isa isa, tbn_use use, void *mem, size_t bytes);

/* ---- fused epilogue (ai.tbn op version 2) ----
 * Applied to a layer's output v while its block is still in cache, before it is stored:
 *   y = act(s[c] · v + t[c] + add + residual)
 * c is the output channel (Conv: axis 1; Gemm/MatMul: the last axis); s[c] = scale[c] (or
 * scale[0] when scale_len is 1, or 1 without scale), likewise t from shift. residual is NULL or
 * laid out exactly like y. Every field zero is the identity. */
typedef enum tbn_act {
  TBN_ACT_NONE = 0,
  TBN_ACT_RELU = 1,
  TBN_ACT_LEAKY_RELU = 2, /* v < 0 ? alpha·v : v */
  TBN_ACT_CLIP = 3,       /* min(max(v, alpha), beta) (Relu6: 0, 6) */
  TBN_ACT_HARD_SWISH = 4, /* v · min(max(v/6 + 1/2, 0), 1) */
  TBN_ACT_SIGMOID = 5,
  TBN_ACT_SILU = 6,       /* v · sigmoid(v) */
  TBN_ACT_GELU = 7,       /* v/2 · (1 + erf(v/√2)) */
  TBN_ACT_GELU_TANH = 8,  /* v/2 · (1 + tanh(√(2/π)·(v + 0.044715·v³))) */
  TBN_ACT_COUNT = 9
} tbn_act;

typedef struct tbn_epilogue {
  const float *scale;
  int64_t scale_len; /* 0 (no scale), 1 or the output channels */
  const float *shift;
  int64_t shift_len;
  float add;
  const float *residual;
  tbn_act act;
  float alpha, beta;
} tbn_epilogue;

/* Checks lengths and the activation against `channels` output channels (e may be NULL). */
tbn_status tbn_epilogue_check(const tbn_epilogue *e, int64_t channels);
/* The activation alone, in place on n values (the portable path; for references and tests). */
void tbn_activate(const tbn_epilogue *e, float *y, int64_t n);

/* ---- Gemm / MatMul: y[rows][out] = epi(alpha · x[rows][in] · Wᵀ + beta · c) ---- */
typedef struct tbn_dense_args {
  const float *x;   /* [rows][in], contiguous */
  int64_t rows;
  float *y;         /* [rows][out] */
  float alpha, beta;
  const float *c;   /* NULL, or [c_rows][c_cols] broadcast: c_rows ∈ {1, rows}, c_cols ∈ {1, out} */
  int64_t c_rows, c_cols;
  const tbn_epilogue *epi; /* NULL: none; residual is [rows][out] */
} tbn_dense_args;

tbn_status tbn_dense_workspace(const tbn_matrix *m, int64_t rows, size_t tasks, size_t *bytes);
tbn_status tbn_dense_run(const tbn_matrix *m, const tbn_dense_args *a, void *ws, size_t ws_bytes,
                         const tbn_parallel *par);

/* Out-of-place transpose of a [rows][cols] matrix (Gemm transA). */
tbn_status tbn_transpose(const float *src, int64_t rows, int64_t cols, float *dst);

/* ---- Conv (1-D and 2-D, NCHW): W [oc][c/group][kh][kw] viewed as [oc][c/group·kh·kw] ---- */
typedef enum tbn_auto_pad { TBN_PAD_NOTSET = 0, TBN_PAD_VALID, TBN_PAD_SAME_UPPER, TBN_PAD_SAME_LOWER } tbn_auto_pad;

typedef struct tbn_conv_geom {
  int64_t n, c, oc, group;
  /* index 0 = H, 1 = W; a 1-D conv has H = kh = stride = dilation = 1 and no H padding */
  int64_t in[2], k[2], stride[2], dil[2], pad0[2], pad1[2], out[2];
  /* 0: x [n][c][h][w] and y [n][oc][oh][ow]; 1: channels last, x [n][h][w][c], y [n][oh][ow][oc] */
  int channels_last;
} tbn_conv_geom;

tbn_status tbn_auto_pad_parse(const char *s, tbn_auto_pad *out);
/* Validates shapes and attributes (ONNX Conv rules) and fills g. spatial = 1 or 2;
 * x_shape and w_shape have spatial+2 entries; kernel/strides/dilations (spatial entries) and
 * pads (2·spatial: begins then ends) may be NULL for their defaults. */
tbn_status tbn_conv_geometry(int spatial, const int64_t *x_shape, const int64_t *w_shape, int64_t group,
                             const int64_t *kernel, const int64_t *strides, const int64_t *dilations,
                             const int64_t *pads, tbn_auto_pad auto_pad, tbn_conv_geom *g);
tbn_status tbn_conv_workspace(const tbn_matrix *m, const tbn_conv_geom *g, size_t tasks, size_t *bytes);
/* y [n][oc][out0][out1] = epi(conv(x, W) + bias) (bias: NULL or oc values; epi: NULL or an
 * epilogue whose residual has y's layout). Set g->channels_last after tbn_conv_geometry (given
 * the NCHW view of x's shape) for channels-last tensors. */
tbn_status tbn_conv_run(const tbn_matrix *m, const tbn_conv_geom *g, const float *x, const float *bias,
                        const tbn_epilogue *epi, float *y, void *ws, size_t ws_bytes, const tbn_parallel *par);

/* ---- MaxPool after a conv (TbnConvMaxPool, version 3): NCHW, 1-D as H = 1, dilations 1 ---- */
typedef struct tbn_pool_geom {
  int64_t n, c;
  /* index 0 = H, 1 = W, as tbn_conv_geom (a 1-D pool has H = k = stride = 1, no H padding) */
  int64_t in[2], k[2], stride[2], pad0[2], pad1[2], out[2];
} tbn_pool_geom;

/* Validates and fills g as ONNX MaxPool sizes its output (as onnxruntime does, ceil_mode
 * included: the last window must start inside the input or its leading pad). x_shape has
 * spatial+2 entries; kernel (spatial entries) is required, strides (spatial) and pads
 * (2·spatial: begins then ends) may be NULL. Pads must be smaller than the kernel. */
tbn_status tbn_pool_geometry(int spatial, const int64_t *x_shape, const int64_t *kernel, const int64_t *strides,
                             const int64_t *pads, int ceil_mode, tbn_pool_geom *g);
/* Checks a filled geometry as tbn_pool_geometry leaves it (for one made elsewhere): windows,
 * each pad under the kernel, every window starting inside the input or its leading pad. */
tbn_status tbn_pool_check(const tbn_pool_geom *g);
/* y [n][c][out0][out1] = the max of each window's values inside x (pads are never the max). */
tbn_status tbn_maxpool_run(const tbn_pool_geom *g, const float *x, float *y, const tbn_parallel *par);

/* TbnConvMaxPool: tbn_conv_run, then pool (its n, c and in = the conv's n, oc and out; channels
 * first only) into y [n][oc][pool out0][pool out1]. The conv output lives in the workspace:
 * when tasks take whole images, each pools its image at once from a one-image buffer still in
 * its core's cache; otherwise the run's output is pooled in a third parallel step. */
tbn_status tbn_conv_pool_workspace(const tbn_matrix *m, const tbn_conv_geom *g, const tbn_pool_geom *pool, size_t tasks,
                                   size_t *bytes);
tbn_status tbn_conv_pool_run(const tbn_matrix *m, const tbn_conv_geom *g, const tbn_pool_geom *pool, const float *x,
                             const float *bias, const tbn_epilogue *epi, float *y, void *ws, size_t ws_bytes,
                             const tbn_parallel *par);

#ifdef __cplusplus
}
#endif
#endif
