// harness_test.cu — the CUDA kernels against references computed on the CPU in double from the
// format's definition (harness.h ref_w). Each case forces one strategy (OUT_REUSE, IN_COMBINE,
// GENERAL) and one path (GEMV ≤ 4 rows, wide GEMV, tiled, split-K) with odd sizes, p not
// dividing the output, both tile axes, one α per layer, Gemm transA/alpha/beta/C broadcasts,
// conv groups (depthwise too), strides, dilations, pads and auto_pad, and (most cases) a fused
// epilogue (scale, shift, residual, every activation); every case runs with fp32
// and (sm_80+) tf32x2 math, with and without split-K workspace. Outputs start as NaN so an
// unwritten value fails. Tolerance: |Δ| ≤ 5e-5 · Σ|terms| per output (one wrong tile bit costs
// 2/K of that sum, so it is caught for K up to 40 000), and an rms of |Δ| / Σ|terms| at fp32
// level (kRmsTol). Then the MaxPool kernel's cases (harness_pool.cu); ends with a coverage check.
#include <cmath>
#include <map>
#include <string>

#include "harness.h"
#include "tbn_tile_math.h"

namespace tbn_harness {
namespace {

constexpr double kTol = 5e-5;
// Rounding of fp32 sums leaves an rms error near 2^-24/√K of Σ|terms|; TF32 without the lo term
// would leave 2^-12/√K. Between them, this catches a path that loses precision.
constexpr double kRmsTol = 2e-6;
const char *const kModes[] = {"out-reuse", "in-combine", "general"};

int g_failures = 0;
std::map<std::string, int> g_seen;

void expect_close(const std::vector<float> &got, const std::vector<double> &want, const std::vector<double> &bound,
                  const std::string &what) {
  size_t bad = 0, worst_i = 0, n = 0;
  double worst = 0, sq = 0;
  for (size_t i = 0; i < want.size(); i++) {
    const double err = std::fabs(got[i] - want[i]);
    if (!(err <= kTol * bound[i] + 1e-30)) {
      if (bad++ == 0 || err > worst) worst = err, worst_i = i;
    }
    if (bound[i] > 0) sq += (err / bound[i]) * (err / bound[i]), n++;
  }
  const double rms = n ? std::sqrt(sq / n) : 0;
  if (bad) {
    std::printf("FAIL %s: %zu of %zu outputs off; worst [%zu] got %.9g want %.9g (bound %.3g)\n", what.c_str(), bad,
                want.size(), worst_i, got[worst_i], want[worst_i], kTol * bound[worst_i]);
    g_failures++;
  } else if (rms > kRmsTol) {
    std::printf("FAIL %s: rms error %.3g of the term sums (fp32 accuracy is below %.1g)\n", what.c_str(), rms, kRmsTol);
    g_failures++;
  }
}

void expect_status(cudaError_t got, cudaError_t want, const char *what) {
  if (got != want) {
    std::printf("FAIL %s: %s, expected %s\n", what, cudaGetErrorName(got), cudaGetErrorName(want));
    g_failures++;
  }
  (void)cudaGetLastError();
}

std::vector<int64_t> divisors(int64_t n, int64_t max) {
  std::vector<int64_t> d;
  for (int64_t k = 1; k <= max && k <= n; k++)
    if (n % k == 0) d.push_back(k);
  return d;
}

std::vector<tbn::CudaMath> maths() {
  std::vector<tbn::CudaMath> m = {tbn::CudaMath::Fp32};
  if (tbn::tbn_cuda_has_tf32()) m.push_back(tbn::CudaMath::Tf32x2);
  return m;
}

const char *math_name(tbn::CudaMath m) { return m == tbn::CudaMath::Fp32 ? "fp32" : "tf32x2"; }

// A random fused epilogue (ai.tbn version 2) for `channels` outputs laid out as `count` values,
// its device buffers, and its reference: ref ← act(s·ref + t + r), the tolerance bound scaled
// by the largest slope of the activations (1.5, HardSwish) plus room for their rounding.
struct Epilogue {
  std::vector<float> scale, shift, residual;
  tbn::CudaEpilogue e;
  DevBuf<float> ds, dt, dr;
  void apply(std::vector<double> &ref, std::vector<double> &bound, int64_t i, int64_t ch) const {
    double v = ref[i] * (scale.empty() ? 1.0 : scale[scale.size() == 1 ? 0 : ch]);
    v += (shift.empty() ? 0.0 : shift[shift.size() == 1 ? 0 : ch]) + (residual.empty() ? 0.0 : residual[residual.size() == 1 ? 0 : i]);
    const double a = e.alpha, b = e.beta;
    switch (e.act) {
      case 1: v = v < 0 ? 0 : v; break;
      case 2: v = v < 0 ? a * v : v; break;
      case 3: v = v < a ? a : (v > b ? b : v); break;
      case 4: v = v * std::fmin(std::fmax(v / 6 + 0.5, 0.0), 1.0); break;
      case 5: v = 1 / (1 + std::exp(-v)); break;
      case 6: v = v / (1 + std::exp(-v)); break;
      case 7: v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); break;
      case 8: v = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); break;
      default: break;
    }
    const double sc = scale.empty() ? 1.0 : std::fabs(scale[scale.size() == 1 ? 0 : ch]);
    ref[i] = v, bound[i] = 1.5 * sc * bound[i] + 1e-2 * (1 + std::fabs(v));
  }
};

