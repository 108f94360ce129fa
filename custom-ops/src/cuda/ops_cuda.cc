// ops_cuda.cc — see ops_cuda.h. Host-side checks mirror the CPU kernels (same messages where the
// rule is the same); anything the launchers still refuse comes back as a CUDA error string.
// Split-K scratch is stream-ordered (cudaMallocAsync / cudaFreeAsync on the compute stream), so
// concurrent runs never share it; without it the launchers simply do not split.
#include "ops_cuda.h"

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>

#include "tbn_op_schema.h"
#include "tbn_tile_math.h"

namespace tbn {

namespace {

void check_cuda(cudaError_t e, const std::string &what) {
  if (e != cudaSuccess) fail(what + ": CUDA error: " + cudaGetErrorString(e), ORT_EP_FAIL);
}

cudaStream_t stream_of(OrtKernelContext *ctx) {
  void *stream = nullptr;
  check(api().KernelContext_GetGPUComputeStream(ctx, &stream));
  // A null stream would serialise against everything on the device; the CUDA EP always has one.
  if (!stream) fail("no CUDA compute stream (the node is not running on the CUDA execution provider)", ORT_EP_FAIL);
  // This library carries its own (static) CUDA runtime, whose current device is not the one
  // onnxruntime's runtime set: follow the stream to its GPU (device_id ≠ 0, several sessions).
  int dev = 0, current = 0;
  check_cuda(cudaStreamGetDevice(static_cast<cudaStream_t>(stream), &dev), "the compute stream's device");
  check_cuda(cudaGetDevice(&current), "the current device");
  if (dev != current) check_cuda(cudaSetDevice(dev), "selecting the compute stream's device");
  return static_cast<cudaStream_t>(stream);
}

CudaMath math_from_env() {
  const char *env = std::getenv("TBN_CUDA_MATH");
  if (!env || !*env || std::strcmp(env, "tf32x2") == 0) return CudaMath::Tf32x2;
  if (std::strcmp(env, "fp32") == 0) return CudaMath::Fp32;
  fail(std::string("TBN_CUDA_MATH=") + env + " is not fp32 or tf32x2");
}

// The tile inputs (device tensors): types and lengths checked by TileAttrs::tile.
CudaTile cuda_tile(const TileAttrs &a, OrtKernelContext *ctx, size_t bits_index) {
  const TensorView bits = input(ctx, bits_index), scales = input(ctx, bits_index + 1);
  const tbn_tile t = a.tile(bits, scales);
  CudaTile c;
  c.bits = t.bits, c.bits_len = t.bits_len, c.scales = t.scales, c.scales_len = t.scales_len;
  c.p = a.p, c.q = a.q;
  return c;
}

// Stream-ordered scratch for split-K partial sums; empty when none is needed or none can be had.
class Scratch {
 public:
  Scratch(cudaStream_t stream, size_t bytes) : stream_(stream) {
    if (bytes && cudaMallocAsync(&ptr_, bytes, stream) == cudaSuccess) size_ = bytes;
    else ptr_ = nullptr, (void)cudaGetLastError();  // run unsplit; clear the error for the launch check
  }
  ~Scratch() {
    if (ptr_) (void)cudaFreeAsync(ptr_, stream_);
  }
  Scratch(const Scratch &) = delete;
  Scratch &operator=(const Scratch &) = delete;
  void *data() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  cudaStream_t stream_;
  void *ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

// ---- TbnDecode ----

TbnDecodeCuda::TbnDecodeCuda(const OrtKernelInfo *info) : attrs_(info, TBN_OP_DECODE) {}

void TbnDecodeCuda::compute(OrtKernelContext *ctx) const {
  CudaDecode d;
  d.tile = cuda_tile(attrs_, ctx, TBN_INPUT_BITS_DECODE);
  const TensorView w = output(ctx, 0, attrs_.shape);
  d.tile_axis = attrs_.tile_axis, d.m = attrs_.shape[0], d.kc = attrs_.numel / attrs_.shape[0];
  d.w = static_cast<float *>(w.data);
  check_cuda(launch_tbn_decode(stream_of(ctx), d), attrs_.op);
}

// ---- TbnGemm / TbnMatMul ----

TbnDenseCuda::TbnDenseCuda(const OrtKernelInfo *info, bool gemm)
    : gemm_(gemm),
      attrs_(info, gemm ? TBN_OP_GEMM : TBN_OP_MATMUL),
      alpha_(gemm ? attr_float(info, TBN_ATTR_ALPHA, TBN_DEFAULT_ALPHA) : 1.0f),
      beta_(gemm ? attr_float(info, TBN_ATTR_BETA, TBN_DEFAULT_BETA) : 1.0f),
      trans_a_(flag_attr(info, gemm, TBN_ATTR_TRANS_A, TBN_DEFAULT_TRANS_A)),
      trans_b_(flag_attr(info, gemm, TBN_ATTR_TRANS_B, TBN_DEFAULT_TRANS_B)),
      math_(math_from_env()) {
  if (attrs_.shape.size() != 2) fail("weight_shape " + dims_str(attrs_.shape) + " must be 2-D");
  w_out_first_ = gemm && trans_b_ ? 1 : 0;
  out_ = w_out_first_ ? attrs_.shape[0] : attrs_.shape[1];
  in_ = w_out_first_ ? attrs_.shape[1] : attrs_.shape[0];
}

void TbnDenseCuda::compute(OrtKernelContext *ctx) const {
  const TensorView a = input(ctx, 0);
  require_float(a, "A");
  int64_t rows = 0, k = 0;
  std::vector<int64_t> ydims;
  if (gemm_) {
    if (a.dims.size() != 2) fail("A " + dims_str(a.dims) + " must be 2-D");
    rows = trans_a_ ? a.dims[1] : a.dims[0];
    k = trans_a_ ? a.dims[0] : a.dims[1];
    ydims = {rows, out_};
  } else {
    if (a.dims.empty()) fail("A must have rank >= 1");
    k = a.dims.back();
    ydims.assign(a.dims.begin(), a.dims.end() - 1);
    rows = TensorView{ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, ydims, nullptr}.numel();
    ydims.push_back(out_);
  }
  if (k != in_)
    fail("A " + dims_str(a.dims) + " has " + std::to_string(k) + " features; weight_shape " + dims_str(attrs_.shape) +
         " takes " + std::to_string(in_));
  CudaDense d;
  d.tile = cuda_tile(attrs_, ctx, TBN_INPUT_BITS);
  d.out = out_, d.in = in_;
  d.out_major = tbn_out_major(w_out_first_, attrs_.tile_axis);
  d.rows = rows;
  // transA: A is [k][rows], read in place through the strides.
  d.x_row_stride = trans_a_ ? 1 : k, d.x_col_stride = trans_a_ ? rows : 1;
  d.alpha = alpha_, d.beta = beta_, d.math = math_;
  if (gemm_) {
    bool has_c = false;
    const TensorView c = input(ctx, 3, &has_c);
    if (has_c) {
      require_float(c, "C");
      const size_t r = c.dims.size();
      const int64_t c_rows = r == 2 ? c.dims[0] : 1, c_cols = r == 0 ? 1 : c.dims[r - 1];
      if (r > 2 || (c_rows != 1 && c_rows != rows) || (c_cols != 1 && c_cols != out_))
        fail("C " + dims_str(c.dims) + " does not broadcast to " + dims_str(ydims));
      d.c = static_cast<const float *>(c.data);
      d.c_row_stride = c_rows == 1 ? 0 : c_cols, d.c_col_stride = c_cols == 1 ? 0 : 1;
    }
  }
  const TensorView y = output(ctx, 0, ydims);
  if (rows == 0) return;
  d.x = static_cast<const float *>(a.data);
  d.y = static_cast<float *>(y.data);
  const cudaStream_t stream = stream_of(ctx);
  size_t bytes = 0;
  check_cuda(tbn_cuda_dense_workspace(d, &bytes), attrs_.op);
  const Scratch ws(stream, bytes);
  check_cuda(launch_tbn_dense(stream, d, ws.data(), ws.size()), attrs_.op);
}

// ---- TbnConv ----

TbnConvCuda::TbnConvCuda(const OrtKernelInfo *info) : attrs_(info, TBN_OP_CONV), math_(math_from_env()) {
  if (attrs_.shape.size() != 3 && attrs_.shape.size() != 4)
    fail("weight_shape " + dims_str(attrs_.shape) + " must be 3-D or 4-D (1-D or 2-D conv)");
  spatial_ = static_cast<int>(attrs_.shape.size()) - 2;
  const int64_t default_group = TBN_DEFAULT_GROUP;
  const size_t s = static_cast<size_t>(spatial_);
  group_ = attr_int(info, TBN_ATTR_GROUP, &default_group);
  if (group_ < 1 || attrs_.shape[0] % group_ != 0)
    fail("group = " + std::to_string(group_) + " does not divide the " + std::to_string(attrs_.shape[0]) +
         " output channels");
  check(tbn_auto_pad_parse(attr_string(info, TBN_ATTR_AUTO_PAD, TBN_DEFAULT_AUTO_PAD).c_str(), &auto_pad_), "auto_pad");
  has_kernel_ = ints_attr(info, TBN_ATTR_KERNEL_SHAPE, s, 1, &kernel_);
  has_strides_ = ints_attr(info, TBN_ATTR_STRIDES, s, 1, &strides_);
  has_dilations_ = ints_attr(info, TBN_ATTR_DILATIONS, s, 1, &dilations_);
  has_pads_ = ints_attr(info, TBN_ATTR_PADS, 2 * s, 0, &pads_);
  if (has_kernel_)
    for (size_t i = 0; i < s; i++)
      if (kernel_[i] != attrs_.shape[2 + i])
        fail("kernel_shape " + dims_str(kernel_) + " does not match weight_shape " + dims_str(attrs_.shape));
}

void TbnConvCuda::compute(OrtKernelContext *ctx) const {
  const TensorView x = input(ctx, 0);
  require_float(x, "X");
  if (x.dims.size() != static_cast<size_t>(spatial_ + 2))
    fail("X " + dims_str(x.dims) + " must have rank " + std::to_string(spatial_ + 2));
  x.numel();  // rejects negative or overflowing dims
  bool has_b = false;
  const TensorView b = input(ctx, 3, &has_b);
  if (has_b && (b.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || b.dims.size() != 1 || b.dims[0] != attrs_.shape[0]))
    fail("B " + dims_str(b.dims) + " must be a float vector of " + std::to_string(attrs_.shape[0]) + " values");
  CudaConv c;
  const tbn_status st = tbn_conv_geometry(spatial_, x.dims.data(), attrs_.shape.data(), group_,
                                          has_kernel_ ? kernel_.data() : nullptr, has_strides_ ? strides_.data() : nullptr,
                                          has_dilations_ ? dilations_.data() : nullptr, has_pads_ ? pads_.data() : nullptr,
                                          auto_pad_, &c.g);
  if (st != TBN_OK)
    fail("X " + dims_str(x.dims) + " with weight_shape " + dims_str(attrs_.shape) + ", group " + std::to_string(group_) +
         ": " + tbn_status_str(st));
  std::vector<int64_t> ydims = {c.g.n, c.g.oc};
  if (spatial_ == 2) ydims.push_back(c.g.out[0]);
  ydims.push_back(c.g.out[1]);
  c.tile = cuda_tile(attrs_, ctx, TBN_INPUT_BITS);
  const TensorView y = output(ctx, 0, ydims);
  if (c.g.n == 0) return;
  c.out_major = tbn_out_major(1, attrs_.tile_axis);
  c.x = static_cast<const float *>(x.data);
  c.bias = has_b ? static_cast<const float *>(b.data) : nullptr;
  c.y = static_cast<float *>(y.data);
  c.math = math_;
  const cudaStream_t stream = stream_of(ctx);
  size_t bytes = 0;
  check_cuda(tbn_cuda_conv_workspace(c, &bytes), attrs_.op);
  const Scratch ws(stream, bytes);
  check_cuda(launch_tbn_conv(stream, c, ws.data(), ws.size()), attrs_.op);
}

}  // namespace tbn
