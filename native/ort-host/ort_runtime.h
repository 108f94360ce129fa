// ort_runtime.h — onnxruntime loaded at run time (dlopen of the library onnxruntime-node ships;
// nothing is linked), one process-wide OrtEnv, and RAII owners for the C API objects the host
// uses. Errors are std::runtime_error with onnxruntime's message; the addon turns them into JS
// errors.
#pragma once

#include <onnxruntime_c_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tbn {

// API 17: the same floor as the op library (onnxruntime >= 1.17).
constexpr uint32_t kHostApiVersion = 17;

// Loads `library` once (later calls must name the same file) and returns the API table.
const OrtApi &load_runtime(const std::string &library);
const OrtApi &rt();           // after load_runtime
OrtEnv *env();                // created on first use
std::string runtime_version();

void throw_if(OrtStatus *status);  // throws (and releases) a non-null status

template <typename T>
struct Releaser {
  void (*release)(T *);
  void operator()(T *p) const {
    if (p) release(p);
  }
};
template <typename T>
using Owned = std::unique_ptr<T, Releaser<T>>;

Owned<OrtValue> owned(OrtValue *v);
Owned<OrtSessionOptions> owned(OrtSessionOptions *o);
Owned<OrtSession> owned(OrtSession *s);
Owned<OrtMemoryInfo> owned(OrtMemoryInfo *m);

// Bytes per element of an ONNX tensor type the host exchanges (0: not supported).
size_t element_size(int onnx_type);

// A tensor read back from onnxruntime: type, dims and a copy of its bytes.
struct HostTensor {
  int type = 0;
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;
};
HostTensor read_tensor(const OrtValue *value);

}  // namespace tbn
