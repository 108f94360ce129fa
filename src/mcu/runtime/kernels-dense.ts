// tbn_kernels.c, part 1: the file head, dense matrix products, dense convolution (with the
// fused affine / residual / activation / max pooling) and pooling. Portable C99, float only (no
// double arithmetic: Cortex-M4 has a single-precision FPU); libm only for the smooth activations.

export const KERNELS_C_HEAD = String.raw`/* tbn_kernels.c — portable C99 kernels for models exported by tbn. See tbn_kernels.h.
 * Every loop is written out plainly; the compiler (-O2) does the rest. Only the kernels a
 * model calls end up in its image (-ffunction-sections, --gc-sections). */
#include "tbn_kernels.h"

#include <math.h>
#include <stddef.h>

/* Indices are int: at least 32 bits on every target tbn exports for. */
typedef char tbn_int_has_32_bits[(sizeof(int) >= 4) ? 1 : -1];
`;

export const KERNELS_C_DENSE = String.raw`
/* ---- matrix products ------------------------------------------------------------------ */

/* The fused activation (tbn_act) of v. */
static float act_apply(tbn_act act, float v, float a, float b)
{
    float h;
    switch (act) {
    case TBN_ACT_RELU: return v < 0.0f ? 0.0f : v;
    case TBN_ACT_LEAKY_RELU: return v < 0.0f ? a * v : v;
    case TBN_ACT_CLIP: return v < a ? a : (v > b ? b : v);
    case TBN_ACT_HARD_SWISH:
        h = v * (1.0f / 6.0f) + 0.5f;
        return v * (h < 0.0f ? 0.0f : (h > 1.0f ? 1.0f : h));
    case TBN_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case TBN_ACT_SILU: return v / (1.0f + expf(-v));
    case TBN_ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678f));
    case TBN_ACT_GELU_TANH: return 0.5f * v * (1.0f + tanhf(0.79788456f * (v + 0.044715f * v * v * v)));
    default: return v;
    }
}

/* s(j)·(alpha·acc + beta·c(i,j)) + t(j) + r(i,j), then the activation. */
static float gemm_finish(const tbn_gemm_params *p, float acc, const float *c, int i, int j)
{
    float v = p->alpha * acc;
    if (c != NULL) v += p->beta * c[i * p->c_rs + j * p->c_cs];
    if (p->post_scale != NULL) v *= p->post_scale[j];
    if (p->post_shift != NULL) v += p->post_shift[j];
    if (p->residual != NULL) v += p->residual[i * p->y_rs + j * p->y_cs];
    return act_apply(p->act, v, p->act_alpha, p->act_beta);
}

void tbn_gemm(const tbn_gemm_params *p, const float *a, const float *b, const float *c, float *y)
{
    int i, j, l;
    if (p->a_cs == 1 && p->b_rs == 1) {
        /* both operands contiguous along k (a Gemm weight [N][K]): plain dot products */
        for (i = 0; i < p->m; ++i) {
            const float *ar = a + i * p->a_rs;
            for (j = 0; j < p->n; ++j) {
                const float *bc = b + j * p->b_cs;
                float acc = 0.0f;
                for (l = 0; l < p->k; ++l) acc += ar[l] * bc[l];
                y[i * p->y_rs + j * p->y_cs] = gemm_finish(p, acc, c, i, j);
            }
        }
        return;
    }
    if (p->b_cs == 1) {
        /* b is row-major [K][N]: accumulate whole output rows so b is read in order. The sum
         * over l runs in the same order as below, so both paths give the same numbers. */
        for (i = 0; i < p->m; ++i) {
            float *yr = y + i * p->y_rs;
            for (j = 0; j < p->n; ++j) yr[j * p->y_cs] = 0.0f;
            for (l = 0; l < p->k; ++l) {
                const float x = a[i * p->a_rs + l * p->a_cs];
                const float *br = b + l * p->b_rs;
                for (j = 0; j < p->n; ++j) yr[j * p->y_cs] += x * br[j];
            }
            for (j = 0; j < p->n; ++j) yr[j * p->y_cs] = gemm_finish(p, yr[j * p->y_cs], c, i, j);
        }
        return;
    }
    for (i = 0; i < p->m; ++i) {
        const float *ar = a + i * p->a_rs;
        for (j = 0; j < p->n; ++j) {
            const float *bc = b + j * p->b_cs;
            float acc = 0.0f;
            for (l = 0; l < p->k; ++l) acc += ar[l * p->a_cs] * bc[l * p->b_rs];
            y[i * p->y_rs + j * p->y_cs] = gemm_finish(p, acc, c, i, j);
        }
    }
}

/* ---- convolution ------------------------------------------------------------------------
 * A convolution is accumulated one filter at a time over its whole output plane, tap by tap
 * (weight-stationary): for a tap (ic, ky, kx) the weight is fixed, so the inner loop over the
 * output row is a plain multiply-add, and a tiled layer tests each tile bit once per tap, not
 * once per pixel. Every pixel still sums its taps in the order (ic, ky, kx). */

/* The outputs o in [*lo, *hi) whose input position o·stride + d lies inside [0, in). */
static void out_range(int d, int stride, int in, int out, int *lo, int *hi)
{
    int a = 0, b = out;
    while (a < b && a * stride + d < 0) ++a;
    while (b > a && (b - 1) * stride + d >= in) --b;
    *lo = a;
    *hi = b;
}

/* acc[oy][ox] += w · x[iy][ix] over the output plane for the tap (ky, kx) of input plane xc;
 * positions that fall in the padding contribute nothing. */
static void conv_tap(const tbn_conv_params *p, const float *xc, int ky, int kx, float w, float *acc)
{
    const int dy = ky * p->dil_h - p->pad_t, dx = kx * p->dil_w - p->pad_l;
    int oy0, oy1, ox0, ox1, oy, ox;
    out_range(dy, p->stride_h, p->in_h, p->out_h, &oy0, &oy1);
    out_range(dx, p->stride_w, p->in_w, p->out_w, &ox0, &ox1);
    for (oy = oy0; oy < oy1; ++oy) {
        const float *xr = xc + (oy * p->stride_h + dy) * p->in_w + dx;
        float *ar = acc + oy * p->out_w;
        for (ox = ox0; ox < ox1; ++ox) ar[ox] += w * xr[ox * p->stride_w];
    }
}

static void zero(float *v, int n)
{
    int i;
    for (i = 0; i < n; ++i) v[i] = 0.0f;
}

/* One output channel from its accumulated plane: y = maxpool(act(scale·k·acc + shift +
 * residual)), where k is a tile's α (1 for dense weights). With no pooling fused (1×1 window) y
 * may be acc. */
static void conv_store(const tbn_conv_params *p, int oc, float k, const float *acc, float *y)
{
    const tbn_window *w = &p->pool;
    const float s = k * (p->scale != NULL ? p->scale[oc] : 1.0f);
    const float t = p->shift != NULL ? p->shift[oc] : 0.0f;
    const float *r = p->residual != NULL ? p->residual + oc * p->out_h * p->out_w : NULL;
    int py, px, wy, wx;
    for (py = 0; py < w->out_h; ++py) {
        for (px = 0; px < w->out_w; ++px) {
            float best = 0.0f;
            int seen = 0;
            for (wy = 0; wy < w->k_h; ++wy) {
                const int oy = py * w->stride_h - w->pad_t + wy * w->dil_h;
                if (oy < 0 || oy >= p->out_h) continue;
                for (wx = 0; wx < w->k_w; ++wx) {
                    const int ox = px * w->stride_w - w->pad_l + wx * w->dil_w;
                    float v;
                    if (ox < 0 || ox >= p->out_w) continue;
                    v = s * acc[oy * p->out_w + ox] + t;
                    if (r != NULL) v += r[oy * p->out_w + ox];
                    v = act_apply(p->act, v, p->act_alpha, p->act_beta);
                    if (!seen || v > best) best = v;
                    seen = 1;
                }
            }
            y[py * w->out_w + px] = best;
        }
    }
}

/* Where channel oc's plane is accumulated: its own output plane when no pooling is fused,
 * else the scratch plane. */
static float *conv_acc(const tbn_conv_params *p, int oc, float *y, float *scratch)
{
    const int pooled = p->pool.k_h != 1 || p->pool.k_w != 1 || p->pool.stride_h != 1 || p->pool.stride_w != 1;
    return pooled ? scratch : y + oc * p->out_h * p->out_w;
}

void tbn_conv2d(const tbn_conv_params *p, const float *x, float *y, float *scratch)
{
    const int cg = p->in_c / p->group, og = p->out_c / p->group;
    const int in_plane = p->in_h * p->in_w, out_plane = p->pool.out_h * p->pool.out_w;
    int oc, ic, ky, kx;
    for (oc = 0; oc < p->out_c; ++oc) {
        const float *xg = x + (oc / og) * cg * in_plane;
        const float *w = p->weight + oc * cg * p->k_h * p->k_w;
        float *acc = conv_acc(p, oc, y, scratch);
        zero(acc, p->out_h * p->out_w);
        for (ic = 0; ic < cg; ++ic)
            for (ky = 0; ky < p->k_h; ++ky)
                for (kx = 0; kx < p->k_w; ++kx) conv_tap(p, xg + ic * in_plane, ky, kx, *w++, acc);
        conv_store(p, oc, 1.0f, acc, y + oc * out_plane);
    }
}

/* ---- pooling ------------------------------------------------------------------------------ */

/* Input position of pooling window tap (wy, wx) at output (py, px); 0 if it is padding. */
static int pool_tap(const tbn_window *w, int in_h, int in_w, int py, int px, int wy, int wx, int *iy, int *ix)
{
    *iy = py * w->stride_h - w->pad_t + wy * w->dil_h;
    *ix = px * w->stride_w - w->pad_l + wx * w->dil_w;
    return *iy >= 0 && *iy < in_h && *ix >= 0 && *ix < in_w;
}

void tbn_maxpool2d(const tbn_pool_params *p, const float *x, float *y)
{
    const tbn_window *w = &p->win;
    int c, py, px, wy, wx, iy, ix;
    for (c = 0; c < p->c; ++c) {
        const float *xc = x + c * p->in_h * p->in_w;
        for (py = 0; py < w->out_h; ++py) {
            for (px = 0; px < w->out_w; ++px) {
                float best = 0.0f;
                int seen = 0;
                for (wy = 0; wy < w->k_h; ++wy) {
                    for (wx = 0; wx < w->k_w; ++wx) {
                        if (!pool_tap(w, p->in_h, p->in_w, py, px, wy, wx, &iy, &ix)) continue;
                        if (!seen || xc[iy * p->in_w + ix] > best) best = xc[iy * p->in_w + ix];
                        seen = 1;
                    }
                }
                *y++ = best;
            }
        }
    }
}

void tbn_avgpool2d(const tbn_pool_params *p, const float *x, float *y)
{
    const tbn_window *w = &p->win;
    int c, py, px, wy, wx, iy, ix;
    for (c = 0; c < p->c; ++c) {
        const float *xc = x + c * p->in_h * p->in_w;
        for (py = 0; py < w->out_h; ++py) {
            for (px = 0; px < w->out_w; ++px) {
                float sum = 0.0f;
                int count = 0;
                for (wy = 0; wy < w->k_h; ++wy) {
                    for (wx = 0; wx < w->k_w; ++wx) {
                        if (!pool_tap(w, p->in_h, p->in_w, py, px, wy, wx, &iy, &ix)) continue;
                        sum += xc[iy * p->in_w + ix];
                        ++count;
                    }
                }
                if (p->count_include_pad) {
                    /* the window clipped to the padded plane (ONNX / onnxruntime semantics) */
                    const int y0 = py * w->stride_h - w->pad_t, x0 = px * w->stride_w - w->pad_l;
                    const int y1 = y0 + w->k_h < p->in_h + w->pad_b ? y0 + w->k_h : p->in_h + w->pad_b;
                    const int x1 = x0 + w->k_w < p->in_w + w->pad_r ? x0 + w->k_w : p->in_w + w->pad_r;
                    count = (y1 - y0) * (x1 - x0);
                }
                *y++ = count > 0 ? sum / (float)count : 0.0f;
            }
        }
    }
}

void tbn_global_avgpool(const float *x, float *y, int c, int n)
{
    int i, j;
    for (i = 0; i < c; ++i) {
        float sum = 0.0f;
        for (j = 0; j < n; ++j) sum += x[i * n + j];
        y[i] = sum / (float)n;
    }
}

void tbn_global_maxpool(const float *x, float *y, int c, int n)
{
    int i, j;
    for (i = 0; i < c; ++i) {
        float best = x[i * n];
        for (j = 1; j < n; ++j)
            if (x[i * n + j] > best) best = x[i * n + j];
        y[i] = best;
    }
}
`;