void random_epilogue(Rng &r, Epilogue &ep, int64_t channels, int64_t count) {
  if (r.next() % 3 == 0) return;
  if (r.next() & 1) ep.scale.resize(r.next() % 4 == 0 ? 1 : static_cast<size_t>(channels));
  if (r.next() & 1) ep.shift.resize(r.next() % 4 == 0 ? 1 : static_cast<size_t>(channels));
  if (r.next() & 1) ep.residual.resize(r.next() % 4 == 0 ? 1 : static_cast<size_t>(count));
  for (auto &v : ep.scale) v = 0.5f + r.uniform();
  for (auto &v : ep.shift) v = r.uniform();
  for (auto &v : ep.residual) v = 2 * r.uniform();
  ep.e.act = static_cast<int>(r.next() % 9);
  ep.e.alpha = ep.e.act == 3 ? -0.5f : 0.1f, ep.e.beta = 0.75f;
  ep.ds = DevBuf<float>(ep.scale), ep.dt = DevBuf<float>(ep.shift), ep.dr = DevBuf<float>(ep.residual);
  ep.e.scale = ep.scale.empty() ? nullptr : ep.ds.data(), ep.e.scale_len = static_cast<int64_t>(ep.scale.size());
  ep.e.shift = ep.shift.empty() ? nullptr : ep.dt.data(), ep.e.shift_len = static_cast<int64_t>(ep.shift.size());
  ep.e.residual = ep.residual.empty() ? nullptr : ep.dr.data(), ep.e.residual_len = static_cast<int64_t>(ep.residual.size());
}

// ---- Gemm / MatMul ----

