// tbn_kernels.c, part 2: kernels that read tile bits directly (docs/design.md §6, the
// structural fact). Each layer shape has a fast path that uses the p-fold reuse of the tile
// and a general path that is correct for any layout; the exporter picks one.

export const KERNELS_C_TILED = String.raw`
/* ---- tiled layers ------------------------------------------------------------------------- */

static int tile_bit(const uint8_t *bits, int b)
{
    return (bits[b >> 3] >> (b & 7)) & 1;
}

/* Σ_i ±x[i·stride] over len consecutive tile bits from bit position start (1 → +x, 0 → −x),
 * summed in order: single bits up to a byte boundary, then a byte (8 bits) at a time. */
static float tile_dot(const uint8_t *bits, int start, const float *x, int stride, int len)
{
    float acc = 0.0f;
    int i = 0, k;
    for (; i < len && ((start + i) & 7) != 0; ++i) acc += tile_bit(bits, start + i) ? x[i * stride] : -x[i * stride];
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
    for (; i < len; ++i) acc += tile_bit(bits, start + i) ? x[i * stride] : -x[i * stride];
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
                    conv_tap(c, x + ic * in_plane, ky, kx, tile_bit(t->bits, b) ? 1.0f : -1.0f, acc);
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
`;
