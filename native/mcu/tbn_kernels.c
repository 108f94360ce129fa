/* tbn_kernels.c — portable C99 kernels for models exported by tbn. See tbn_kernels.h.
 * Every loop is written out plainly; the compiler (-O2) does the rest. Only the kernels a
 * model calls end up in its image (-ffunction-sections, --gc-sections). */
#include "tbn_kernels.h"

#include <math.h>
#include <stddef.h>

/* The tile bit math and the activations are the ones the CPU and CUDA kernels use
 * (native/kernels), copied beside this file by the export. */
#include "tbn_act_math.h"
#include "tbn_tile_math.h"

/* Indices are int: at least 32 bits on every target tbn exports for. */
typedef char tbn_int_has_32_bits[(sizeof(int) >= 4) ? 1 : -1];

/* ---- matrix products ------------------------------------------------------------------ */

/* tbn_act's codes are tbn_act_value's (tbn_act_math.h; both count up from 0 in the same order). */
typedef char tbn_act_codes_match[((int)TBN_ACT_GELU_TANH == (int)TBN_ACT_MATH_GELU_TANH) ? 1 : -1];

/* s(j)·(alpha·acc + beta·c(i,j)) + t(j) + r(i,j), then the activation. */
static float gemm_finish(const tbn_gemm_params *p, float acc, const float *c, int i, int j)
{
    float v = p->alpha * acc;
    if (c != NULL) v += p->beta * c[i * p->c_rs + j * p->c_cs];
    if (p->post_scale != NULL) v *= p->post_scale[j];
    if (p->post_shift != NULL) v += p->post_shift[j];
    if (p->residual != NULL) v += p->residual[i * p->y_rs + j * p->y_cs];
    return tbn_act_value((int)p->act, v, p->act_alpha, p->act_beta);
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
                    v = tbn_act_value((int)p->act, v, p->act_alpha, p->act_beta);
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

/* ---- tiled layers ------------------------------------------------------------------------- */

/* Σ_i ±x[i·stride] over len consecutive tile bits from bit position start (1 → +x, 0 → −x),
 * summed in order: single bits up to a byte boundary, then a byte (8 bits) at a time. */
static float tile_dot(const uint8_t *bits, int start, const float *x, int stride, int len)
{
    float acc = 0.0f;
    int i = 0, k;
    for (; i < len && ((start + i) & 7) != 0; ++i) acc += tbn_tile_bit(bits, start + i) ? x[i * stride] : -x[i * stride];
    if (stride == 1) {
        /* the common case, written out: one byte of bits per pass, no shifts */
        for (; i + 8 <= len; i += 8) {
            const unsigned byte = bits[(start + i) >> 3];
            const float *xi = x + i;
            acc += (byte & 0x01u) ? xi[0] : -xi[0];
            acc += (byte & 0x02u) ? xi[1] : -xi[1];
            acc += (byte & 0x04u) ? xi[2] : -xi[2];
            acc += (byte & 0x08u) ? xi[3] : -xi[3];
            acc += (byte & 0x10u) ? xi[4] : -xi[4];
            acc += (byte & 0x20u) ? xi[5] : -xi[5];
            acc += (byte & 0x40u) ? xi[6] : -xi[6];
            acc += (byte & 0x80u) ? xi[7] : -xi[7];
        }
    }
    for (; i + 8 <= len; i += 8) {
        const unsigned byte = bits[(start + i) >> 3];
        const float *xi = x + i * stride;
        for (k = 0; k < 8; ++k) acc += ((byte >> k) & 1u) ? xi[k * stride] : -xi[k * stride];
    }
    for (; i < len; ++i) acc += tbn_tile_bit(bits, start + i) ? x[i * stride] : -x[i * stride];
    return acc;
}

/* The weight at stream position s: α of its region times the sign of its tile bit. */
static float tile_weight(const tbn_tile *t, int s)
{
    const int r = s / t->q, b = s - r * t->q;
    return tbn_signed(tbn_tile_bit(t->bits, b), t->scale[r * t->scale_stride]);
}

void tbn_tiled_gemm_out_reuse(const tbn_tiled_gemm_params *p, const float *a, const float *c, float *y)
{
    const tbn_gemm_params *g = &p->g;
    const tbn_tile *t = &p->tile;
    const int nb = g->n / t->p; /* tile row j serves outputs j, j + nb, j + 2nb, ... */
    int i, j, r;
    for (i = 0; i < g->m; ++i) {
        for (j = 0; j < nb; ++j) {
            const float s = tile_dot(t->bits, j * g->k, a + i * g->a_rs, g->a_cs, g->k);
            for (r = 0; r < t->p; ++r) {
                const int n = r * nb + j;
                y[i * g->y_rs + n * g->y_cs] = gemm_finish(g, t->scale[r * t->scale_stride] * s, c, i, n);
            }
        }
    }
}

void tbn_tiled_gemm_in_combine(const tbn_tiled_gemm_params *p, const float *a, const float *c, float *y, float *scratch)
{
    const tbn_gemm_params *g = &p->g;
    const tbn_tile *t = &p->tile;
    const int kb = g->k / t->p; /* input rows per region */
    int i, j, n, r;
    for (i = 0; i < g->m; ++i) {
        const float *ar = a + i * g->a_rs;
        float *yr = y + i * g->y_rs;
        for (j = 0; j < kb; ++j) {
            float v = 0.0f;
            for (r = 0; r < t->p; ++r) v += t->scale[r * t->scale_stride] * ar[(r * kb + j) * g->a_cs];
            scratch[j] = v;
        }
        /* y(i,:) = Σ_j scratch[j]·t(j,:), walking the tile row by row (bits in order) */
        for (n = 0; n < g->n; ++n) yr[n * g->y_cs] = 0.0f;
        for (j = 0; j < kb; ++j) {
            const float x = scratch[j];
            const int start = j * g->n;
            const uint8_t *byte = t->bits + (start >> 3);
            unsigned mask = 1u << (start & 7);
            for (n = 0; n < g->n; ++n) {
                yr[n * g->y_cs] += (*byte & mask) ? x : -x;
                mask <<= 1;
                if (mask == 0x100u) {
                    mask = 1u;
                    ++byte;
                }
            }
        }
        for (n = 0; n < g->n; ++n) yr[n * g->y_cs] = gemm_finish(g, yr[n * g->y_cs], c, i, n);
    }
}

void tbn_tiled_gemm_general(const tbn_tiled_gemm_params *p, const float *a, const float *c, float *y)
{
    const tbn_gemm_params *g = &p->g;
    int i, n, l;
    for (i = 0; i < g->m; ++i) {
        for (n = 0; n < g->n; ++n) {
            float acc = 0.0f;
            for (l = 0; l < g->k; ++l) {
                const int s = p->n_major ? n * g->k + l : l * g->n + n;
                acc += a[i * g->a_rs + l * g->a_cs] * tile_weight(&p->tile, s);
            }
            y[i * g->y_rs + n * g->y_cs] = gemm_finish(g, acc, c, i, n);
        }
    }
}

void tbn_tiled_conv2d_out_reuse(const tbn_tiled_conv_params *p, const float *x, float *y, float *scratch)
{
    const tbn_conv_params *c = &p->c;
    const tbn_tile *t = &p->tile;
    const int ob = c->out_c / t->p;              /* filters in the tile */
    const int in_plane = c->in_h * c->in_w, out_plane = c->pool.out_h * c->pool.out_w;
    int j, r, ic, ky, kx;
    for (j = 0; j < ob; ++j) {
        /* filter j's plane, accumulated in channel j's own plane (written last) or in scratch */
        float *acc = conv_acc(c, j, y, scratch);
        int b = j * c->in_c * c->k_h * c->k_w; /* its first tile bit */
        zero(acc, c->out_h * c->out_w);
        for (ic = 0; ic < c->in_c; ++ic)
            for (ky = 0; ky < c->k_h; ++ky)
                for (kx = 0; kx < c->k_w; ++kx, ++b)
                    conv_tap(c, x + ic * in_plane, ky, kx, tbn_signed(tbn_tile_bit(t->bits, b), 1.0f), acc);
        /* channel r·ob + j is the same plane scaled by α_r */
        for (r = t->p - 1; r >= 0; --r) {
            const int oc = r * ob + j;
            conv_store(c, oc, t->scale[r * t->scale_stride], acc, y + oc * out_plane);
        }
    }
}

void tbn_tiled_conv2d_general(const tbn_tiled_conv_params *p, const float *x, float *y, float *scratch)
{
    const tbn_conv_params *c = &p->c;
    const int cg = c->in_c / c->group, og = c->out_c / c->group;
    const int fsize = cg * c->k_h * c->k_w;
    const int in_plane = c->in_h * c->in_w, out_plane = c->pool.out_h * c->pool.out_w;
    int oc, ic, ky, kx;
    for (oc = 0; oc < c->out_c; ++oc) {
        const float *xg = x + (oc / og) * cg * in_plane;
        float *acc = conv_acc(c, oc, y, scratch);
        int e = 0; /* index in the filter */
        zero(acc, c->out_h * c->out_w);
        for (ic = 0; ic < cg; ++ic)
            for (ky = 0; ky < c->k_h; ++ky)
                for (kx = 0; kx < c->k_w; ++kx, ++e) {
                    const int s = p->tile_axis == 0 ? oc * fsize + e : e * c->out_c + oc;
                    conv_tap(c, xg + ic * in_plane, ky, kx, tile_weight(&p->tile, s), acc);
                }
        conv_store(c, oc, 1.0f, acc, y + oc * out_plane);
    }
}

/* ---- elementwise ---------------------------------------------------------------------------- */

/* y = f(x), one function per op (so a model links only the libm functions it calls); in place. */
#define TBN_UNARY(name, expr)                   \
    void name(const float *x, float *y, int n)  \
    {                                           \
        int i;                                  \
        for (i = 0; i < n; ++i) {               \
            const float v = x[i];               \
            y[i] = (expr);                      \
        }                                       \
    }

TBN_UNARY(tbn_relu, v > 0.0f ? v : 0.0f)
TBN_UNARY(tbn_sigmoid, 1.0f / (1.0f + expf(-v)))
TBN_UNARY(tbn_tanh, tanhf(v))
TBN_UNARY(tbn_erf, erff(v))
TBN_UNARY(tbn_gelu, tbn_act_value(TBN_ACT_MATH_GELU, v, 0.0f, 0.0f))
TBN_UNARY(tbn_exp, expf(v))
TBN_UNARY(tbn_sqrt, sqrtf(v))
TBN_UNARY(tbn_neg, -v)
TBN_UNARY(tbn_abs, v < 0.0f ? -v : v)
TBN_UNARY(tbn_reciprocal, 1.0f / v)

void tbn_leaky_relu(const float *x, float *y, int n, float alpha)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = x[i] >= 0.0f ? x[i] : alpha * x[i];
}