void dense_case(Rng &r, int c) {
  const int want = c % 3, cls = (c / 3) % 4;
  int64_t out, in, rows;
  if (cls == 0) {
    const int size = (c / 12) % 4;  // short rows, longer, and (one batch row) long enough for the wide GEMV
    out = r.range(1, 200), in = size < 2 ? r.range(1, 300) : size == 2 ? r.range(300, 1500) : r.range(4096, 9000);
    rows = size == 3 ? 1 : r.range(1, 4);
  }
  else if (cls == 1) rows = r.range(5, 70), out = r.range(1, 150), in = r.range(1, 200);
  else if (cls == 2) rows = r.range(5, 40), out = r.range(1, 96), in = r.range(300, 2000);
  else rows = r.range(33, 100), out = r.range(65, 300), in = r.range(33, 300);
  const int w_out_first = r.next() & 1;
  const int out_major = want == TBN_TILE_OUT_REUSE ? 1 : want == TBN_TILE_IN_COMBINE ? 0 : static_cast<int>(r.next() & 1);
  int64_t &along = out_major ? out : in, &other = out_major ? in : out;
  int64_t p;
  if (want != TBN_TILE_GENERAL) {
    // Split-K needs ≥ 8 stages of 32 inputs: keep IN_COMBINE's ri = in/p long in that class.
    p = r.pick(divisors(along, cls == 2 && want == TBN_TILE_IN_COMBINE ? 1 : 16));
  } else {
    p = r.pick(std::vector<int64_t>{2, 3, 4, 5, 6, 8});
    if (along % p == 0) along += 1;                 // p does not divide the region axis …
    other = (other + p - 1) / p * p;                // … but divides N
  }
  const int64_t axis = (w_out_first != 0) == (out_major != 0) ? 0 : 1;
  Tile t;
  make_tile(t, r, w_out_first ? std::vector<int64_t>{out, in} : std::vector<int64_t>{in, out}, p, axis,
            r.next() % 4 == 0);
  const bool trans_a = r.next() % 3 == 0;
  const float alpha = r.pick(std::vector<float>{1.0f, 0.5f, -1.5f}), beta = r.pick(std::vector<float>{1.0f, 2.0f, 0.0f});
  std::vector<float> x(static_cast<size_t>(rows * in)), cv;
  for (auto &v : x) v = r.uniform();
  int64_t c_rows = 0, c_cols = 0;
  if (r.next() & 1) {
    c_rows = (r.next() & 1) ? rows : 1, c_cols = (r.next() & 1) ? out : 1;
    cv.resize(static_cast<size_t>(c_rows * c_cols));
    for (auto &v : cv) v = r.uniform();
  }
  auto xat = [&](int64_t b, int64_t i) { return static_cast<double>(trans_a ? x[i * rows + b] : x[b * in + i]); };
  std::vector<double> ref(static_cast<size_t>(rows * out)), bound(ref.size());
  for (int64_t b = 0; b < rows; b++)
    for (int64_t o = 0; o < out; o++) {
      double s = 0, mag = 0;
      for (int64_t i = 0; i < in; i++) {
        const double term = xat(b, i) * ref_w(t, w_out_first ? o * in + i : i * out + o);
        s += term, mag += std::fabs(term);
      }
      double y = alpha * s, ymag = std::fabs(alpha) * mag;
      if (!cv.empty() && beta != 0.0f) {
        const double cc = beta * cv[static_cast<size_t>((c_rows == 1 ? 0 : b) * c_cols + (c_cols == 1 ? 0 : o))];
        y += cc, ymag += std::fabs(cc);
      }
      ref[b * out + o] = y, bound[b * out + o] = ymag;
    }

  Epilogue ep;
  random_epilogue(r, ep, out, rows * out);
  for (int64_t b = 0; b < rows; b++)
    for (int64_t o = 0; o < out; o++) ep.apply(ref, bound, b * out + o, o);
  const DevBuf<float> dx(x), dc(cv);
  DevBuf<float> dy(ref.size());
  tbn::CudaDense a;
  a.epi = ep.e;
  a.tile = device_tile(t);
  a.out = out, a.in = in, a.out_major = out_major, a.rows = rows;
  a.x = dx.data(), a.x_row_stride = trans_a ? 1 : in, a.x_col_stride = trans_a ? rows : 1;
  a.y = dy.data(), a.alpha = alpha, a.beta = beta;
  if (!cv.empty()) a.c = dc.data(), a.c_row_stride = c_rows == 1 ? 0 : c_cols, a.c_col_stride = c_cols == 1 ? 0 : 1;
  int64_t ro, ri;
  const int mode = tbn_plan_mode(out_major, out, in, p, &ro, &ri);
  size_t ws_bytes = 0;
  HARNESS_CUDA(tbn::tbn_cuda_dense_workspace(a, &ws_bytes));
  const DevBuf<unsigned char> ws(ws_bytes);
  for (tbn::CudaMath m : maths())
    for (int split = 0; split < 2; split++) {
      a.math = m;
      HARNESS_CUDA(cudaMemset(dy.data(), 0xff, dy.size() * sizeof(float)));  // NaN
      expect_status(tbn::launch_tbn_dense(nullptr, a, split ? ws.data() : nullptr, split ? ws_bytes : 0), cudaSuccess,
                    "dense launch");
      HARNESS_CUDA(cudaDeviceSynchronize());
      const bool wide = rows == 1 && mode == TBN_TILE_OUT_REUSE && ri >= 4096;  // dense_kernel.cu kWideInputs
      const char *path = wide ? "wide" : rows <= 4 ? "gemv" : split && ws_bytes ? "split" : "tiled";
      g_seen[std::string("dense ") + kModes[mode] + " " + path]++;
      expect_close(dy.download(), ref, bound,
                   "dense case " + std::to_string(c) + " (" + kModes[mode] + ", " + path + ", " + math_name(m) +
                       ", rows " + std::to_string(rows) + ", out " + std::to_string(out) + ", in " + std::to_string(in) +
                       ", p " + std::to_string(p) + ", axis " + std::to_string(axis) + ")");
    }
}

