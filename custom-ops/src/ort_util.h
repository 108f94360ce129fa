// ort_util.h — the onnxruntime C API as the ops use it: the API table, errors (a C++ exception
// inside the library, an OrtStatus at its boundary), attribute readers with defaults, tensor
// views, the per-run workspace and the kernel-path choice (TBN_KERNEL).
#pragma once

#include <onnxruntime_c_api.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "tbn_kernels.h"

// The oldest API with everything the ops call (ParallelFor: 17; CreateKernelV2: 16).
#define TBN_ORT_API_VERSION 17

namespace tbn {

const OrtApi &api();
void set_api(const OrtApi *api);

struct OpError : std::runtime_error {
  OrtErrorCode code;
  OpError(OrtErrorCode c, const std::string &m) : std::runtime_error(m), code(c) {}
};

[[noreturn]] void fail(const std::string &message, OrtErrorCode code = ORT_INVALID_ARGUMENT);
void check(OrtStatus *status);                          // throws on a non-null status
void check(tbn_status s, const std::string &context);  // throws on a kernel error

// Runs f, turning any exception into an OrtStatus for onnxruntime (never lets one escape).
template <typename F>
OrtStatus *guard(const char *op, F &&f) noexcept {
  try {
    f();
    return nullptr;
  } catch (const OpError &e) {
    return api().CreateStatus(e.code, (std::string(op) + ": " + e.what()).c_str());
  } catch (const std::bad_alloc &) {
    return api().CreateStatus(ORT_FAIL, (std::string(op) + ": out of memory").c_str());
  } catch (const std::exception &e) {
    return api().CreateStatus(ORT_FAIL, (std::string(op) + ": " + e.what()).c_str());
  } catch (...) {
    return api().CreateStatus(ORT_FAIL, (std::string(op) + ": unknown error").c_str());
  }
}

// Attributes: `required` ones fail when absent; the others take their default.
int64_t attr_int(const OrtKernelInfo *info, const char *name, const int64_t *fallback);
float attr_float(const OrtKernelInfo *info, const char *name, float fallback);
std::string attr_string(const OrtKernelInfo *info, const char *name, const char *fallback);
bool attr_ints(const OrtKernelInfo *info, const char *name, std::vector<int64_t> *out);
// An int list of exactly `len` values in [min, TBN_MAX_ELEMENTS]; false when absent.
bool ints_attr(const OrtKernelInfo *info, const char *name, size_t len, int64_t min, std::vector<int64_t> *out);
// Gemm's 0/1 flags (transA, transB); MatMul has none (0).
int64_t flag_attr(const OrtKernelInfo *info, bool gemm, const char *name, int64_t fallback);

// A tensor input or output: element type, dims and data.
struct TensorView {
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<int64_t> dims;
  void *data = nullptr;
  int64_t numel() const;
};

TensorView view(const OrtValue *value);
// Input i of the kernel context; `present` is false for an omitted optional input.
TensorView input(OrtKernelContext *ctx, size_t i, bool *present = nullptr);
TensorView output(OrtKernelContext *ctx, size_t i, const std::vector<int64_t> &dims);
// A constant initializer feeding input i at kernel creation, if it is one.
bool constant_input(const OrtKernelInfo *info, size_t i, TensorView *out);

// Uninitialised, 64-byte aligned scratch memory for one run.
class Workspace {
 public:
  explicit Workspace(size_t bytes);
  void *data() const { return ptr_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(void *p) const;
  };
  std::unique_ptr<void, Free> ptr_;
  size_t size_;
};

// Per-run scratch that outlives the run: buffers go back to the pool and are reused, so steady
// state runs allocate nothing. Thread-safe (onnxruntime may run kernels concurrently). One pool
// serves every kernel (shared_workspaces()), so a session keeps about its largest run's scratch
// once, not one buffer per node.
class WorkspacePool {
 public:
  class Lease {
   public:
    Lease(WorkspacePool *pool, std::unique_ptr<Workspace> ws) : pool_(pool), ws_(std::move(ws)) {}
    Lease(Lease &&) = default;
    ~Lease();
    void *data() const { return ws_->data(); }
    size_t size() const { return ws_->size(); }

   private:
    WorkspacePool *pool_;
    std::unique_ptr<Workspace> ws_;
  };
  Lease acquire(size_t bytes);

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Workspace>> free_;
};

WorkspacePool &shared_workspaces();

// The kernel path: TBN_KERNEL (portable | avx2 | avx512) when set, else the best this CPU has.
tbn_isa choose_isa();

// onnxruntime's intra-op thread pool behind the kernels' tbn_parallel.
tbn_parallel parallel_for(OrtKernelContext *ctx);

std::string dims_str(const std::vector<int64_t> &dims);

}  // namespace tbn