void tbn_clip(const float *x, float *y, int n, float lo, float hi)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}

void tbn_binary(tbn_binop op, const tbn_broadcast *bc, const float *a, const float *b, float *y)
{
    const int *s = bc->shape, *as = bc->a_stride, *bs = bc->b_stride;
    int i0, i1, i2, i;
    for (i0 = 0; i0 < s[0]; ++i0) {
        for (i1 = 0; i1 < s[1]; ++i1) {
            for (i2 = 0; i2 < s[2]; ++i2, y += s[3]) {
                const float *pa = a + i0 * as[0] + i1 * as[1] + i2 * as[2];
                const float *pb = b + i0 * bs[0] + i1 * bs[1] + i2 * bs[2];
                switch (op) {
                case TBN_ADD: for (i = 0; i < s[3]; ++i) y[i] = pa[i * as[3]] + pb[i * bs[3]]; break;
                case TBN_SUB: for (i = 0; i < s[3]; ++i) y[i] = pa[i * as[3]] - pb[i * bs[3]]; break;
                case TBN_MUL: for (i = 0; i < s[3]; ++i) y[i] = pa[i * as[3]] * pb[i * bs[3]]; break;
                case TBN_DIV: for (i = 0; i < s[3]; ++i) y[i] = pa[i * as[3]] / pb[i * bs[3]]; break;
                case TBN_MAX:
                    for (i = 0; i < s[3]; ++i) y[i] = pa[i * as[3]] > pb[i * bs[3]] ? pa[i * as[3]] : pb[i * bs[3]];
                    break;
                case TBN_MIN:
                    for (i = 0; i < s[3]; ++i) y[i] = pa[i * as[3]] < pb[i * bs[3]] ? pa[i * as[3]] : pb[i * bs[3]];
                    break;
                }
            }
        }
    }
}