// ---- Conv ----

struct ConvShape {
  int spatial, group;
  int64_t n, cg, ocg, size[2], kernel[2], stride[2], dil[2], pads[4];
  tbn_auto_pad ap;
};

ConvShape conv_shape(Rng &r, int cls) {
  ConvShape s{};
  s.spatial = cls == 0 ? r.range(1, 2) : 2;
  if (cls == 0) {
    const int kind = r.range(0, 2);  // plain, grouped, depthwise
    s.group = kind == 0 ? 1 : r.range(2, 4);
    s.cg = kind == 2 ? 1 : r.range(1, 5), s.ocg = kind == 2 ? r.range(1, 2) : r.range(1, 9), s.n = r.range(1, 3);
  } else if (cls == 1) {  // small output, long taps: split-K
    s.group = 1, s.cg = r.range(30, 60), s.ocg = r.range(4, 24), s.n = 1;
  } else {  // more than one block of computed rows
    s.group = r.range(1, 2), s.cg = r.range(2, 8), s.ocg = r.range(65, 140), s.n = r.range(1, 2);
  }
  s.ap = cls == 0 ? static_cast<tbn_auto_pad>(r.next() % 4) : TBN_PAD_NOTSET;
  for (int i = 0; i < s.spatial; i++) {
    s.kernel[i] = cls == 0 ? r.range(1, 3) : 3;
    s.size[i] = cls == 0 ? r.range(1, 11) : cls == 1 ? r.range(3, 5) : r.range(6, 10);
    s.stride[i] = cls == 0 ? r.range(1, 2) : 1;
    s.dil[i] = cls == 0 && s.ap != TBN_PAD_SAME_UPPER && s.ap != TBN_PAD_SAME_LOWER ? r.range(1, 2) : 1;
    s.pads[i] = cls == 0 ? r.range(0, 2) : 1, s.pads[s.spatial + i] = cls == 0 ? r.range(0, 2) : 1;
  }
  return s;
}

