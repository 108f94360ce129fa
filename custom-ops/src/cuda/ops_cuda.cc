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

// The epilogue inputs (device tensors; a one-value residual stays on the device too).
CudaEpilogue cuda_epilogue(const EpilogueAttrs &a, OrtKernelContext *ctx, size_t first, int64_t channels,
                           const std::vector<int64_t> &ydims) {
  const EpilogueInputs in = epilogue_inputs(a, ctx, first, channels, ydims, false);
  CudaEpilogue e;
  e.scale = in.e.scale, e.scale_len = in.e.scale_len, e.shift = in.e.shift, e.shift_len = in.e.shift_len;
  e.residual = in.residual, e.residual_len = in.residual_len;
  e.act = static_cast<int>(a.act), e.alpha = a.alpha, e.beta = a.beta;
  return e;
}

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

TbnDenseCuda::TbnDenseCuda(const OrtKernelInfo *info, bool gemm) : d_(info, gemm), math_(math_from_env()) {}

void TbnDenseCuda::compute(OrtKernelContext *ctx) const {
  const DenseInputs in = dense_inputs(d_, ctx);
  CudaDense d;
  d.tile = cuda_tile(d_.tile, ctx, TBN_INPUT_BITS);
  d.out = d_.out, d.in = d_.in;
  d.out_major = tbn_out_major(d_.w_out_first, d_.tile.tile_axis);
  d.rows = in.rows;
  // transA: A is [k][rows], read in place through the strides.
  d.x_row_stride = d_.trans_a ? 1 : in.k, d.x_col_stride = d_.trans_a ? in.rows : 1;
  d.alpha = d_.alpha, d.beta = d_.beta, d.math = math_;
  if (in.c) {
    d.c = in.c;
    d.c_row_stride = in.c_rows == 1 ? 0 : in.c_cols, d.c_col_stride = in.c_cols == 1 ? 0 : 1;
  }
  d.epi = cuda_epilogue(d_.epi, ctx, d_.epi_input, d_.out, in.ydims);
  const TensorView y = output(ctx, 0, in.ydims);
  if (in.rows == 0) return;
  d.x = static_cast<const float *>(in.a.data);
  d.y = static_cast<float *>(y.data);
  const cudaStream_t stream = stream_of(ctx);
  size_t bytes = 0;
  check_cuda(tbn_cuda_dense_workspace(d, &bytes), d_.tile.op);
  const Scratch ws(stream, bytes);
  check_cuda(launch_tbn_dense(stream, d, ws.data(), ws.size()), d_.tile.op);
}

// ---- TbnConv ----

TbnConvCuda::TbnConvCuda(const OrtKernelInfo *info) : c_(info), math_(math_from_env()) {}

void TbnConvCuda::compute(OrtKernelContext *ctx) const {
  const ConvInputs in = conv_inputs(c_, ctx);
  CudaConv c;
  c.g = in.g;
  c.tile = cuda_tile(c_.tile, ctx, TBN_INPUT_BITS);
  c.epi = cuda_epilogue(c_.epi, ctx, TBN_INPUT_EPILOGUE_CONV, c.g.oc, in.ydims);
  const TensorView y = output(ctx, 0, in.ydims);
  if (c.g.n == 0) return;
  c.out_major = tbn_out_major(1, c_.tile.tile_axis);
  c.x = static_cast<const float *>(in.x.data);
  c.bias = in.bias;
  c.y = static_cast<float *>(y.data);
  c.math = math_;
  const cudaStream_t stream = stream_of(ctx);
  size_t bytes = 0;
  check_cuda(tbn_cuda_conv_workspace(c, &bytes), c_.tile.op);
  const Scratch ws(stream, bytes);
  check_cuda(launch_tbn_conv(stream, c, ws.data(), ws.size()), c_.tile.op);
}

}  // namespace tbn
