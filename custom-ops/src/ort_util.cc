// ort_util.cc — see ort_util.h. Every OrtStatus the API returns is released here, and every
// failure becomes an OpError that guard() turns back into a status for onnxruntime.
#include "ort_util.h"

#include <cstdlib>
#include <new>
#include <thread>

namespace tbn {

namespace {
const OrtApi *g_api = nullptr;

// Reads and releases a status: true when it was an error.
bool failed(OrtStatus *s, std::string *message = nullptr) {
  if (!s) return false;
  if (message) *message = api().GetErrorMessage(s);
  api().ReleaseStatus(s);
  return true;
}
}  // namespace

const OrtApi &api() { return *g_api; }
void set_api(const OrtApi *a) { g_api = a; }

void fail(const std::string &message, OrtErrorCode code) { throw OpError(code, message); }

void check(OrtStatus *status) {
  std::string message;
  if (failed(status, &message)) fail(message, ORT_FAIL);
}

void check(tbn_status s, const std::string &context) {
  if (s == TBN_OK) return;
  fail(context + ": " + tbn_status_str(s), s == TBN_ERR_UNSUPPORTED ? ORT_NOT_IMPLEMENTED : ORT_INVALID_ARGUMENT);
}

int64_t attr_int(const OrtKernelInfo *info, const char *name, const int64_t *fallback) {
  int64_t v = 0;
  if (!failed(api().KernelInfoGetAttribute_int64(info, name, &v))) return v;
  if (!fallback) fail(std::string("missing int attribute '") + name + "'");
  return *fallback;
}

float attr_float(const OrtKernelInfo *info, const char *name, float fallback) {
  float v = 0;
  return failed(api().KernelInfoGetAttribute_float(info, name, &v)) ? fallback : v;
}

std::string attr_string(const OrtKernelInfo *info, const char *name, const char *fallback) {
  size_t size = 0;
  if (failed(api().KernelInfoGetAttribute_string(info, name, nullptr, &size)) || size == 0) return fallback;
  std::string s(size, '\0');
  check(api().KernelInfoGetAttribute_string(info, name, &s[0], &size));
  s.resize(size > 0 ? size - 1 : 0);  // size counts the terminating NUL
  return s;
}

bool attr_ints(const OrtKernelInfo *info, const char *name, std::vector<int64_t> *out) {
  size_t size = 0;
  if (failed(api().KernelInfoGetAttributeArray_int64(info, name, nullptr, &size))) return false;
  out->assign(size, 0);
  if (size) check(api().KernelInfoGetAttributeArray_int64(info, name, out->data(), &size));
  return true;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) fail("tensor with a negative dimension");
    if (d != 0 && n > TBN_MAX_ELEMENTS / d) fail("tensor too large");
    n *= d;
  }
  return n;
}

TensorView view(const OrtValue *value) {
  TensorView t;
  OrtTensorTypeAndShapeInfo *info = nullptr;
  check(api().GetTensorTypeAndShape(value, &info));
  size_t rank = 0;
  OrtStatus *s = api().GetTensorElementType(info, &t.type);
  if (!s) s = api().GetDimensionsCount(info, &rank);
  if (!s) {
    t.dims.resize(rank);
    s = api().GetDimensions(info, t.dims.data(), rank);
  }
  api().ReleaseTensorTypeAndShapeInfo(info);
  check(s);
  check(api().GetTensorMutableData(const_cast<OrtValue *>(value), &t.data));
  return t;
}

TensorView input(OrtKernelContext *ctx, size_t i, bool *present) {
  size_t count = 0;
  check(api().KernelContext_GetInputCount(ctx, &count));
  const OrtValue *v = nullptr;
  if (i < count) check(api().KernelContext_GetInput(ctx, i, &v));
  if (present) *present = v != nullptr;
  if (!v) {
    if (!present) fail("input " + std::to_string(i) + " is missing");
    return TensorView();
  }
  return view(v);
}

TensorView output(OrtKernelContext *ctx, size_t i, const std::vector<int64_t> &dims) {
  OrtValue *v = nullptr;
  check(api().KernelContext_GetOutput(ctx, i, dims.data(), dims.size(), &v));
  return view(v);
}