void tbn_channel_affine(const float *x, const float *scale, const float *shift, float *y, int c, int inner)
{
    int i, j;
    for (i = 0; i < c; ++i)
        for (j = 0; j < inner; ++j) y[i * inner + j] = scale[i] * x[i * inner + j] + shift[i];
}

/* ---- normalisation and reductions ---------------------------------------------------------- */

void tbn_softmax(const float *x, float *y, int outer, int n, int inner)
{
    int o, in, k;
    for (o = 0; o < outer; ++o) {
        for (in = 0; in < inner; ++in) {
            const float *xr = x + o * n * inner + in;
            float *yr = y + o * n * inner + in;
            float mx = xr[0], sum = 0.0f;
            for (k = 1; k < n; ++k)
                if (xr[k * inner] > mx) mx = xr[k * inner];
            for (k = 0; k < n; ++k) {
                yr[k * inner] = expf(xr[k * inner] - mx);
                sum += yr[k * inner];
            }
            for (k = 0; k < n; ++k) yr[k * inner] /= sum;
        }
    }
}

void tbn_layernorm(const float *x, const float *gamma, const float *beta, float *y, int outer, int n, float eps)
{
    int o, k;
    for (o = 0; o < outer; ++o) {
        const float *xr = x + o * n;
        float *yr = y + o * n;
        float mean = 0.0f, var = 0.0f, inv;
        for (k = 0; k < n; ++k) mean += xr[k];
        mean /= (float)n;
        for (k = 0; k < n; ++k) var += (xr[k] - mean) * (xr[k] - mean);
        inv = 1.0f / sqrtf(var / (float)n + eps);
        for (k = 0; k < n; ++k) yr[k] = (xr[k] - mean) * inv * gamma[k] + (beta != NULL ? beta[k] : 0.0f);
    }
}

