// kernel_tests.cc — the kernels against naive references computed in double from the format's
// definition (stream index → region scale × bit sign), written independently of the kernels.
// Random shapes cover odd sizes, p dividing or not the output/input, both tile axes, a single
// scale, Gemm alpha/beta/C broadcasts, conv groups (incl. depthwise), strides, dilations, pads
// and auto_pad, channels first and last, and the fused epilogue (scale, shift, residual, every
// activation); every case runs on every kernel path this CPU has, with tasks run in reverse
// order to show they are independent. Malformed sizes must give a status, not a crash.
#include <cmath>
#include <cstdio>
#include <vector>

#include "selftest.h"
#include "tbn_kernels.h"

namespace tbn_test {
namespace {

int g_failures = 0;

struct Tile {
  std::vector<int64_t> shape;
  std::vector<uint8_t> bits;
  std::vector<float> scales;
  int64_t p = 1, axis = 0, n = 1, q = 1;
  tbn_tile view() const {
    return {shape.data(), shape.size(), p, axis, bits.data(), static_cast<int64_t>(bits.size()), scales.data(),
            static_cast<int64_t>(scales.size())};
  }
};

Tile random_tile(Rng &r, std::vector<int64_t> shape) {
  Tile t;
  t.shape = shape;
  for (int64_t d : shape) t.n *= d;
  std::vector<int64_t> divisors;
  for (int64_t d = 1; d <= 16 && d <= t.n; d++)
    if (t.n % d == 0) divisors.push_back(d);
  t.p = divisors[r.next() % divisors.size()];
  t.axis = r.next() & 1;
  t.q = t.n / t.p;
  t.bits.resize(static_cast<size_t>((t.q + 7) / 8));
  for (auto &b : t.bits) b = static_cast<uint8_t>(r.next());
  t.scales.resize(r.next() % 4 == 0 ? 1 : static_cast<size_t>(t.p));
  for (auto &s : t.scales) s = 0.05f + 0.5f * std::fabs(r.uniform());
  return t;
}

// W at row-major index idx, straight from the definition.
double ref_w(const Tile &t, int64_t idx) {
  const int64_t m = t.shape[0], kc = t.n / m;
  const int64_t k = t.axis == 0 ? idx : (idx % kc) * m + idx / kc;
  const int64_t j = k % t.q, region = k / t.q;
  const double a = t.scales.size() == 1 ? t.scales[0] : t.scales[static_cast<size_t>(region)];
  return ((t.bits[static_cast<size_t>(j >> 3)] >> (j & 7)) & 1) ? a : -a;
}

// A random epilogue for `channels` output channels and `count` outputs (or none), and its
// reference in double.
struct Epilogue {
  std::vector<float> scale, shift, residual;
  tbn_epilogue e{};
  bool on = false;
  double apply(double v, int64_t ch, int64_t i) const {
    if (!on) return v;
    v = v * (e.scale_len ? scale[e.scale_len == 1 ? 0 : ch] : 1.0) + (e.shift_len ? shift[e.shift_len == 1 ? 0 : ch] : 0.0) + e.add;
    if (e.residual) v += residual[static_cast<size_t>(i)];
    const double a = e.alpha, b = e.beta;
    switch (e.act) {
      case TBN_ACT_RELU: return v < 0 ? 0 : v;
      case TBN_ACT_LEAKY_RELU: return v < 0 ? a * v : v;
      case TBN_ACT_CLIP: return v < a ? a : (v > b ? b : v);
      case TBN_ACT_HARD_SWISH: return v * std::fmin(std::fmax(v / 6 + 0.5, 0.0), 1.0);
      case TBN_ACT_SIGMOID: return 1 / (1 + std::exp(-v));
      case TBN_ACT_SILU: return v / (1 + std::exp(-v));
      case TBN_ACT_GELU: return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      case TBN_ACT_GELU_TANH: return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      default: return v;
    }
  }
  const tbn_epilogue *get() const { return on ? &e : nullptr; }
};

Epilogue random_epilogue(Rng &r, int64_t channels, int64_t count) {
  Epilogue ep;
  ep.on = r.next() % 4 != 0;
  if (!ep.on) return ep;
  if (r.next() & 1) {
    ep.scale.resize(r.next() % 4 == 0 ? 1 : static_cast<size_t>(channels));
    for (auto &v : ep.scale) v = 0.5f + r.uniform();
  }
  if (r.next() & 1) {
    ep.shift.resize(r.next() % 4 == 0 ? 1 : static_cast<size_t>(channels));
    for (auto &v : ep.shift) v = r.uniform();
  }
  if (r.next() & 1) {
    ep.residual.resize(static_cast<size_t>(count));
    for (auto &v : ep.residual) v = 3 * r.uniform();
  }
  ep.e.scale = ep.scale.empty() ? nullptr : ep.scale.data(), ep.e.scale_len = static_cast<int64_t>(ep.scale.size());
  ep.e.shift = ep.shift.empty() ? nullptr : ep.shift.data(), ep.e.shift_len = static_cast<int64_t>(ep.shift.size());
  ep.e.add = r.next() % 3 == 0 ? r.uniform() : 0.0f;
  ep.e.residual = ep.residual.empty() ? nullptr : ep.residual.data();
  ep.e.act = static_cast<tbn_act>(r.next() % TBN_ACT_COUNT);
  ep.e.alpha = ep.e.act == TBN_ACT_CLIP ? -0.5f : 0.1f;
  ep.e.beta = 0.75f;
  return ep;
}

// The "thread pools" of the cases: tasks run last to first (they are independent), or each on its
// own thread at once (they share the units out correctly); both count the parallel steps of a run,
// which must not grow with the batch (no per-image wake-ups): at most an input step (copy, or
// combine of the input regions), a transpose step (table lookups) and the product.
int g_parallel_steps = 0;
struct Reverse {
  static void run(void *, size_t n, tbn_task_fn fn, void *arg) {
    g_parallel_steps++;
    for (size_t i = n; i-- > 0;) fn(arg, i);
  }
};
struct Threads {
  static void run(void *ctx, size_t n, tbn_task_fn fn, void *arg) {
    g_parallel_steps++;
    run_on_threads(ctx, n, fn, arg);
  }
};

// Case c's pool: in turn with the default task size, or on threads with every run split into as
// many tasks as it has units (up to 3, or 8: more tasks than most runs have blocks).
tbn_parallel test_pool(int c) {
  if (c % 2 == 0) return {Reverse::run, nullptr, 3, 0};
  return {Threads::run, nullptr, static_cast<size_t>(c % 4 == 1 ? 3 : 8), 1};
}

void expect_steps(int most, const char *what, int c) {
  if (g_parallel_steps <= most) return;
  std::printf("FAIL %s case %d: %d parallel steps in one run (at most %d)\n", what, c, g_parallel_steps, most);
  g_failures++;
}


void expect_close(const std::vector<float> &got, const std::vector<double> &want, const char *what, int c,
                  tbn_isa isa) {
  double scale = 1e-30, worst = 0;
  for (double v : want) scale = std::fmax(scale, std::fabs(v));
  // a value left unwritten stays NaN, which fmax would skip: it counts as an infinite error
  for (size_t i = 0; i < want.size(); i++) {
    const double e = std::fabs(got[i] - want[i]);
    worst = std::isnan(e) ? INFINITY : std::fmax(worst, e);
    if (std::isinf(worst)) break;
  }
  if (!(worst <= 2e-5 * scale)) {
    std::printf("FAIL %s case %d (%s): max error %.3g of scale %.3g\n", what, c, tbn_isa_name(isa), worst, scale);
    g_failures++;
  }
}

void expect_status(tbn_status got, tbn_status want, const char *what) {
  if (got != want) {
    std::printf("FAIL %s: status %d, expected %d\n", what, got, want);
    g_failures++;
  }
}

void dense_case(Rng &r, int c) {
  const int64_t out = r.range(1, 70), in = r.range(1, 90), rows = r.next() % 3 ? r.range(0, 13) : r.range(14, 70);
  const int out_first = r.next() & 1;
  const Tile t = random_tile(r, out_first ? std::vector<int64_t>{out, in} : std::vector<int64_t>{in, out});
  std::vector<float> x(static_cast<size_t>(rows * in)), cv;
  for (auto &v : x) v = r.uniform();
  tbn_dense_args a{};
  a.x = x.data(), a.rows = rows, a.alpha = r.next() % 3 ? 1.0f : 0.5f, a.beta = r.next() % 3 ? 1.0f : -2.0f;
  if (r.next() & 1) {
    a.c_rows = (r.next() & 1) ? rows : 1, a.c_cols = (r.next() & 1) ? out : 1;
    cv.resize(static_cast<size_t>(a.c_rows * a.c_cols));
    for (auto &v : cv) v = r.uniform();
    a.c = cv.data();
  }
  std::vector<double> want(static_cast<size_t>(rows * out));
  for (int64_t b = 0; b < rows; b++)
    for (int64_t o = 0; o < out; o++) {
      double s = 0;
      for (int64_t i = 0; i < in; i++) s += x[b * in + i] * ref_w(t, out_first ? o * in + i : i * out + o);
      double y = a.alpha * s;
      if (a.c) y += a.beta * a.c[(a.c_rows == 1 ? 0 : b) * a.c_cols + (a.c_cols == 1 ? 0 : o)];
      want[b * out + o] = y;
    }
  const Epilogue ep = random_epilogue(r, out, rows * out);
  for (int64_t b = 0; b < rows; b++)
    for (int64_t o = 0; o < out; o++) want[b * out + o] = ep.apply(want[b * out + o], o, b * out + o);
  a.epi = ep.get();
  const tbn_tile tv = t.view();
  for (tbn_isa isa : {TBN_ISA_PORTABLE, TBN_ISA_AVX2, TBN_ISA_AVX512}) {
    if (!tbn_isa_available(isa)) continue;
    size_t pb = 0, wb = 0;
    tbn_matrix m;
    expect_status(tbn_matrix_bytes(&tv, out, in, out_first, isa, TBN_USE_DENSE, &pb), TBN_OK, "dense plan size");
    std::vector<unsigned char> plan(pb), ws;
    expect_status(tbn_matrix_init(&m, &tv, out, in, out_first, isa, TBN_USE_DENSE, plan.data(), pb), TBN_OK, "dense plan");
    const tbn_parallel par = test_pool(c);
    expect_status(tbn_dense_workspace(&m, rows, par.max_tasks, &wb), TBN_OK, "dense workspace");
    ws.resize(wb);
    std::vector<float> y(want.size(), NAN);
    a.y = y.data();
    g_parallel_steps = 0;
    expect_status(tbn_dense_run(&m, &a, ws.data(), wb, &par), TBN_OK, "dense run");
    expect_steps(3, "dense", c);
    expect_close(y, want, "dense", c, isa);
  }
}

void conv_case(Rng &r, int c) {
  const int spatial = r.range(1, 2), group = r.next() % 3 == 0 ? r.range(2, 4) : 1;
  // a few images, or (one case in four) enough that each of the 3 tasks runs several in turn
  const int64_t cg = r.next() % 4 == 0 ? 1 : r.range(1, 5), ocg = r.range(1, 9), n = r.next() % 4 == 0 ? r.range(6, 10) : r.range(1, 2);
  int64_t xs[4] = {n, cg * group, 1, 1}, ws_[4] = {ocg * group, cg, 1, 1}, st[2], dl[2], pads[4];
  for (int s = 0; s < spatial; s++) {
    xs[2 + s] = r.range(1, 11), ws_[2 + s] = r.range(1, 3), st[s] = r.range(1, 2), dl[s] = r.range(1, 2);
    pads[s] = r.range(0, 2), pads[spatial + s] = r.range(0, 2);
  }
  // one case in four has wide rows: the row copies work in 8- and 16-float chunks (a stride-2
  // row of under 32 floats never reaches a second chunk)
  if (r.next() % 4 == 0) xs[1 + spatial] = r.range(30, 70);
  const tbn_auto_pad ap = static_cast<tbn_auto_pad>(r.next() % 4);
  tbn_conv_geom g;
  if (r.next() % 3 == 0) {  // a product over positions: 1×1, stride 1, no pads (the no-copy and dense paths)
    for (int s = 0; s < spatial; s++) ws_[2 + s] = 1, st[s] = 1, pads[s] = pads[spatial + s] = 0;
  }
  if (tbn_conv_geometry(spatial, xs, ws_, group, nullptr, st, dl, pads, r.next() % 3 ? ap : TBN_PAD_NOTSET, &g) != TBN_OK)
    return;  // no output
  g.channels_last = static_cast<int>(r.next() & 1);
  const Tile t = random_tile(r, std::vector<int64_t>(ws_, ws_ + 2 + spatial));
  std::vector<float> x(static_cast<size_t>(n * xs[1] * g.in[0] * g.in[1])), bias;
  for (auto &v : x) v = r.uniform();
  if (r.next() & 1) bias.resize(static_cast<size_t>(g.oc));
  for (auto &v : bias) v = r.uniform();
  const int64_t kh = g.k[0], kw = g.k[1], k = cg * kh * kw, plane = g.out[0] * g.out[1];
  std::vector<double> want(static_cast<size_t>(n * g.oc * plane));
  for (int64_t b = 0; b < n; b++)
    for (int64_t oc = 0; oc < g.oc; oc++)
      for (int64_t oh = 0; oh < g.out[0]; oh++)
        for (int64_t ow = 0; ow < g.out[1]; ow++) {
          double s = bias.empty() ? 0 : bias[oc];
          for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t i = 0; i < kh; i++)
              for (int64_t j = 0; j < kw; j++) {
                const int64_t ih = oh * g.stride[0] - g.pad0[0] + i * g.dil[0], iw = ow * g.stride[1] - g.pad0[1] + j * g.dil[1];
                if (ih < 0 || ih >= g.in[0] || iw < 0 || iw >= g.in[1]) continue;
                const int64_t ch = (oc / ocg) * cg + ci;
                const int64_t xi = g.channels_last ? ((b * g.in[0] + ih) * g.in[1] + iw) * xs[1] + ch
                                                   : ((b * xs[1] + ch) * g.in[0] + ih) * g.in[1] + iw;
                s += x[xi] * ref_w(t, oc * k + (ci * kh + i) * kw + j);
              }
          const int64_t pos = oh * g.out[1] + ow;
          want[g.channels_last ? (b * plane + pos) * g.oc + oc : (b * g.oc + oc) * plane + pos] = s;
        }
  const Epilogue ep = random_epilogue(r, g.oc, static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); i++) {
    const int64_t pos = static_cast<int64_t>(i) % (g.channels_last ? g.oc : plane * g.oc);
    want[i] = ep.apply(want[i], g.channels_last ? pos : pos / plane, static_cast<int64_t>(i));
  }
  // Channels first, one case in two: a MaxPool after the epilogue (TbnConvMaxPool), its reference
  // the window maxima of the conv's reference.
  tbn_pool_geom pg{};
  bool pooled = false;
  if (!g.channels_last && (r.next() & 1)) {
    const int64_t conv_shape[4] = {n, g.oc, spatial == 2 ? g.out[0] : g.out[1], g.out[1]};
    int64_t pk[2], ps[2], pp[4];
    for (int s = 0; s < spatial; s++) {
      pk[s] = r.range(1, 3), ps[s] = r.range(1, 3);
      pp[s] = r.range(0, static_cast<int>(pk[s]) - 1), pp[spatial + s] = r.range(0, static_cast<int>(pk[s]) - 1);
    }
    pooled = tbn_pool_geometry(spatial, conv_shape, pk, ps, pp, static_cast<int>(r.next() & 1), &pg) == TBN_OK;
  }
  if (pooled) {
    std::vector<double> conv = want;
    want.assign(static_cast<size_t>(n * g.oc * pg.out[0] * pg.out[1]), 0.0);
    for (int64_t u = 0; u < n * g.oc; u++)
      for (int64_t oh = 0; oh < pg.out[0]; oh++)
        for (int64_t ow = 0; ow < pg.out[1]; ow++) {
          double best = -INFINITY;
          for (int64_t i = 0; i < pg.k[0]; i++)
            for (int64_t j = 0; j < pg.k[1]; j++) {
              const int64_t ih = oh * pg.stride[0] - pg.pad0[0] + i, iw = ow * pg.stride[1] - pg.pad0[1] + j;
              if (ih >= 0 && ih < pg.in[0] && iw >= 0 && iw < pg.in[1]) best = std::fmax(best, conv[(u * pg.in[0] + ih) * pg.in[1] + iw]);
            }
          want[(u * pg.out[0] + oh) * pg.out[1] + ow] = best;
        }
  }
  const tbn_tile tv = t.view();
  for (tbn_isa isa : {TBN_ISA_PORTABLE, TBN_ISA_AVX2, TBN_ISA_AVX512}) {
    if (!tbn_isa_available(isa)) continue;
    size_t pb = 0, wb = 0;
    tbn_matrix m;
    // channels last, 1×1, stride 1, no pads, one group: the dense product with a dense plan, or the conv path
    const bool dense = g.channels_last && group == 1 && kh == 1 && kw == 1 && g.stride[0] == 1 && g.stride[1] == 1 &&
                       g.pad0[0] == 0 && g.pad0[1] == 0 && g.pad1[0] == 0 && g.pad1[1] == 0 && (r.next() & 1);
    const tbn_use use = dense ? TBN_USE_DENSE : TBN_USE_CONV;
    expect_status(tbn_matrix_bytes(&tv, g.oc, k, 1, isa, use, &pb), TBN_OK, "conv plan size");
    std::vector<unsigned char> plan(pb), ws;
    expect_status(tbn_matrix_init(&m, &tv, g.oc, k, 1, isa, use, plan.data(), pb), TBN_OK, "conv plan");
    const tbn_parallel par = test_pool(c);
    const tbn_pool_geom *pool = pooled ? &pg : nullptr;
    expect_status(tbn_conv_pool_workspace(&m, &g, pool, par.max_tasks, &wb), TBN_OK, "conv workspace");
    ws.resize(wb);
    std::vector<float> y(want.size(), NAN);
    g_parallel_steps = 0;
    expect_status(tbn_conv_pool_run(&m, &g, pool, x.data(), bias.empty() ? nullptr : bias.data(), ep.get(), y.data(), ws.data(), wb, &par),
                  TBN_OK, "conv run");
    expect_steps(3, "conv", c);
    expect_close(y, want, pooled ? "conv + max pool" : "conv", c, isa);
  }
}