bool constant_input(const OrtKernelInfo *info, size_t i, TensorView *out) {
  int is_constant = 0;
  const OrtValue *v = nullptr;
  if (failed(api().KernelInfoGetConstantInput_tensor(info, i, &is_constant, &v)) || !is_constant || !v) return false;
  *out = view(v);
  return true;
}

void Workspace::Free::operator()(void *p) const { ::operator delete(p, std::align_val_t(64)); }

Workspace::Workspace(size_t bytes) : ptr_(nullptr), size_(bytes) {
  void *p = ::operator new(bytes ? bytes : 1, std::align_val_t(64), std::nothrow);
  if (!p) fail("cannot allocate a " + std::to_string(bytes) + "-byte workspace", ORT_FAIL);
  ptr_.reset(p);
}

WorkspacePool::Lease WorkspacePool::acquire(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Smallest free buffer that fits; a run that needs more drops the largest one and grows.
    size_t best = free_.size();
    for (size_t i = 0; i < free_.size(); i++)
      if (free_[i]->size() >= bytes && (best == free_.size() || free_[i]->size() < free_[best]->size())) best = i;
    if (best < free_.size()) {
      std::unique_ptr<Workspace> ws = std::move(free_[best]);
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
      return Lease(this, std::move(ws));
    }
    if (!free_.empty()) free_.pop_back();
  }
  return Lease(this, std::unique_ptr<Workspace>(new Workspace(bytes)));
}

WorkspacePool &shared_workspaces() {
  // Destroyed when onnxruntime unloads the library, after its sessions (no lease outlives a run).
  static WorkspacePool pool;
  return pool;
}

WorkspacePool::Lease::~Lease() {
  if (!ws_) return;
  std::lock_guard<std::mutex> lock(pool_->mutex_);
  pool_->free_.push_back(std::move(ws_));
}

tbn_isa choose_isa() {
  const char *env = std::getenv("TBN_KERNEL");
  if (!env || !*env) return tbn_isa_best();
  tbn_isa isa;
  if (tbn_isa_parse(env, &isa) != TBN_OK) fail(std::string("TBN_KERNEL=") + env + " is not portable, avx2 or avx512");
  if (!tbn_isa_available(isa)) fail(std::string("TBN_KERNEL=") + env + ": this CPU or build has no such kernel path", ORT_NOT_IMPLEMENTED);
  return isa;
}

namespace {
struct Thunk {
  tbn_task_fn fn;
  void *arg;
};

void run_parallel(void *ctx, size_t n, tbn_task_fn fn, void *arg) {
  Thunk th{fn, arg};
  auto call = [](void *u, size_t i) {
    const Thunk *t = static_cast<const Thunk *>(u);
    t->fn(t->arg, i);
  };
  OrtStatus *s = api().KernelContext_ParallelFor(static_cast<const OrtKernelContext *>(ctx), call, n, 0, &th);
  if (failed(s))  // no pool: run inline (tasks are independent)
    for (size_t i = 0; i < n; i++) fn(arg, i);
}
}  // namespace

tbn_parallel parallel_for(OrtKernelContext *ctx) {
  // Tasks get their own scratch, so their number is bounded by the threads that can run them.
  static const unsigned hw = std::thread::hardware_concurrency();  // a syscall: ask once
  tbn_parallel p{};
  p.run = run_parallel;
  p.ctx = ctx;
  p.max_tasks = hw == 0 ? 1 : (hw > 64 ? 64 : hw);
  return p;
}

std::string dims_str(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); i++) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

bool ints_attr(const OrtKernelInfo *info, const char *name, size_t len, int64_t min, std::vector<int64_t> *out) {
  if (!attr_ints(info, name, out)) return false;
  if (out->size() != len)
    fail(std::string(name) + " " + dims_str(*out) + " must have " + std::to_string(len) + " values");
  for (int64_t v : *out)
    if (v < min || v > TBN_MAX_ELEMENTS) fail(std::string(name) + " " + dims_str(*out) + " has a value out of range");
  return true;
}

int64_t flag_attr(const OrtKernelInfo *info, bool gemm, const char *name, int64_t fallback) {
  return gemm ? (attr_int(info, name, &fallback) != 0 ? 1 : 0) : 0;
}

}  // namespace tbn