void tbn_reduce(tbn_reduce_op op, const float *x, float *y, int outer, int n, int inner)
{
    int o, in, k;
    for (o = 0; o < outer; ++o) {
        for (in = 0; in < inner; ++in) {
            const float *xr = x + o * n * inner + in;
            float acc = xr[0];
            for (k = 1; k < n; ++k) {
                const float v = xr[k * inner];
                if (op == TBN_REDUCE_MAX) acc = v > acc ? v : acc;
                else if (op == TBN_REDUCE_MIN) acc = v < acc ? v : acc;
                else acc += v;
            }
            y[o * inner + in] = op == TBN_REDUCE_MEAN ? acc / (float)n : acc;
        }
    }
}

/* ---- data movement ------------------------------------------------------------------------- */

void tbn_copy(const tbn_copy_params *p, const float *x, float *y)
{
    int idx[TBN_MAX_RANK] = {0};
    int total = 1, src = 0, dst = 0, i, d;
    for (d = 0; d < p->rank; ++d) total *= p->shape[d];
    for (i = 0; i < total; ++i) {
        y[dst] = x[src];
        /* next index, last axis fastest */
        for (d = p->rank - 1; d >= 0; --d) {
            src += p->src_stride[d];
            dst += p->dst_stride[d];
            if (++idx[d] < p->shape[d]) break;
            src -= p->src_stride[d] * p->shape[d];
            dst -= p->dst_stride[d] * p->shape[d];
            idx[d] = 0;
        }
    }
}

void tbn_copy_flat(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = x[i];
}

static int clamp_index(long long k, int len)
{
    if (k < 0) k += len;
    if (k < 0) return 0;
    if (k >= len) return len - 1;
    return (int)k;
}

void tbn_gather_i64(const float *data, const int64_t *idx, int n, float *y, int outer, int axis_len, int inner)
{
    int o, i, j;
    for (o = 0; o < outer; ++o)
        for (i = 0; i < n; ++i) {
            const float *row = data + (o * axis_len + clamp_index((long long)idx[i], axis_len)) * inner;
            for (j = 0; j < inner; ++j) *y++ = row[j];
        }
}

void tbn_gather_i32(const float *data, const int32_t *idx, int n, float *y, int outer, int axis_len, int inner)
{
    int o, i, j;
    for (o = 0; o < outer; ++o)
        for (i = 0; i < n; ++i) {
            const float *row = data + (o * axis_len + clamp_index((long long)idx[i], axis_len)) * inner;
            for (j = 0; j < inner; ++j) *y++ = row[j];
        }
}

/* An embedding lookup of a tiled table [rows, cols]: each looked-up row is decoded from the
 * tile bits (stream position k = r·cols + j, or j·rows + r with tile_axis 1). */
void tbn_tiled_gather(const tbn_tile *t, int rows, int cols, int tile_axis, const int64_t *idx64, const int32_t *idx32, int n, float *y)
{
    int i, j;
    for (i = 0; i < n; ++i) {
        long r = clamp_index(idx64 ? (long long)idx64[i] : (long long)idx32[i], rows);
        for (j = 0; j < cols; ++j) {
            long k = tile_axis ? (long)j * rows + r : r * (long)cols + j;
            long b = k % t->q;
            float s = t->scale[(k / t->q) * t->scale_stride];
            *y++ = tbn_signed(tbn_tile_bit(t->bits, b), s);
        }
    }
}
