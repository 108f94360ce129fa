/* tbn_kernels.h — portable C99 kernels for models exported by tbn (tbn export --target mcu).
 *
 * Tensors are float32, row-major, batch 1 (images CHW, 1-D signals C×L seen as C×1×L).
 * Nothing here allocates: the generated model passes every buffer, scratch space included,
 * from its statically planned arena. Kernels marked "in place" accept y == x.
 *
 * Tiled weights (Tiled Bit Networks): a weight of N = p·q values is stored as one tile of q
 * bits and p scales α. Read in its stream order, value s is α[s / q] · (bit s mod q ? +1 : −1),
 * bits LSB first (bit j is bit j&7 of byte j>>3; tbn_tile_math.h). Tiled kernels read those
 * bits directly and never build the fp32 weight. */
#ifndef TBN_KERNELS_H
#define TBN_KERNELS_H

#include <stdint.h>

/* Activation fused at the end of a layer (the codes of ai.tbn's activation attribute):
 * LeakyRelu reads act_alpha, Clip act_alpha (min) and act_beta (max). */
typedef enum {
    TBN_ACT_NONE = 0, TBN_ACT_RELU = 1, TBN_ACT_LEAKY_RELU = 2, TBN_ACT_CLIP = 3, TBN_ACT_HARD_SWISH = 4,
    TBN_ACT_SIGMOID = 5, TBN_ACT_SILU = 6, TBN_ACT_GELU = 7, TBN_ACT_GELU_TANH = 8
} tbn_act;

/* A binary tile and its scales. */
typedef struct {
    const uint8_t *bits;   /* ceil(q/8) bytes */
    const float *scale;    /* p scales, or 1 (one α for the layer: scale_stride 0) */
    int p;                 /* regions */
    int q;                 /* bits per region */
    int scale_stride;      /* 1: α per region; 0: one α per layer */
} tbn_tile;

/* ---- matrix products ------------------------------------------------------------------ */

/* y(m,n) = act(s(n)·(alpha · Σ_k a(m,k)·b(k,n) + beta · c(m,n)) + t(n) + r(m,n)). Element (i,j)
 * of a matrix X is x[i*x_rs + j*x_cs]: strides express transposes and broadcasts (stride 0).
 * s = post_scale, t = post_shift (NULL: 1, 0), r = residual (NULL: 0; laid out like y). */
typedef struct {
    int m, n, k;
    int a_rs, a_cs;
    int b_rs, b_cs;        /* dense b only */
    int c_rs, c_cs;        /* c may be NULL */
    int y_rs, y_cs;
    float alpha, beta;
    tbn_act act;
    float act_alpha, act_beta;
    const float *post_scale, *post_shift;
    const float *residual;
} tbn_gemm_params;

void tbn_gemm(const tbn_gemm_params *p, const float *a, const float *b, const float *c, float *y);

/* The same product with b(k,n) read from a tile. n_major = 1: the stream runs over bᵀ, i.e.
 * stream position of b(k,n) is n·K + k (a Gemm weight [out][in]); n_major = 0: k·N + n. */
typedef struct {
    tbn_gemm_params g;     /* b_rs, b_cs unused */
    tbn_tile tile;
    int n_major;
} tbn_tiled_gemm_params;

/* n_major and p | N: each region is N/p whole output columns sharing the tile, so N/p dot
 * products with the tile give all N outputs, scaled by each α (p× fewer multiply-adds). */
void tbn_tiled_gemm_out_reuse(const tbn_tiled_gemm_params *p, const float *a, const float *c, float *y);
/* !n_major and p | K: each region is K/p whole input rows, so the p input chunks are combined
 * first (x'[j] = Σ_r α_r·a(m, r·K/p + j), in scratch[K/p]) and multiplied once by the tile. */
void tbn_tiled_gemm_in_combine(const tbn_tiled_gemm_params *p, const float *a, const float *c, float *y, float *scratch);
/* Any layout: every weight is read from its stream position. */
void tbn_tiled_gemm_general(const tbn_tiled_gemm_params *p, const float *a, const float *c, float *y);

/* ---- convolution ------------------------------------------------------------------------ */

/* A pooling window over an h×w plane giving out_h×out_w; pad_b/pad_r bound the padded
 * plane (average pooling counts positions inside it when count_include_pad). */
typedef struct {
    int k_h, k_w, stride_h, stride_w, dil_h, dil_w;
    int pad_t, pad_l, pad_b, pad_r;
    int out_h, out_w;
} tbn_window;

/* 2-D convolution (1-D as in_h = 1) with a per-channel affine (bias, folded BatchNorm), an
 * optional residual ([out_c][out_h][out_w], added before the activation), an activation and an
 * optional max pooling: y = maxpool(act(scale·conv + shift + residual)). Without pooling,
 * pool is 1×1 stride 1 and its out_h/out_w equal the convolution's. With pooling, each
 * channel's full-resolution plane exists only in scratch (out_h·out_w floats), one channel at
 * a time, never for all channels. */
typedef struct {
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;   /* convolution output, before pooling */
    int k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l;
    int group;
    const float *weight;       /* [out_c][in_c/group][k_h][k_w]; dense kernel only */
    const float *scale;        /* [out_c] or NULL (1) */
    const float *shift;        /* [out_c] or NULL (0) */
    tbn_act act;
    float act_alpha, act_beta;
    const float *residual;     /* NULL, or the full-resolution output's shape */
    tbn_window pool;
} tbn_conv_params;

