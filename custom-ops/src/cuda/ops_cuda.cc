// ops_cuda.cc — see ops_cuda.h. Host-side checks mirror the CPU kernels (same messages where the
// rule is the same); anything the launchers still refuse comes back as a CUDA error string.
// Split-K scratch is stream-ordered (cudaMallocAsync / cudaFreeAsync on the compute stream), so
// concurrent runs never share it; without it the launchers simply do not split. TbnConvMaxPool's
// conv output is stream-ordered scratch too, but required: without it the op fails.
#include "ops_cuda.h"

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "../float_types.h"
#include "convert_kernel.cuh"
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

// The tile inputs (device tensors): types and lengths checked by TileAttrs::tile. Scales of the
// op's type T; float16/bfloat16 scales are converted on the device by the caller (FloatBoundary).
CudaTile cuda_tile(const TileAttrs &a, OrtKernelContext *ctx, size_t bits_index, ONNXTensorElementDataType type) {
  const TensorView bits = input(ctx, bits_index);
  TensorView scales = input(ctx, bits_index + 1);
  if (scales.type != type) fail(std::string("scales must be a ") + float_type_name(type) + " tensor, as the activations are");
  scales.type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;  // lengths are checked the same; nothing is read here
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

CudaFloat cuda_float(ONNXTensorElementDataType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ? CudaFloat::F16
         : t == ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16 ? CudaFloat::BF16
                                                       : CudaFloat::F32;
}

// float16/bfloat16 ops: float copies of the inputs (activations, scales, bias/C) and a float
// output in one stream-ordered scratch buffer, converted on the device before and after the
// float kernels. For float ops it holds nothing and every pointer stays the tensor's own.
class FloatBoundary {
 public:
  FloatBoundary(cudaStream_t stream, ONNXTensorElementDataType type, std::initializer_list<int64_t> lengths)
      : stream_(stream), type_(cuda_float(type)) {
    if (type_ == CudaFloat::F32) return;
    size_t bytes = 0;
    for (int64_t n : lengths) offsets_.push_back(bytes), bytes += float_scratch_bytes(n);
    if (bytes && cudaMallocAsync(&ptr_, bytes, stream) != cudaSuccess)
      (void)cudaGetLastError(), fail("cannot allocate " + std::to_string(bytes) + " bytes of float scratch", ORT_EP_FAIL);
  }
  ~FloatBoundary() {
    if (ptr_) (void)cudaFreeAsync(ptr_, stream_);
  }
  FloatBoundary(const FloatBoundary &) = delete;
  FloatBoundary &operator=(const FloatBoundary &) = delete;
  bool active() const { return type_ != CudaFloat::F32; }
  // Buffer i (float) holding input `src` of n values converted; `src` itself for float ops.
  const float *in(size_t i, const void *src, int64_t n, const std::string &op) const {
    if (!active() || !src) return static_cast<const float *>(src);
    check_cuda(launch_tbn_to_float(stream_, src, type_, buf(i), n), op + " (float16/bfloat16 input)");
    return buf(i);
  }
  // Buffer i as the float output of the kernels (`dst` itself for float ops).
  float *out(size_t i, void *dst) const { return active() ? buf(i) : static_cast<float *>(dst); }
  void store(size_t i, void *dst, int64_t n, const std::string &op) const {
    if (active()) check_cuda(launch_tbn_from_float(stream_, buf(i), type_, dst, n), op + " (float16/bfloat16 output)");
  }

 private:
  float *buf(size_t i) const { return reinterpret_cast<float *>(static_cast<unsigned char *>(ptr_) + offsets_[i]); }
  cudaStream_t stream_;
  CudaFloat type_;
  std::vector<size_t> offsets_;
  void *ptr_ = nullptr;
};

// The epilogue on the device: its inputs (device tensors of the op's type, checked by
// epilogue_inputs; a one-value residual stays on the device too) through buffers first…first+2
// of the op's FloatBoundary, so float16/bfloat16 ones are converted like the activations.
CudaEpilogue cuda_epilogue(const EpilogueAttrs &a, const EpilogueInputs &in, const FloatBoundary &f, size_t first,
                           const std::string &op) {
  CudaEpilogue e;
  e.scale = f.in(first, in.scale, in.e.scale_len, op), e.scale_len = in.e.scale_len;
  e.shift = f.in(first + 1, in.shift, in.e.shift_len, op), e.shift_len = in.e.shift_len;
  e.residual = f.in(first + 2, in.residual, in.residual_len, op), e.residual_len = in.residual_len;
  e.act = static_cast<int>(a.act), e.alpha = a.alpha, e.beta = a.beta;
  return e;
}

}  // namespace

// ---- TbnDecode ----

TbnDecodeCuda::TbnDecodeCuda(const OrtKernelInfo *info) : attrs_(info, TBN_OP_DECODE) {}