void conv_case(Rng &r, int c) {
  const int want = c % 3, cls = (c / 3) % 3;
  const ConvShape s = conv_shape(r, cls);
  int64_t xs[4] = {s.n, s.cg * s.group, 1, 1}, wsh[4] = {s.ocg * s.group, s.cg, 1, 1};
  for (int i = 0; i < s.spatial; i++) xs[2 + i] = s.size[i], wsh[2 + i] = s.kernel[i];
  tbn_conv_geom g;
  if (tbn_conv_geometry(s.spatial, xs, wsh, s.group, nullptr, s.stride, s.dil, s.pads, s.ap, &g) != TBN_OK) return;
  const int64_t oc = g.oc, kh = g.k[0], kw = g.k[1], in = s.cg * kh * kw, numel = oc * in;
  // Tile axis and p for the wanted strategy (W is [oc][in]: axis 0 streams along the outputs).
  std::vector<std::pair<int64_t, int64_t>> options;  // (axis, p)
  for (int64_t axis = 0; axis < 2; axis++)
    for (int64_t p = 1; p <= 16; p++) {
      if (numel % p) continue;
      int64_t ro, ri;
      if (tbn_plan_mode(axis == 0, oc, in, p, &ro, &ri) == want) options.push_back({axis, p});
    }
  if (options.empty()) options.push_back({0, 1});
  // The split class needs long products: there IN_COMBINE takes its smallest p.
  const auto choice = cls == 1 && want == TBN_TILE_IN_COMBINE ? options[0] : options[r.next() % options.size()];
  Tile t;
  make_tile(t, r, std::vector<int64_t>(wsh, wsh + 2 + s.spatial), choice.second, choice.first, r.next() % 4 == 0);
  std::vector<float> x(static_cast<size_t>(s.n * xs[1] * g.in[0] * g.in[1])), bias;
  for (auto &v : x) v = r.uniform();
  if (r.next() & 1) bias.resize(static_cast<size_t>(oc));
  for (auto &v : bias) v = r.uniform();
  const int64_t plane = g.out[0] * g.out[1];
  std::vector<double> ref(static_cast<size_t>(s.n * oc * plane)), bound(ref.size());
  for (int64_t b = 0; b < s.n; b++)
    for (int64_t o = 0; o < oc; o++)
      for (int64_t oh = 0; oh < g.out[0]; oh++)
        for (int64_t ow = 0; ow < g.out[1]; ow++) {
          double sum = bias.empty() ? 0 : bias[o], mag = std::fabs(sum);
          for (int64_t ci = 0; ci < s.cg; ci++)
            for (int64_t i = 0; i < kh; i++)
              for (int64_t j = 0; j < kw; j++) {
                const int64_t ih = oh * g.stride[0] - g.pad0[0] + i * g.dil[0];
                const int64_t iw = ow * g.stride[1] - g.pad0[1] + j * g.dil[1];
                if (ih < 0 || ih >= g.in[0] || iw < 0 || iw >= g.in[1]) continue;
                const int64_t ch = (o / s.ocg) * s.cg + ci;
                const double term =
                    x[((b * xs[1] + ch) * g.in[0] + ih) * g.in[1] + iw] * ref_w(t, o * in + (ci * kh + i) * kw + j);
                sum += term, mag += std::fabs(term);
              }
          const size_t at = static_cast<size_t>((b * oc + o) * plane + oh * g.out[1] + ow);
          ref[at] = sum, bound[at] = mag;
        }

  Epilogue ep;
  random_epilogue(r, ep, oc, static_cast<int64_t>(ref.size()));
  for (size_t i = 0; i < ref.size(); i++) ep.apply(ref, bound, static_cast<int64_t>(i), (static_cast<int64_t>(i) / plane) % oc);
  const DevBuf<float> dx(x), db(bias);
  DevBuf<float> dy(ref.size());
  tbn::CudaConv a;
  a.epi = ep.e;
  a.tile = device_tile(t);
  a.out_major = choice.first == 0;
  a.g = g, a.x = dx.data(), a.bias = bias.empty() ? nullptr : db.data(), a.y = dy.data();
  int64_t ro, ri;
  const int mode = tbn_plan_mode(a.out_major, oc, in, t.p, &ro, &ri);
  size_t ws_bytes = 0;
  HARNESS_CUDA(tbn::tbn_cuda_conv_workspace(a, &ws_bytes));
  const DevBuf<unsigned char> ws(ws_bytes);
  for (tbn::CudaMath m : maths())
    for (int split = 0; split < 2; split++) {
      a.math = m;
      HARNESS_CUDA(cudaMemset(dy.data(), 0xff, dy.size() * sizeof(float)));
      expect_status(tbn::launch_tbn_conv(nullptr, a, split ? ws.data() : nullptr, split ? ws_bytes : 0), cudaSuccess,
                    "conv launch");
      HARNESS_CUDA(cudaDeviceSynchronize());
      const char *path = split && ws_bytes ? "split" : "tiled";
      g_seen[std::string("conv ") + kModes[mode] + " " + path]++;
      expect_close(dy.download(), ref, bound,
                   "conv case " + std::to_string(c) + " (" + kModes[mode] + ", " + path + ", " + math_name(m) +
                       ", group " + std::to_string(s.group) + ", oc " + std::to_string(oc) + ", in " + std::to_string(in) +
                       ", p " + std::to_string(t.p) + ", axis " + std::to_string(t.axis) + ")");
    }
}

// ---- Decode: exact ----

void decode_case(Rng &r, int c) {
  std::vector<int64_t> shape;
  if (c % 5 == 4) shape = {r.range(100, 400), r.range(30, 90)};
  else
    for (int d = r.range(1, 4); d > 0; d--) shape.push_back(r.range(1, 9));
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  Tile t;
  make_tile(t, r, shape, r.pick(divisors(n, 16)), r.next() & 1, r.next() % 4 == 0);
  DevBuf<float> dw(static_cast<size_t>(n));
  HARNESS_CUDA(cudaMemset(dw.data(), 0xff, dw.size() * sizeof(float)));
  tbn::CudaDecode a;
  a.tile = device_tile(t), a.tile_axis = t.axis, a.m = shape[0], a.kc = n / shape[0], a.w = dw.data();
  expect_status(tbn::launch_tbn_decode(nullptr, a), cudaSuccess, "decode launch");
  const std::vector<float> got = dw.download();
  for (int64_t i = 0; i < n; i++)
    if (got[i] != static_cast<float>(ref_w(t, i))) {
      std::printf("FAIL decode case %d: W[%lld] = %.9g, want %.9g\n", c, static_cast<long long>(i), got[i], ref_w(t, i));
      g_failures++;
      break;
    }
  g_seen["decode"]++;
}

