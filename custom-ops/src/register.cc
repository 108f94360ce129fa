// register.cc — the one place the ai.tbn ops are registered, and the library's only exported
// symbol: RegisterCustomOps (the entry point onnxruntime's RegisterCustomOpsLibrary(_V2) calls).
// The ops are plain OrtCustomOp tables (C API, version TBN_ORT_API_VERSION); kernel creation and
// compute go through guard(), so every failure reaches onnxruntime as a status, never a crash.
// Built with the CUDA kernels (TBN_WITH_CUDA), each op is also registered for the
// CUDAExecutionProvider under the same name and domain, so one model runs on either EP.
#include <climits>
#include <mutex>

#include "ops.h"
#include "tbn_op_schema.h"
#if defined(TBN_WITH_CUDA)
#include "cuda/ops_cuda.h"
#endif

namespace tbn {
namespace {

template <typename Kernel>
struct OpDef : OrtCustomOp {
  const char *name;
  size_t inputs;
  Kernel *(*make)(const OrtKernelInfo *);
  const char *ep;  // nullptr: the CPU EP
  int since;       // first op version of the ai.tbn domain with this op

  OpDef(const char *op_name, size_t input_count, Kernel *(*factory)(const OrtKernelInfo *), const char *ep_type = nullptr,
        int since_version = TBN_OPSET_VERSION_MIN)
      : OrtCustomOp(), name(op_name), inputs(input_count), make(factory), ep(ep_type), since(since_version) {
    version = TBN_ORT_API_VERSION;
    GetName = [](const OrtCustomOp *op) { return static_cast<const OpDef *>(op)->name; };
    GetExecutionProviderType = [](const OrtCustomOp *op) { return static_cast<const OpDef *>(op)->ep; };
    GetInputTypeCount = [](const OrtCustomOp *op) { return static_cast<const OpDef *>(op)->inputs; };
    GetInputType = [](const OrtCustomOp *op, size_t i) {
      const bool decode = static_cast<const OpDef *>(op)->inputs == 2;
      const size_t bits = decode ? TBN_INPUT_BITS_DECODE : TBN_INPUT_BITS;
      return i == bits ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    };
    // Inputs after the tile (Gemm C, Conv B, and the version-2 epilogue) are optional.
    GetInputCharacteristic = [](const OrtCustomOp *, size_t i) {
      return i >= 3 ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
    };
    GetInputMemoryType = [](const OrtCustomOp *, size_t) { return OrtMemTypeDefault; };
    GetOutputTypeCount = [](const OrtCustomOp *) -> size_t { return 1; };
    GetOutputType = [](const OrtCustomOp *, size_t) { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; };
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

const OpDef<DecodeKernel> kDecode(TBN_OP_DECODE, 2, make_decode);
const OpDef<DenseKernel> kGemm(TBN_OP_GEMM, 7, make_gemm);
const OpDef<DenseKernel> kMatMul(TBN_OP_MATMUL, 6, make_matmul);
const OpDef<ConvKernel> kConv(TBN_OP_CONV, 7, make_conv);
const OpDef<ConvKernel> kConvNhwc(TBN_OP_CONV_NHWC, 7, make_conv_nhwc, nullptr, 2);

#if defined(TBN_WITH_CUDA)
constexpr const char *kCudaEp = "CUDAExecutionProvider";
TbnDecodeCuda *make_decode_cuda(const OrtKernelInfo *info) { return new TbnDecodeCuda(info); }
TbnDenseCuda *make_gemm_cuda(const OrtKernelInfo *info) { return new TbnDenseCuda(info, true); }
TbnDenseCuda *make_matmul_cuda(const OrtKernelInfo *info) { return new TbnDenseCuda(info, false); }
TbnConvCuda *make_conv_cuda(const OrtKernelInfo *info) { return new TbnConvCuda(info); }

const OpDef<TbnDecodeCuda> kDecodeCuda(TBN_OP_DECODE, 2, make_decode_cuda, kCudaEp);
const OpDef<TbnDenseCuda> kGemmCuda(TBN_OP_GEMM, 7, make_gemm_cuda, kCudaEp);
const OpDef<TbnDenseCuda> kMatMulCuda(TBN_OP_MATMUL, 6, make_matmul_cuda, kCudaEp);
const OpDef<TbnConvCuda> kConvCuda(TBN_OP_CONV, 7, make_conv_cuda, kCudaEp);
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
    const OrtCustomOp *ops[] = {&kDecode, &kGemm, &kMatMul, &kConv, &kConvNhwc,
#if defined(TBN_WITH_CUDA)
                                &kDecodeCuda, &kGemmCuda, &kMatMulCuda, &kConvCuda
#endif
    };
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
