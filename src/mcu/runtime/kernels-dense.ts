// tbn_kernels.c, part 1: the file head, dense matrix products, dense convolution (with the
// fused affine / activation / max pooling) and pooling. Portable C99, float only (no double
// arithmetic: Cortex-M4 has a single-precision FPU), no libm calls in this part.

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

/* alpha·acc + beta·c(i,j), then the activation. */
static float gemm_finish(const tbn_gemm_params *p, float acc, const float *c, int i, int j)
{
    float v = p->alpha * acc;
    if (c != NULL) v += p->beta * c[i * p->c_rs + j * p->c_cs];
    if (p->act == TBN_ACT_RELU && v < 0.0f) v = 0.0f;
    return v;
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

/* ---- convolution ------------------------------------------------------------------------ */

/* Per-channel affine and activation applied to a raw convolution sum. */
static float conv_post(const tbn_conv_params *p, int oc, float v)
{
    if (p->scale != NULL) v *= p->scale[oc];
    if (p->shift != NULL) v += p->shift[oc];
    if (p->act == TBN_ACT_RELU && v < 0.0f) v = 0.0f;
    return v;
}

/* The kernel taps [*lo, *hi) of one axis whose input position base + k·dil lies inside [0, in):
 * the rest fall in the padding and contribute nothing. */
static void tap_range(int base, int dil, int k, int in, int *lo, int *hi)
{
    int a = 0, b = k;
    while (a < b && base + a * dil < 0) ++a;
    while (b > a && base + (b - 1) * dil >= in) --b;
    *lo = a;
    *hi = b;
}

/* Σ w·x over one filter at convolution output (oy, ox); x points at the filter's first input
 * channel, w at the filter. */
static float conv_dense_at(const tbn_conv_params *p, const float *x, const float *w, int oy, int ox)
{
    const int cg = p->in_c / p->group;
    const int by = oy * p->stride_h - p->pad_t, bx = ox * p->stride_w - p->pad_l;
    float acc = 0.0f;
    int ic, ky, kx, ky0, ky1, kx0, kx1;
    tap_range(by, p->dil_h, p->k_h, p->in_h, &ky0, &ky1);
    tap_range(bx, p->dil_w, p->k_w, p->in_w, &kx0, &kx1);
    for (ic = 0; ic < cg; ++ic) {
        const float *xc = x + ic * p->in_h * p->in_w + bx;
        const float *wc = w + ic * p->k_h * p->k_w;
        for (ky = ky0; ky < ky1; ++ky) {
            const float *xr = xc + (by + ky * p->dil_h) * p->in_w;
            const float *wr = wc + ky * p->k_w;
            for (kx = kx0; kx < kx1; ++kx) acc += wr[kx] * xr[kx * p->dil_w];
        }
    }
    return acc;
}

/* Convolution output position of pooling window position (py, px) + (wy, wx); 0 if it lies in
 * the pooling padding. */
static int pool_tap(const tbn_window *w, int out_h, int out_w, int py, int px, int wy, int wx, int *oy, int *ox)
{
    *oy = py * w->stride_h - w->pad_t + wy * w->dil_h;
    *ox = px * w->stride_w - w->pad_l + wx * w->dil_w;
    return *oy >= 0 && *oy < out_h && *ox >= 0 && *ox < out_w;
}

void tbn_conv2d(const tbn_conv_params *p, const float *x, float *y)
{
    const int cg = p->in_c / p->group, og = p->out_c / p->group;
    const int fsize = cg * p->k_h * p->k_w;
    const tbn_window *w = &p->pool;
    int oc, py, px, wy, wx, oy, ox;
    for (oc = 0; oc < p->out_c; ++oc) {
        const float *filt = p->weight + oc * fsize;
        const float *xg = x + (oc / og) * cg * p->in_h * p->in_w;
        for (py = 0; py < w->out_h; ++py) {
            for (px = 0; px < w->out_w; ++px) {
                /* max over the pooling window of act(affine(conv)); a 1×1 window is no pooling */
                float best = 0.0f;
                int seen = 0;
                for (wy = 0; wy < w->k_h; ++wy) {
                    for (wx = 0; wx < w->k_w; ++wx) {
                        float v;
                        if (!pool_tap(w, p->out_h, p->out_w, py, px, wy, wx, &oy, &ox)) continue;
                        v = conv_post(p, oc, conv_dense_at(p, xg, filt, oy, ox));
                        if (!seen || v > best) best = v;
                        seen = 1;
                    }
                }
                *y++ = best;
            }
        }
    }
}

/* ---- pooling ------------------------------------------------------------------------------ */

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
