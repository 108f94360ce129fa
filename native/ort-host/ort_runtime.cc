// ort_runtime.cc — see ort_runtime.h. dlopen makes the host independent of where (and whether)
// onnxruntime is installed: the TypeScript side passes the path of onnxruntime-node's copy, so
// the host and onnxruntime-node share one runtime in one process.
#include "ort_runtime.h"

#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

namespace tbn {

namespace {
std::mutex g_mutex;
const OrtApi *g_api = nullptr;
const OrtApiBase *g_base = nullptr;
std::string g_library;
OrtEnv *g_env = nullptr;
}  // namespace

const OrtApi &load_runtime(const std::string &library) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_api) {
    if (library != g_library) throw std::runtime_error("onnxruntime is already loaded from " + g_library);
    return *g_api;
  }
  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw std::runtime_error(std::string("cannot load onnxruntime: ") + dlerror());
  using GetApiBase = const OrtApiBase *(*)();
  auto get_base = reinterpret_cast<GetApiBase>(dlsym(handle, "OrtGetApiBase"));
  if (!get_base) throw std::runtime_error(library + " has no OrtGetApiBase");
  const OrtApiBase *base = get_base();
  const OrtApi *api = base->GetApi(kHostApiVersion);
  if (!api) throw std::runtime_error(std::string("onnxruntime ") + base->GetVersionString() + " is older than 1.17");
  // The library stays loaded for the life of the process: sessions and the env live in it.
  g_base = base, g_api = api, g_library = library;
  return *g_api;
}

const OrtApi &rt() {
  if (!g_api) throw std::runtime_error("onnxruntime is not loaded");
  return *g_api;
}

std::string runtime_version() { return g_base ? g_base->GetVersionString() : ""; }

void throw_if(OrtStatus *status) {
  if (!status) return;
  std::string message = rt().GetErrorMessage(status);
  rt().ReleaseStatus(status);
  throw std::runtime_error(message);
}

OrtEnv *env() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_env) {
    if (!g_api) throw std::runtime_error("onnxruntime is not loaded");
    OrtStatus *s = g_api->CreateEnv(ORT_LOGGING_LEVEL_FATAL, "tbn", &g_env);
    if (s) {
      std::string message = g_api->GetErrorMessage(s);
      g_api->ReleaseStatus(s);
      throw std::runtime_error(message);
    }
  }
  return g_env;
}

Owned<OrtValue> owned(OrtValue *v) { return Owned<OrtValue>(v, {rt().ReleaseValue}); }
Owned<OrtSessionOptions> owned(OrtSessionOptions *o) { return Owned<OrtSessionOptions>(o, {rt().ReleaseSessionOptions}); }
Owned<OrtSession> owned(OrtSession *s) { return Owned<OrtSession>(s, {rt().ReleaseSession}); }
Owned<OrtMemoryInfo> owned(OrtMemoryInfo *m) { return Owned<OrtMemoryInfo>(m, {rt().ReleaseMemoryInfo}); }

size_t element_size(int type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return 1;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return 2;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return 4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return 8;
    default: return 0;
  }
}

HostTensor read_tensor(const OrtValue *value) {
  const OrtApi &a = rt();
  HostTensor t;
  OrtTensorTypeAndShapeInfo *info = nullptr;
  throw_if(a.GetTensorTypeAndShape(value, &info));
  ONNXTensorElementDataType type;
  size_t rank = 0, count = 0;
  OrtStatus *s = a.GetTensorElementType(info, &type);
  if (!s) s = a.GetDimensionsCount(info, &rank);
  if (!s) {
    t.dims.resize(rank);
    s = a.GetDimensions(info, t.dims.data(), rank);
  }
  if (!s) s = a.GetTensorShapeElementCount(info, &count);
  a.ReleaseTensorTypeAndShapeInfo(info);
  throw_if(s);
  t.type = static_cast<int>(type);
  const size_t size = element_size(t.type);
  if (size == 0) throw std::runtime_error("output tensor of unsupported element type " + std::to_string(t.type));
  void *data = nullptr;
  throw_if(a.GetTensorMutableData(const_cast<OrtValue *>(value), &data));
  t.bytes.resize(count * size);
  if (!t.bytes.empty()) std::memcpy(t.bytes.data(), data, t.bytes.size());
  return t;
}

}  // namespace tbn
