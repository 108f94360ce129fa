// register.cc — the one place the ai.tbn ops are registered, and the library's only exported
// symbol: RegisterCustomOps (the entry point onnxruntime's RegisterCustomOpsLibrary(_V2) calls).
// The ops are plain OrtCustomOp tables (C API, version TBN_ORT_API_VERSION); kernel creation and
// compute go through guard(), so every failure reaches onnxruntime as a status, never a crash.
// Built with the CUDA kernels (TBN_WITH_CUDA), each op is also registered for the
// CUDAExecutionProvider under the same name and domain, so one model runs on either EP.
// Each op is registered once per float type T (float, float16, bfloat16: every input but the
// bits, and the output, are T); onnxruntime merges the registrations of one name into one
// schema whose inputs accept the union of the types, and picks the kernel by the node's types.
#include <climits>
#include <mutex>
#include <vector>

#include "ops.h"
#include "tbn_op_schema.h"
#if defined(TBN_WITH_CUDA)
#include "cuda/ops_cuda.h"
#endif

namespace tbn {
namespace {

constexpr ONNXTensorElementDataType kFloat = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ONNXTensorElementDataType kHalf = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
constexpr ONNXTensorElementDataType kBfloat16 = ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;

template <typename Kernel>
struct OpDef : OrtCustomOp {
  const char *name;
  size_t inputs;
  Kernel *(*make)(const OrtKernelInfo *);
  ONNXTensorElementDataType type;  // T
  const char *ep;                  // nullptr: the CPU EP
  int since;                       // first op version of the ai.tbn domain with this op