void decode_case(Rng &r, int c) {
  std::vector<int64_t> shape;
  for (int d = r.range(1, 4); d > 0; d--) shape.push_back(r.range(1, 7));
  const Tile t = random_tile(r, shape);
  const tbn_tile tv = t.view();
  std::vector<float> w(static_cast<size_t>(t.n));
  std::vector<double> want(w.size());
  for (int64_t i = 0; i < t.n; i++) want[i] = ref_w(t, i);
  expect_status(tbn_decode(&tv, w.data(), t.n), TBN_OK, "decode");
  expect_close(w, want, "decode", c, TBN_ISA_PORTABLE);
}

void malformed() {
  const int64_t shape[2] = {6, 4}, huge[3] = {1 << 30, 1 << 30, 1 << 30};
  const uint8_t bits[3] = {0, 0, 0};
  const float scales[4] = {1, 1, 1, 1};
  tbn_tile t{shape, 2, 4, 0, bits, 1, scales, 4};
  expect_status(tbn_tile_validate(&t, nullptr, nullptr), TBN_OK, "valid tile");
  t.p = 5, expect_status(tbn_tile_validate(&t, nullptr, nullptr), TBN_ERR_ATTR, "p not dividing");
  t.p = 0, expect_status(tbn_tile_validate(&t, nullptr, nullptr), TBN_ERR_ATTR, "p = 0");
  t.p = 4, t.tile_axis = 2, expect_status(tbn_tile_validate(&t, nullptr, nullptr), TBN_ERR_ATTR, "tile_axis 2");
  t.tile_axis = 1, t.bits_len = 3, expect_status(tbn_tile_validate(&t, nullptr, nullptr), TBN_ERR_TILE, "bits length");
  t.bits_len = 1, t.scales_len = 3, expect_status(tbn_tile_validate(&t, nullptr, nullptr), TBN_ERR_TILE, "scales length");
  t.scales_len = 4, t.shape = huge, t.rank = 3;
  expect_status(tbn_tile_validate(&t, nullptr, nullptr), TBN_ERR_OVERFLOW, "overflowing shape");
  t.shape = shape, t.rank = 2;
  size_t bytes = 0;
  expect_status(tbn_matrix_bytes(&t, 5, 5, 1, TBN_ISA_PORTABLE, TBN_USE_DENSE, &bytes), TBN_ERR_SHAPE, "out·in ≠ N");
  expect_status(tbn_matrix_bytes(&t, 4, 6, 1, TBN_ISA_PORTABLE, TBN_USE_DENSE, &bytes), TBN_ERR_SHAPE, "shape[0] ≠ out");
  tbn_conv_geom g;
  const int64_t x1[3] = {1, 4, 5}, w1[3] = {2, 3, 3}, w2[3] = {2, 2, 9}, one[1] = {1}, zero[1] = {0};
  expect_status(tbn_conv_geometry(1, x1, w1, 1, nullptr, nullptr, nullptr, nullptr, TBN_PAD_NOTSET, &g), TBN_ERR_SHAPE,
                "channels ≠ group · W[1]");
  expect_status(tbn_conv_geometry(1, x1, w2, 2, nullptr, nullptr, nullptr, nullptr, TBN_PAD_NOTSET, &g), TBN_ERR_SHAPE,
                "kernel longer than the input");
  expect_status(tbn_conv_geometry(1, x1, w1, 3, nullptr, one, nullptr, nullptr, TBN_PAD_NOTSET, &g), TBN_ERR_SHAPE,
                "group not dividing channels");
  const int64_t w3[3] = {2, 2, 3};
  expect_status(tbn_conv_geometry(1, x1, w3, 2, nullptr, zero, nullptr, nullptr, TBN_PAD_NOTSET, &g), TBN_ERR_ATTR,
                "stride 0");
  tbn_auto_pad ap;
  expect_status(tbn_auto_pad_parse("SAME", &ap), TBN_ERR_ATTR, "auto_pad SAME");
  // the pool's geometry: its own rules, then against the conv it follows
  tbn_pool_geom pg;
  const int64_t y1[3] = {1, 2, 3}, k2[1] = {2}, k4[1] = {4}, s2[1] = {2}, pads2[2] = {2, 0}, pads1[2] = {1, 1};
  expect_status(tbn_pool_geometry(1, y1, k4, nullptr, nullptr, 0, &pg), TBN_ERR_SHAPE, "pool kernel longer than the input");
  expect_status(tbn_pool_geometry(1, y1, k2, nullptr, pads2, 0, &pg), TBN_ERR_ATTR, "pool pad not under the kernel");
  expect_status(tbn_pool_geometry(1, y1, k2, zero, nullptr, 0, &pg), TBN_ERR_ATTR, "pool stride 0");
  expect_status(tbn_pool_geometry(1, y1, k2, nullptr, nullptr, 2, &pg), TBN_ERR_ARG, "ceil_mode 2");
  // ceil_mode: 3 + 2 pads, kernel 2, stride 2 → ⌈3/2⌉ + 1 = 3 windows, the last starting at 4 ≥ 3 + 1: dropped
  expect_status(tbn_pool_geometry(1, y1, k2, s2, pads1, 1, &pg), TBN_OK, "ceil_mode pool");
  if (pg.out[1] != 2) std::printf("FAIL ceil_mode pool: %lld outputs, expected 2\n", static_cast<long long>(pg.out[1])), g_failures++;
  const int64_t xc[3] = {1, 2, 5}, wc[3] = {2, 2, 3};
  expect_status(tbn_conv_geometry(1, xc, wc, 1, nullptr, nullptr, nullptr, nullptr, TBN_PAD_NOTSET, &g), TBN_OK, "conv for the pool");
  const int64_t m_shape[3] = {2, 2, 3};
  uint8_t m_bits[2] = {0x5a, 0x0f};
  const float m_scales[1] = {1};
  const tbn_tile mt{m_shape, 3, 1, 0, m_bits, 2, m_scales, 1};
  size_t pb = 0;
  expect_status(tbn_matrix_bytes(&mt, 2, 6, 1, TBN_ISA_PORTABLE, TBN_USE_CONV, &pb), TBN_OK, "conv plan size");
  std::vector<unsigned char> plan(pb);
  tbn_matrix m;
  expect_status(tbn_matrix_init(&m, &mt, 2, 6, 1, TBN_ISA_PORTABLE, TBN_USE_CONV, plan.data(), pb), TBN_OK, "conv plan");
  expect_status(tbn_conv_pool_workspace(&m, &g, &pg, 1, &bytes), TBN_OK, "a pool on the conv's output");
  pg.c = 3, expect_status(tbn_conv_pool_workspace(&m, &g, &pg, 1, &bytes), TBN_ERR_SHAPE, "a pool of other channels");
  pg.c = 2, pg.in[1] = 4, expect_status(tbn_conv_pool_workspace(&m, &g, &pg, 1, &bytes), TBN_ERR_SHAPE, "a pool of another width");
  pg.in[1] = 3, g.channels_last = 1, expect_status(tbn_conv_pool_workspace(&m, &g, &pg, 1, &bytes), TBN_ERR_SHAPE, "a pool on channels last");
}

}  // namespace

int kernel_tests(int cases) {
  Rng r(20250101);
  malformed();
  g_failures += task_tests();
  for (int c = 0; c < cases; c++) {
    dense_case(r, c);
    conv_case(r, c);
    decode_case(r, c);
  }
  std::printf("kernel tests: %d cases, %d failures\n", cases, g_failures);
  return g_failures == 0 ? 0 : 1;
}

}  // namespace tbn_test