void tbn_conv2d(const tbn_conv_params *p, const float *x, float *y, float *scratch);

typedef struct {
    tbn_conv_params c;         /* c.weight unused */
    tbn_tile tile;
    int tile_axis;             /* 0: stream = W row-major; 1: W seen as [out_c][rest], transposed */
} tbn_tiled_conv_params;

/* tile_axis 0, group 1 and p | out_c: out_c/p filters come from the tile and each gives p
 * output channels, one per α (p× fewer multiply-adds). Scratch as for tbn_conv2d. */
void tbn_tiled_conv2d_out_reuse(const tbn_tiled_conv_params *p, const float *x, float *y, float *scratch);
/* Any layout: each weight is α·sign read from its stream position. */
void tbn_tiled_conv2d_general(const tbn_tiled_conv_params *p, const float *x, float *y, float *scratch);

/* ---- pooling ------------------------------------------------------------------------------ */

typedef struct {
    int c, in_h, in_w;
    tbn_window win;
    int count_include_pad;     /* average pooling */
} tbn_pool_params;

void tbn_maxpool2d(const tbn_pool_params *p, const float *x, float *y);
void tbn_avgpool2d(const tbn_pool_params *p, const float *x, float *y);
/* y[c] = mean (or max) of the n values of channel c. */
void tbn_global_avgpool(const float *x, float *y, int c, int n);
void tbn_global_maxpool(const float *x, float *y, int c, int n);

/* ---- elementwise (all in place) ------------------------------------------------------------ */

void tbn_relu(const float *x, float *y, int n);
void tbn_leaky_relu(const float *x, float *y, int n, float alpha);
void tbn_clip(const float *x, float *y, int n, float lo, float hi);
void tbn_sigmoid(const float *x, float *y, int n);
void tbn_tanh(const float *x, float *y, int n);
void tbn_erf(const float *x, float *y, int n);
/* GELU, exact form x·½·(1 + erf(x/√2)) */
void tbn_gelu(const float *x, float *y, int n);
void tbn_exp(const float *x, float *y, int n);
void tbn_sqrt(const float *x, float *y, int n);
void tbn_neg(const float *x, float *y, int n);
void tbn_abs(const float *x, float *y, int n);
void tbn_reciprocal(const float *x, float *y, int n);

typedef enum { TBN_ADD, TBN_SUB, TBN_MUL, TBN_DIV, TBN_MAX, TBN_MIN } tbn_binop;

/* y[i0,i1,i2,i3] = a[Σ i·a_stride] op b[Σ i·b_stride] over shape (stride 0 broadcasts); y is
 * contiguous. In place when y is a or b with that operand not broadcast. */
typedef struct {
    int shape[4];
    int a_stride[4];
    int b_stride[4];
} tbn_broadcast;

void tbn_binary(tbn_binop op, const tbn_broadcast *bc, const float *a, const float *b, float *y);

/* y[c][i] = scale[c]·x[c][i] + shift[c] (BatchNormalization at inference); in place. */
void tbn_channel_affine(const float *x, const float *scale, const float *shift, float *y, int c, int inner);

/* ---- normalisation and reductions ---------------------------------------------------------- */

/* Softmax over the middle axis of [outer][n][inner]; in place. */
void tbn_softmax(const float *x, float *y, int outer, int n, int inner);
/* Layer normalisation of each of the outer rows of n values; gamma/beta [n] (beta may be NULL); in place. */
void tbn_layernorm(const float *x, const float *gamma, const float *beta, float *y, int outer, int n, float eps);

typedef enum { TBN_REDUCE_SUM, TBN_REDUCE_MEAN, TBN_REDUCE_MAX, TBN_REDUCE_MIN } tbn_reduce_op;
/* Reduces the middle axis of [outer][n][inner] into [outer][inner]. */
void tbn_reduce(tbn_reduce_op op, const float *x, float *y, int outer, int n, int inner);

/* ---- data movement ------------------------------------------------------------------------- */

#define TBN_MAX_RANK 6

/* y[Σ i·dst_stride] = x[Σ i·src_stride] for every index i < shape (Transpose, Slice, Concat,
 * Split, Expand: a stride of 0 repeats). */
typedef struct {
    int rank;
    int shape[TBN_MAX_RANK];
    int src_stride[TBN_MAX_RANK];
    int dst_stride[TBN_MAX_RANK];
} tbn_copy_params;

void tbn_copy(const tbn_copy_params *p, const float *x, float *y);
void tbn_copy_flat(const float *x, float *y, int n);

/* Gather along the middle axis of data [outer][axis_len][inner] with n indices: y is
 * [outer][n][inner]. Negative indices count from the end; out-of-range ones are clamped
 * (a bad input must not read outside the table). */
void tbn_gather_i64(const float *data, const int64_t *idx, int n, float *y, int outer, int axis_len, int inner);
void tbn_gather_i32(const float *data, const int32_t *idx, int n, float *y, int outer, int axis_len, int inner);
void tbn_tiled_gather(const tbn_tile *t, int rows, int cols, int tile_axis, const int64_t *idx64, const int32_t *idx32, int n, float *y);

#endif /* TBN_KERNELS_H */
