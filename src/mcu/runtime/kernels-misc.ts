// tbn_kernels.c, part 3: elementwise ops (one function per op, so a model links only the libm
// functions it needs: expf, tanhf, erff, sqrtf), broadcasting binary ops, normalisation,
// reductions and data movement. Elementwise kernels are safe in place (y == x).

export const KERNELS_C_MISC = String.raw`
/* ---- elementwise ---------------------------------------------------------------------------- */

void tbn_relu(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

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

void tbn_sigmoid(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void tbn_tanh(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = tanhf(x[i]);
}

void tbn_erf(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = erff(x[i]);
}

void tbn_gelu(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678f));
}

void tbn_exp(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = expf(x[i]);
}

void tbn_sqrt(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = sqrtf(x[i]);
}

void tbn_neg(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = -x[i];
}

void tbn_abs(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? -x[i] : x[i];
}

void tbn_reciprocal(const float *x, float *y, int n)
{
    int i;
    for (i = 0; i < n; ++i) y[i] = 1.0f / x[i];
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
            *y++ = ((t->bits[b >> 3] >> (b & 7)) & 1) ? s : -s;
        }
    }
}
`;
