// tbn_kernels.c, part 2: kernels that read tile bits directly (design.md §1, "the structural
// fact that makes kernels fast"). Each layer shape has a fast path that uses the p-fold reuse
// of the tile and a general path that is correct for any layout; the exporter picks one.

export const KERNELS_C_TILED = String.raw`
/* ---- tiled layers ------------------------------------------------------------------------- */

/* Σ_i ±x[i·stride] over len consecutive tile bits from bit position start (1 → +x, 0 → −x). */
static float tile_dot(const uint8_t *bits, int start, const float *x, int stride, int len)
{
    const uint8_t *byte = bits + (start >> 3);
    unsigned mask = 1u << (start & 7);
    float acc = 0.0f;
    int i;
    for (i = 0; i < len; ++i, x += stride) {
        acc += (*byte & mask) ? *x : -*x;
        mask <<= 1;
        if (mask == 0x100u) {
            mask = 1u;
            ++byte;
        }
    }
    return acc;
}

/* The weight at stream position s: α of its region times the sign of its tile bit. */
static float tile_weight(const tbn_tile *t, int s)
{
    const int r = s / t->q, b = s - r * t->q;
    const float a = t->scale[r * t->scale_stride];
    return ((t->bits[b >> 3] >> (b & 7)) & 1) ? a : -a;
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

/* Σ ±x over one filter's tile bits (from bit start) at convolution output (oy, ox). */
static float conv_tile_at(const tbn_conv_params *p, const uint8_t *bits, int start, const float *x, int oy, int ox)
{
    const int by = oy * p->stride_h - p->pad_t, bx = ox * p->stride_w - p->pad_l;
    float acc = 0.0f;
    int ic, ky, kx, ky0, ky1, kx0, kx1;
    tap_range(by, p->dil_h, p->k_h, p->in_h, &ky0, &ky1);
    tap_range(bx, p->dil_w, p->k_w, p->in_w, &kx0, &kx1);
    for (ic = 0; ic < p->in_c; ++ic) {
        const float *xc = x + ic * p->in_h * p->in_w + bx;
        for (ky = ky0; ky < ky1; ++ky) {
            const float *xr = xc + (by + ky * p->dil_h) * p->in_w;
            const int row = start + (ic * p->k_h + ky) * p->k_w;
            for (kx = kx0; kx < kx1; ++kx) {
                const int b = row + kx;
                const float v = xr[kx * p->dil_w];
                acc += ((bits[b >> 3] >> (b & 7)) & 1) ? v : -v;
            }
        }
    }
    return acc;
}

void tbn_tiled_conv2d_out_reuse(const tbn_tiled_conv_params *p, const float *x, float *y)
{
    const tbn_conv_params *c = &p->c;
    const tbn_tile *t = &p->tile;
    const tbn_window *w = &c->pool;
    const int ob = c->out_c / t->p;              /* filters in the tile */
    const int fsize = c->in_c * c->k_h * c->k_w; /* bits per filter */
    const int plane = w->out_h * w->out_w;
    int j, r, py, px, wy, wx, oy, ox;
    for (j = 0; j < ob; ++j) {
        for (py = 0; py < w->out_h; ++py) {
            for (px = 0; px < w->out_w; ++px) {
                /* Channel r·ob + j is act(k_r·s + shift) with s the tile sum and k_r = α_r·scale:
                 * monotone in s, so its max over the pooling window is reached at the window's
                 * largest s when k_r >= 0 and at its smallest when k_r < 0. Two sums per window
                 * serve all p channels. */
                float smin = 0.0f, smax = 0.0f;
                int seen = 0;
                for (wy = 0; wy < w->k_h; ++wy) {
                    for (wx = 0; wx < w->k_w; ++wx) {
                        float s;
                        if (!pool_tap(w, c->out_h, c->out_w, py, px, wy, wx, &oy, &ox)) continue;
                        s = conv_tile_at(c, t->bits, j * fsize, x, oy, ox);
                        if (!seen || s < smin) smin = s;
                        if (!seen || s > smax) smax = s;
                        seen = 1;
                    }
                }
                for (r = 0; r < t->p; ++r) {
                    const int oc = r * ob + j;
                    const float k = t->scale[r * t->scale_stride] * (c->scale != NULL ? c->scale[oc] : 1.0f);
                    float v = k * (k >= 0.0f ? smax : smin);
                    if (c->shift != NULL) v += c->shift[oc];
                    if (c->act == TBN_ACT_RELU && v < 0.0f) v = 0.0f;
                    y[oc * plane + py * w->out_w + px] = v;
                }
            }
        }
    }
}

void tbn_tiled_conv2d_general(const tbn_tiled_conv_params *p, const float *x, float *y)
{
    const tbn_conv_params *c = &p->c;
    const tbn_window *w = &c->pool;
    const int cg = c->in_c / c->group, og = c->out_c / c->group;
    const int fsize = cg * c->k_h * c->k_w;
    int oc, py, px, wy, wx, oy, ox, ic, ky, kx, ky0, ky1, kx0, kx1;
    for (oc = 0; oc < c->out_c; ++oc) {
        const float *xg = x + (oc / og) * cg * c->in_h * c->in_w;
        for (py = 0; py < w->out_h; ++py) {
            for (px = 0; px < w->out_w; ++px) {
                float best = 0.0f;
                int seen = 0;
                for (wy = 0; wy < w->k_h; ++wy) {
                    for (wx = 0; wx < w->k_w; ++wx) {
                        float acc = 0.0f, v;
                        if (!pool_tap(w, c->out_h, c->out_w, py, px, wy, wx, &oy, &ox)) continue;
                        const int by = oy * c->stride_h - c->pad_t, bx = ox * c->stride_w - c->pad_l;
                        tap_range(by, c->dil_h, c->k_h, c->in_h, &ky0, &ky1);
                        tap_range(bx, c->dil_w, c->k_w, c->in_w, &kx0, &kx1);
                        for (ic = 0; ic < cg; ++ic) {
                            for (ky = ky0; ky < ky1; ++ky) {
                                const float *xr = xg + (ic * c->in_h + by + ky * c->dil_h) * c->in_w + bx;
                                for (kx = kx0; kx < kx1; ++kx) {
                                    const int e = (ic * c->k_h + ky) * c->k_w + kx; /* index in the filter */
                                    const int s = p->tile_axis == 0 ? oc * fsize + e : e * c->out_c + oc;
                                    acc += tile_weight(&p->tile, s) * xr[kx * c->dil_w];
                                }
                            }
                        }
                        v = conv_post(c, oc, acc);
                        if (!seen || v > best) best = v;
                        seen = 1;
                    }
                }
                *y++ = best;
            }
        }
    }
}
`;
