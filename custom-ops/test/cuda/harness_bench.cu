// harness_bench.cu — timings of the ai.tbn CUDA kernels on the shapes of issue 10 (Gemm 768×768,
// 4096×4096, 4096×11008 and 11008×4096 as out×in; Conv 3×3 256→256 at 14×14) at batch 1 and
// 32, p = 1, 4, 8, 16 (tile regions along the outputs; 4096×4096 also along the inputs), against
// cuBLAS fp32 (cublasSgemm, default math: no TF32) and fp16 (cublasGemmEx, fp16 in/out, fp32
// accumulate) on the same GEMM, and against the bandwidth limit: bytes a run must move (tile,
// scales, activations in and out) / the device's memory bandwidth (memory clock × bus width).
// Cold timings flush L2 (a write of 2 × its size) before every run and take the median of
// CUDA-event times; warm = back-to-back launches / their count. cuBLAS is dlopen'ed
// (TBN_CUBLAS, else libcublas.so.13 / .12 / .so on the library path): no build dependency.
// Output: one JSON object per line (the device first), read by bench/cuda.bench.ts.
#include <cuda_fp16.h>
#include <dlfcn.h>
#include <library_types.h>

#include <algorithm>
#include <functional>
#include <string>

#include "harness.h"

namespace tbn_harness {
namespace {

// ---- the few cuBLAS entry points used, resolved at run time ----
struct Cublas {
  using Handle = void *;
  int (*create)(Handle *) = nullptr;
  int (*destroy)(Handle) = nullptr;
  int (*sgemm)(Handle, int, int, int, int, int, const float *, const float *, int, const float *, int, const float *,
               float *, int) = nullptr;
  int (*gemm_ex)(Handle, int, int, int, int, int, const void *, const void *, cudaDataType, int, const void *,
                 cudaDataType, int, const void *, void *, cudaDataType, int, int, int) = nullptr;
  Handle handle = nullptr;
  std::string why;
  bool ok() const { return handle != nullptr; }
};

constexpr int kOpN = 0, kOpT = 1, kCompute32F = 68, kGemmDefault = -1;

template <typename F>
bool resolve(void *lib, const char *name, F *fn) {
  *fn = reinterpret_cast<F>(dlsym(lib, name));
  return *fn != nullptr;
}

Cublas load_cublas() {
  Cublas c;
  const char *env = std::getenv("TBN_CUBLAS");
  void *lib = nullptr;
  for (const char *name : {env, "libcublas.so.13", "libcublas.so.12", "libcublas.so"})
    if (name && *name && (lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
  if (!lib) {
    c.why = "libcublas not found (set TBN_CUBLAS or LD_LIBRARY_PATH)";
    return c;
  }
  if (!resolve(lib, "cublasCreate_v2", &c.create) || !resolve(lib, "cublasDestroy_v2", &c.destroy) ||
      !resolve(lib, "cublasSgemm_v2", &c.sgemm) ||
      !resolve(lib, "cublasGemmEx", &c.gemm_ex)) {
    c.why = "libcublas lacks the v2 GEMM entry points";
    return c;
  }
  if (c.create(&c.handle) != 0) c.handle = nullptr, c.why = "cublasCreate failed";
  return c;
}

__global__ void to_half(const float *src, __half *dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = __float2half(src[i]);
}

// ---- timing ----
struct Clock {
  cudaEvent_t a, b;
  DevBuf<unsigned char> flush;
  explicit Clock(int64_t l2) : flush(static_cast<size_t>(std::max<int64_t>(2 * l2, 64 << 20))) {
    HARNESS_CUDA(cudaEventCreate(&a));
    HARNESS_CUDA(cudaEventCreate(&b));
  }
  ~Clock() {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
  // Median µs of `reps` runs, each after an L2 flush.
  double cold(const std::function<void()> &run, int reps) {
    std::vector<double> t;
    run();  // warm-up: first-launch costs, cuBLAS heuristics
    HARNESS_CUDA(cudaDeviceSynchronize());
    for (int i = 0; i < reps; i++) {
      HARNESS_CUDA(cudaMemsetAsync(flush.data(), i & 0xff, flush.size()));
      HARNESS_CUDA(cudaEventRecord(a));
      run();
      HARNESS_CUDA(cudaEventRecord(b));
      HARNESS_CUDA(cudaEventSynchronize(b));
      float ms = 0;
      HARNESS_CUDA(cudaEventElapsedTime(&ms, a, b));
      t.push_back(1000.0 * ms);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }
  // Mean µs of back-to-back runs (data stays in L2 where it fits).
  double warm(const std::function<void()> &run, int reps) {
    run();
    HARNESS_CUDA(cudaEventRecord(a));
    for (int i = 0; i < reps; i++) run();
    HARNESS_CUDA(cudaEventRecord(b));
    HARNESS_CUDA(cudaEventSynchronize(b));
    float ms = 0;
    HARNESS_CUDA(cudaEventElapsedTime(&ms, a, b));
    return 1000.0 * ms / reps;
  }
};

std::vector<float> random_floats(Rng &r, size_t n, float scale) {
  std::vector<float> v(n);
  for (auto &x : v) x = scale * r.uniform();
  return v;
}

std::string num(double v) {
  if (!(v == v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// cuBLAS on the equivalent GEMM y[m][n] = x[m][k] · W[n][k]ᵀ (row-major), fp32 and fp16.
struct Baseline {
  double fp32 = NAN, fp16 = NAN;
};

Baseline time_cublas(Cublas &cb, Clock &clk, Rng &r, int64_t m, int64_t n, int64_t k, int reps) {
  Baseline out;
  if (!cb.ok()) return out;
  const DevBuf<float> w(random_floats(r, static_cast<size_t>(n * k), 0.05f)), x(random_floats(r, static_cast<size_t>(m * k), 1));
  DevBuf<float> y(static_cast<size_t>(m * n));
  const float one = 1.0f, zero = 0.0f;
  int status = 0;  // any failed call voids the timing
  // cuBLAS is column-major: row-major W [n][k] is k × n (ld k), so Yᵀ (n × m) = op_T(W) · Xᵀ.
  out.fp32 = clk.cold([&] { status |= cb.sgemm(cb.handle, kOpT, kOpN, static_cast<int>(n), static_cast<int>(m),
                                               static_cast<int>(k), &one, w.data(), static_cast<int>(k), x.data(),
                                               static_cast<int>(k), &zero, y.data(), static_cast<int>(n)); },
                      reps);
  if (status) out.fp32 = NAN, status = 0;
  DevBuf<__half> wh(w.size()), xh(x.size()), yh(y.size());
  to_half<<<1024, 256>>>(w.data(), wh.data(), static_cast<int64_t>(w.size()));
  to_half<<<1024, 256>>>(x.data(), xh.data(), static_cast<int64_t>(x.size()));
  HARNESS_CUDA(cudaDeviceSynchronize());
  out.fp16 = clk.cold([&] { status |= cb.gemm_ex(cb.handle, kOpT, kOpN, static_cast<int>(n), static_cast<int>(m),
                                                 static_cast<int>(k), &one, wh.data(), CUDA_R_16F, static_cast<int>(k),
                                                 xh.data(), CUDA_R_16F, static_cast<int>(k), &zero, yh.data(), CUDA_R_16F,
                                                 static_cast<int>(n), kCompute32F, kGemmDefault); },
                      reps);
  if (status) out.fp16 = NAN;
  return out;
}

struct Row {
  std::string op, shape, axis;
  int64_t batch, p;
  double fp32, tf32, warm, limit;
  int64_t bytes;
  Baseline base;
};

void print(const Row &r) {
  std::printf(
      "{\"op\":\"%s\",\"shape\":\"%s\",\"axis\":\"%s\",\"batch\":%lld,\"p\":%lld,\"tbn_fp32_us\":%s,\"tbn_tf32x2_us\":%s,"
      "\"tbn_warm_us\":%s,\"cublas_fp32_us\":%s,\"cublas_fp16_us\":%s,\"bytes\":%lld,\"limit_us\":%s}\n",
      r.op.c_str(), r.shape.c_str(), r.axis.c_str(), static_cast<long long>(r.batch), static_cast<long long>(r.p),
      num(r.fp32).c_str(), num(r.tf32).c_str(), num(r.warm).c_str(), num(r.base.fp32).c_str(), num(r.base.fp16).c_str(),
      static_cast<long long>(r.bytes), num(r.limit).c_str());
  std::fflush(stdout);
}

void bench_dense(const DeviceSummary &dev, Cublas &cb, Clock &clk, Rng &r, const char *name, int64_t out, int64_t in,
                 int64_t batch, bool input_axis_too, int reps) {
  const DevBuf<float> x(random_floats(r, static_cast<size_t>(batch * in), 1));
  DevBuf<float> y(static_cast<size_t>(batch * out));
  const Baseline base = time_cublas(cb, clk, r, batch, out, in, reps);
  for (int axis = 0; axis < (input_axis_too ? 2 : 1); axis++)
    for (int64_t p : {1, 4, 8, 16}) {
      Tile t;
      make_tile(t, r, {out, in}, p, axis, false);
      tbn::CudaDense a;
      a.tile = device_tile(t), a.out = out, a.in = in, a.out_major = axis == 0;  // Gemm transB = 1: W is [out][in]
      a.rows = batch, a.x = x.data(), a.x_row_stride = in, a.y = y.data();
      size_t ws_bytes = 0;
      HARNESS_CUDA(tbn::tbn_cuda_dense_workspace(a, &ws_bytes));
      const DevBuf<unsigned char> ws(ws_bytes);
      auto run = [&] { HARNESS_CUDA(tbn::launch_tbn_dense(nullptr, a, ws.data(), ws_bytes)); };
      Row row{"Gemm", name, axis == 0 ? "out" : "in", batch, p, NAN, NAN, NAN, NAN, 0, base};
      a.math = tbn::CudaMath::Fp32;
      row.fp32 = clk.cold(run, reps);
      if (dev.major >= 8) {
        a.math = tbn::CudaMath::Tf32x2;
        row.tf32 = clk.cold(run, reps);
      }
      if (!(row.tf32 < row.fp32)) a.math = tbn::CudaMath::Fp32;
      row.warm = clk.warm(run, 4 * reps);
      row.bytes = static_cast<int64_t>(t.bits.size() + 4 * t.scales.size()) + 4 * batch * (in + out);
      row.limit = 1e6 * row.bytes / dev.bandwidth;
      print(row);
    }
}

void bench_conv(const DeviceSummary &dev, Cublas &cb, Clock &clk, Rng &r, int64_t ch, int64_t hw, int64_t batch,
                int reps) {
  const int64_t xs[4] = {batch, ch, hw, hw}, wsh[4] = {ch, ch, 3, 3}, pads[4] = {1, 1, 1, 1};
  tbn_conv_geom g;
  if (tbn_conv_geometry(2, xs, wsh, 1, nullptr, nullptr, nullptr, pads, TBN_PAD_NOTSET, &g) != TBN_OK) return;
  const int64_t plane = g.out[0] * g.out[1];
  const DevBuf<float> x(random_floats(r, static_cast<size_t>(batch * ch * hw * hw), 1));
  DevBuf<float> y(static_cast<size_t>(batch * ch * plane));
  // The im2col GEMM of the same layer (positions × taps · tapsᵀ × channels), im2col itself not timed.
  const Baseline base = time_cublas(cb, clk, r, batch * plane, ch, ch * 9, reps);
  const std::string name = "3x3 " + std::to_string(ch) + "->" + std::to_string(ch) + " " + std::to_string(hw) + "x" +
                           std::to_string(hw);
  for (int64_t p : {1, 4, 8, 16}) {
    Tile t;
    make_tile(t, r, {ch, ch, 3, 3}, p, 0, false);
    tbn::CudaConv a;
    a.tile = device_tile(t), a.out_major = 1, a.g = g, a.x = x.data(), a.y = y.data();
    size_t ws_bytes = 0;
    HARNESS_CUDA(tbn::tbn_cuda_conv_workspace(a, &ws_bytes));
    const DevBuf<unsigned char> ws(ws_bytes);
    auto run = [&] { HARNESS_CUDA(tbn::launch_tbn_conv(nullptr, a, ws.data(), ws_bytes)); };
    Row row{"Conv", name, "out", batch, p, NAN, NAN, NAN, NAN, 0, base};
    a.math = tbn::CudaMath::Fp32;
    row.fp32 = clk.cold(run, reps);
    if (dev.major >= 8) {
      a.math = tbn::CudaMath::Tf32x2;
      row.tf32 = clk.cold(run, reps);
    }
    if (!(row.tf32 < row.fp32)) a.math = tbn::CudaMath::Fp32;
    row.warm = clk.warm(run, 4 * reps);
    row.bytes = static_cast<int64_t>(t.bits.size() + 4 * t.scales.size()) + 4 * batch * ch * (hw * hw + plane);
    row.limit = 1e6 * row.bytes / dev.bandwidth;
    print(row);
  }
}

}  // namespace

int run_bench(const DeviceSummary &dev, bool quick) {
  Cublas cb = load_cublas();
  std::printf("{\"device\":\"%s\",\"sms\":%d,\"cc\":\"%d.%d\",\"bandwidth_gbs\":%.1f,\"l2_mb\":%.1f,\"cublas\":%s}\n",
              dev.name, dev.sms, dev.major, dev.minor, dev.bandwidth / 1e9, dev.l2 / 1048576.0,
              cb.ok() ? "true" : ("\"" + cb.why + "\"").c_str());
  Clock clk(dev.l2);
  Rng r(7);
  const int reps = quick ? 5 : 30;
  struct Shape {
    const char *name;
    int64_t out, in;
  };
  const Shape shapes[] = {{"768x768", 768, 768}, {"4096x4096", 4096, 4096}, {"4096x11008", 4096, 11008},
                          {"11008x4096", 11008, 4096}};
  for (int64_t batch : {1, 32}) {
    for (const Shape &s : shapes) {
      if (quick && s.out > 4096) continue;
      bench_dense(dev, cb, clk, r, s.name, s.out, s.in, batch, s.out == 4096 && s.in == 4096, reps);
    }
    bench_conv(dev, cb, clk, r, 256, 14, batch, reps);
  }
  if (cb.ok()) cb.destroy(cb.handle);
  return 0;
}

}  // namespace tbn_harness