// ---- malformed sizes come back as cudaErrorInvalidValue, and nothing is launched ----

void malformed(Rng &r) {
  Tile t;
  make_tile(t, r, {6, 4}, 4, 0, false);
  DevBuf<float> x(24), y(24);
  tbn::CudaDense d;
  d.tile = device_tile(t), d.out = 6, d.in = 4, d.rows = 1, d.x = x.data(), d.x_row_stride = 4, d.y = y.data();
  expect_status(tbn::launch_tbn_dense(nullptr, d, nullptr, 0), cudaSuccess, "valid dense");
  d.tile.bits_len = 2;
  expect_status(tbn::launch_tbn_dense(nullptr, d, nullptr, 0), cudaErrorInvalidValue, "bits length");
  d.tile.bits_len = 1, d.tile.scales_len = 3;
  expect_status(tbn::launch_tbn_dense(nullptr, d, nullptr, 0), cudaErrorInvalidValue, "scales length");
  d.tile.scales_len = 4, d.out = 5;
  expect_status(tbn::launch_tbn_dense(nullptr, d, nullptr, 0), cudaErrorInvalidValue, "out·in ≠ N");
  d.out = 6, d.x = nullptr;
  expect_status(tbn::launch_tbn_dense(nullptr, d, nullptr, 0), cudaErrorInvalidValue, "null x");
  d.rows = 0;
  expect_status(tbn::launch_tbn_dense(nullptr, d, nullptr, 0), cudaSuccess, "no rows");
  tbn::CudaDecode dec;
  dec.tile = device_tile(t), dec.tile_axis = 2, dec.m = 6, dec.kc = 4, dec.w = y.data();
  expect_status(tbn::launch_tbn_decode(nullptr, dec), cudaErrorInvalidValue, "tile_axis 2");
  tbn::CudaConv cv;
  const int64_t xs[4] = {1, 2, 5, 5}, wsh[4] = {4, 2, 2, 2};  // 32 weights; the tile has 24
  tbn_conv_geometry(2, xs, wsh, 1, nullptr, nullptr, nullptr, nullptr, TBN_PAD_NOTSET, &cv.g);
  cv.tile = device_tile(t), cv.x = x.data(), cv.y = y.data();
  expect_status(tbn::launch_tbn_conv(nullptr, cv, nullptr, 0), cudaErrorInvalidValue, "conv tile of another size");
}

}  // namespace

int run_tests(int cases, uint64_t seed) {
  Rng r(seed);
  malformed(r);
  for (int c = 0; c < cases; c++) {
    dense_case(r, c);
    conv_case(r, c);
    decode_case(r, c);
  }
  // Its own RNG, so the cases above stay those of the same seed without the pool.
  g_failures += run_pool_tests(cases, seed ^ 0x706f6f6cull, g_seen);
  for (const char *op : {"dense", "conv"})
    for (const char *mode : kModes)
      for (const char *path : {"gemv", "wide", "tiled", "split"}) {
        if (std::string(op) == "conv" && (std::string(path) == "gemv" || std::string(path) == "wide")) continue;
        if (std::string(path) == "wide" && std::string(mode) != "out-reuse") continue;
        const std::string key = std::string(op) + " " + mode + " " + path;
        const int n = g_seen.count(key) ? g_seen[key] : 0;
        std::printf("covered %-28s %d\n", key.c_str(), n);
        if (n == 0 && cases >= 60) {
          std::printf("FAIL coverage: no %s run\n", key.c_str());
          g_failures++;
        }
      }
  for (const char *what : {"1-d", "2-d", "pads", "stride-unlike-kernel", "ceil-partial-window", "ceil-window-dropped",
                           "grid-stride", "nan-inputs"}) {
    const std::string key = std::string("pool ") + what;
    const int n = g_seen.count(key) ? g_seen[key] : 0;
    std::printf("covered %-28s %d\n", key.c_str(), n);
    if (n == 0 && cases >= 60) {
      std::printf("FAIL coverage: no %s run\n", key.c_str());
      g_failures++;
    }
  }
  std::printf("cuda kernel tests: %d cases, %d failures\n", cases, g_failures);
  return g_failures == 0 ? 0 : 1;
}

}  // namespace tbn_harness