  OpDef(const char *op_name, size_t input_count, Kernel *(*factory)(const OrtKernelInfo *), ONNXTensorElementDataType t,
        const char *ep_type = nullptr, int since_version = TBN_OPSET_VERSION_MIN)
      : OrtCustomOp(), name(op_name), inputs(input_count), make(factory), type(t), ep(ep_type), since(since_version) {
    version = TBN_ORT_API_VERSION;
    GetName = [](const OrtCustomOp *op) { return static_cast<const OpDef *>(op)->name; };
    GetExecutionProviderType = [](const OrtCustomOp *op) { return static_cast<const OpDef *>(op)->ep; };
    GetInputTypeCount = [](const OrtCustomOp *op) { return static_cast<const OpDef *>(op)->inputs; };
    GetInputType = [](const OrtCustomOp *op, size_t i) {
      const OpDef *self = static_cast<const OpDef *>(op);
      const size_t bits = self->inputs == 2 ? TBN_INPUT_BITS_DECODE : TBN_INPUT_BITS;
      return i == bits ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 : self->type;
    };
    // Inputs after the tile (Gemm C, Conv B, and the version-2 epilogue) are optional.
    GetInputCharacteristic = [](const OrtCustomOp *, size_t i) {
      return i >= 3 ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
    };
    GetInputMemoryType = [](const OrtCustomOp *, size_t) { return OrtMemTypeDefault; };
    GetOutputTypeCount = [](const OrtCustomOp *) -> size_t { return 1; };
    GetOutputType = [](const OrtCustomOp *op, size_t) { return static_cast<const OpDef *>(op)->type; };
    GetOutputCharacteristic = [](const OrtCustomOp *, size_t) { return INPUT_OUTPUT_REQUIRED; };
    GetStartVersion = [](const OrtCustomOp *op) { return static_cast<const OpDef *>(op)->since; };
    GetEndVersion = [](const OrtCustomOp *) { return TBN_OPSET_VERSION; };
    CreateKernelV2 = [](const OrtCustomOp *op, const OrtApi *, const OrtKernelInfo *info, void **kernel) {
      const OpDef *self = static_cast<const OpDef *>(op);
      *kernel = nullptr;
      return guard(self->name, [&] { *kernel = self->make(info); });
    };
    KernelComputeV2 = [](void *kernel, OrtKernelContext *ctx) {
      return guard("ai.tbn kernel", [&] { static_cast<const Kernel *>(kernel)->compute(ctx); });
    };
    KernelDestroy = [](void *kernel) { delete static_cast<Kernel *>(kernel); };
  }
};

DecodeKernel *make_decode(const OrtKernelInfo *info) { return new DecodeKernel(info); }
DenseKernel *make_gemm(const OrtKernelInfo *info) { return new DenseKernel(info, true); }
DenseKernel *make_matmul(const OrtKernelInfo *info) { return new DenseKernel(info, false); }
ConvKernel *make_conv(const OrtKernelInfo *info) { return new ConvKernel(info); }
ConvKernel *make_conv_nhwc(const OrtKernelInfo *info) { return new ConvKernel(info, true); }
ConvKernel *make_conv_max_pool(const OrtKernelInfo *info) { return new ConvKernel(info, false, true); }

// The ops for one float type T on one EP. Every op serves the versions from its first
// (TbnConvNhwc 2, TbnConvMaxPool 3, the others 1) to TBN_OPSET_VERSION; version 1 nodes simply
// have no epilogue inputs or attributes.
template <typename Decode, typename Dense, typename Conv>
struct OpSet {
  OpDef<Decode> decode;
  OpDef<Dense> gemm, matmul;
  OpDef<Conv> conv, conv_nhwc, conv_max_pool;
  OpSet(Decode *(*d)(const OrtKernelInfo *), Dense *(*g)(const OrtKernelInfo *), Dense *(*m)(const OrtKernelInfo *),
        Conv *(*c)(const OrtKernelInfo *), Conv *(*c_nhwc)(const OrtKernelInfo *), Conv *(*c_pool)(const OrtKernelInfo *),
        ONNXTensorElementDataType t, const char *ep = nullptr)
      : decode(TBN_OP_DECODE, 2, d, t, ep), gemm(TBN_OP_GEMM, 7, g, t, ep), matmul(TBN_OP_MATMUL, 6, m, t, ep),
        conv(TBN_OP_CONV, 7, c, t, ep), conv_nhwc(TBN_OP_CONV_NHWC, 7, c_nhwc, t, ep, TBN_CONV_NHWC_SINCE),
        conv_max_pool(TBN_OP_CONV_MAX_POOL, 7, c_pool, t, ep, TBN_CONV_MAX_POOL_SINCE) {}
  void collect(std::vector<const OrtCustomOp *> *out) const {
    out->insert(out->end(), {&decode, &gemm, &matmul, &conv});
    if (conv_nhwc.make) out->push_back(&conv_nhwc);
    if (conv_max_pool.make) out->push_back(&conv_max_pool);
  }
};

using CpuOps = OpSet<DecodeKernel, DenseKernel, ConvKernel>;
const CpuOps kCpuOps[] = {{make_decode, make_gemm, make_matmul, make_conv, make_conv_nhwc, make_conv_max_pool, kFloat},
                          {make_decode, make_gemm, make_matmul, make_conv, make_conv_nhwc, make_conv_max_pool, kHalf},
                          {make_decode, make_gemm, make_matmul, make_conv, make_conv_nhwc, make_conv_max_pool, kBfloat16}};

#if defined(TBN_WITH_CUDA)
constexpr const char *kCudaEp = "CUDAExecutionProvider";
TbnDecodeCuda *make_decode_cuda(const OrtKernelInfo *info) { return new TbnDecodeCuda(info); }
TbnDenseCuda *make_gemm_cuda(const OrtKernelInfo *info) { return new TbnDenseCuda(info, true); }
TbnDenseCuda *make_matmul_cuda(const OrtKernelInfo *info) { return new TbnDenseCuda(info, false); }
TbnConvCuda *make_conv_cuda(const OrtKernelInfo *info) { return new TbnConvCuda(info); }
TbnConvCuda *make_conv_max_pool_cuda(const OrtKernelInfo *info) { return new TbnConvCuda(info, true); }

// No channels-last CUDA kernel: TbnConvNhwc runs on the CPU EP (onnxruntime copies its tensors).
using CudaOps = OpSet<TbnDecodeCuda, TbnDenseCuda, TbnConvCuda>;
const CudaOps kCudaOps[] = {
    {make_decode_cuda, make_gemm_cuda, make_matmul_cuda, make_conv_cuda, nullptr, make_conv_max_pool_cuda, kFloat, kCudaEp},
    {make_decode_cuda, make_gemm_cuda, make_matmul_cuda, make_conv_cuda, nullptr, make_conv_max_pool_cuda, kHalf, kCudaEp},
    {make_decode_cuda, make_gemm_cuda, make_matmul_cuda, make_conv_cuda, nullptr, make_conv_max_pool_cuda, kBfloat16,
     kCudaEp}};
#endif

// One domain for every session: it must outlive them all, so it lives as long as the library
// (onnxruntime unloads the library only after the sessions that registered it are gone).
struct Domain {
  std::mutex mutex;
  const OrtApi *api = nullptr;
  OrtCustomOpDomain *domain = nullptr;
  ~Domain() {
    if (domain) api->ReleaseCustomOpDomain(domain);
  }
};
Domain g_domain;

OrtStatus *create_domain(const OrtApi *a, OrtCustomOpDomain **out) {
  std::lock_guard<std::mutex> lock(g_domain.mutex);
  if (!g_domain.domain) {
    OrtCustomOpDomain *domain = nullptr;
    if (OrtStatus *s = a->CreateCustomOpDomain(TBN_DOMAIN, &domain)) return s;
    std::vector<const OrtCustomOp *> ops;
    for (const CpuOps &set : kCpuOps) set.collect(&ops);
#if defined(TBN_WITH_CUDA)
    for (const CudaOps &set : kCudaOps) set.collect(&ops);
#endif
    for (const OrtCustomOp *op : ops) {
      if (OrtStatus *s = a->CustomOpDomain_Add(domain, op)) {
        a->ReleaseCustomOpDomain(domain);
        return s;
      }
    }
    g_domain.api = a, g_domain.domain = domain;
  }
  *out = g_domain.domain;
  return nullptr;
}

OrtStatus *register_ops(OrtSessionOptions *options, const OrtApiBase *base) {
  if (!base) return nullptr;  // onnxruntime always passes its API base; without one nothing can be reported
  const OrtApi *a = base->GetApi(TBN_ORT_API_VERSION);
  if (!a) return base->GetApi(1)->CreateStatus(ORT_FAIL, "ai.tbn: this onnxruntime is older than 1.17 (API 17)");
  set_api(a);
  OrtCustomOpDomain *domain = nullptr;
  if (OrtStatus *s = create_domain(a, &domain)) return s;
  return a->AddCustomOpDomain(options, domain);
}

}  // namespace
}  // namespace tbn

extern "C" __attribute__((visibility("default"))) OrtStatus *ORT_API_CALL RegisterCustomOps(OrtSessionOptions *options,
                                                                                        const OrtApiBase *api_base) {
  return tbn::register_ops(options, api_base);
}