void TbnDecodeCuda::compute(OrtKernelContext *ctx) const {
  const ONNXTensorElementDataType type = input(ctx, TBN_INPUT_SCALES_DECODE).type;
  if (!is_op_float_type(type)) fail("scales must be a float, float16 or bfloat16 tensor");
  CudaDecode d;
  d.tile = cuda_tile(attrs_, ctx, TBN_INPUT_BITS_DECODE, type);
  const TensorView w = output(ctx, 0, attrs_.shape);
  const cudaStream_t stream = stream_of(ctx);
  const FloatBoundary f(stream, type, {d.tile.scales_len, attrs_.numel});
  d.tile.scales = f.in(0, d.tile.scales, d.tile.scales_len, attrs_.op);
  d.tile_axis = attrs_.tile_axis, d.m = attrs_.shape[0], d.kc = attrs_.numel / attrs_.shape[0];
  d.w = f.out(1, w.data);
  check_cuda(launch_tbn_decode(stream, d), attrs_.op);
  f.store(1, w.data, attrs_.numel, attrs_.op);
}

// ---- TbnGemm / TbnMatMul ----

TbnDenseCuda::TbnDenseCuda(const OrtKernelInfo *info, bool gemm) : d_(info, gemm), math_(math_from_env()) {}

void TbnDenseCuda::compute(OrtKernelContext *ctx) const {
  const DenseInputs in = dense_inputs(d_, ctx);
  CudaDense d;
  d.tile = cuda_tile(d_.tile, ctx, TBN_INPUT_BITS, in.type);
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
  const EpilogueInputs epi = epilogue_inputs(d_.epi, ctx, d_.epi_input, d_.out, in.ydims, in.type, false);
  const TensorView y = output(ctx, 0, in.ydims);
  if (in.rows == 0) return;
  const cudaStream_t stream = stream_of(ctx);
  const int64_t c_len = in.c ? in.c_rows * in.c_cols : 0, y_len = in.rows * d_.out;
  const FloatBoundary f(stream, in.type,
                        {in.rows * in.k, c_len, d.tile.scales_len, y_len, epi.e.scale_len, epi.e.shift_len, epi.residual_len});
  d.x = f.in(0, in.a.data, in.rows * in.k, d_.tile.op);
  d.c = f.in(1, d.c, c_len, d_.tile.op);
  d.tile.scales = f.in(2, d.tile.scales, d.tile.scales_len, d_.tile.op);
  d.y = f.out(3, y.data);
  d.epi = cuda_epilogue(d_.epi, epi, f, 4, d_.tile.op);
  size_t bytes = 0;
  check_cuda(tbn_cuda_dense_workspace(d, &bytes), d_.tile.op);
  const Scratch ws(stream, bytes);
  check_cuda(launch_tbn_dense(stream, d, ws.data(), ws.size()), d_.tile.op);
  f.store(3, y.data, y_len, d_.tile.op);
}

// ---- TbnConv / TbnConvMaxPool ----

TbnConvCuda::TbnConvCuda(const OrtKernelInfo *info, bool max_pool)
    : c_(info, false, max_pool), math_(math_from_env()) {}

void TbnConvCuda::compute(OrtKernelContext *ctx) const {
  const ConvInputs in = conv_inputs(c_, ctx);
  const bool pooled = c_.pool.on;
  CudaConv c;
  c.g = in.g;
  c.tile = cuda_tile(c_.tile, ctx, TBN_INPUT_BITS, in.type);
  // The epilogue (its residual included) is on the conv's output, before the pool.
  const EpilogueInputs epi = epilogue_inputs(c_.epi, ctx, TBN_INPUT_EPILOGUE_CONV, c.g.oc, in.ydims, in.type, false, epilogue_shape(c_));
  const TensorView y = output(ctx, 0, in.out_dims());
  if (c.g.n == 0) return;
  const cudaStream_t stream = stream_of(ctx);
  const int64_t x_len = in.x.numel(), conv_len = TensorView{in.type, in.ydims, nullptr}.numel(), y_len = y.numel();
  const FloatBoundary f(stream, in.type,
                        {x_len, in.bias ? c.g.oc : 0, c.tile.scales_len, y_len, epi.e.scale_len, epi.e.shift_len, epi.residual_len});
  c.out_major = tbn_out_major(1, c_.tile.tile_axis);
  c.x = f.in(0, in.x.data, x_len, c_.tile.op);
  c.bias = f.in(1, in.bias, c.g.oc, c_.tile.op);
  c.tile.scales = f.in(2, c.tile.scales, c.tile.scales_len, c_.tile.op);
  c.epi = cuda_epilogue(c_.epi, epi, f, 4, c_.tile.op);
  c.math = math_;
  // TbnConvMaxPool: the conv's (float) output lives only until the pool has read it.
  const size_t conv_bytes = pooled ? float_scratch_bytes(conv_len) : 0;
  const Scratch conv_out(stream, conv_bytes);
  if (conv_out.size() != conv_bytes)
    fail("cannot allocate " + std::to_string(conv_bytes) + " bytes for the conv's output before the pool", ORT_EP_FAIL);
  c.y = pooled ? static_cast<float *>(conv_out.data()) : f.out(3, y.data);
  size_t bytes = 0;
  check_cuda(tbn_cuda_conv_workspace(c, &bytes), c_.tile.op);
  const Scratch ws(stream, bytes);
  check_cuda(launch_tbn_conv(stream, c, ws.data(), ws.size()), c_.tile.op);
  if (pooled) {
    CudaPool p;
    p.g = in.pool, p.x = c.y, p.y = f.out(3, y.data);
    check_cuda(launch_tbn_maxpool(stream, p), c_.tile.op + " (max pool)");
  }
  f.store(3, y.data, y_len, c_.tile.op);
}

}  // namespace tbn
