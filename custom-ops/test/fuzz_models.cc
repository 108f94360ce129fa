// fuzz_models.cc — every .onnx in a folder (written by test/native-ops/sanitize.test.ts: malformed
// attributes, tiles and shapes, plus valid controls) is loaded with onnxruntime (dlopen) and the
// ai.tbn library, then run on random inputs of its declared shapes (dynamic dims = 2). Prints
// "<file> ok|load-error|run-error <message>" per model; the caller checks the verdicts. Under
// ASan/UBSan a crash or report aborts the process, which is the failure.
#include <dirent.h>
#include <dlfcn.h>
#include <onnxruntime_c_api.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "selftest.h"

namespace tbn_test {
namespace {

const OrtApi *g = nullptr;

std::string take(OrtStatus *s) {
  if (!s) return "";
  std::string m = g->GetErrorMessage(s);
  g->ReleaseStatus(s);
  for (char &ch : m)
    if (ch == '\n') ch = ' ';
  return m.empty() ? "error" : m;
}

// A value in [−1, 1] as float16 or bfloat16 bits (mantissa truncated, tiny values flushed to
// zero): random inputs only.
uint16_t narrow_bits(float v, ONNXTensorElementDataType type) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  if (type == ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16) return static_cast<uint16_t>(u >> 16);
  const int e = static_cast<int>((u >> 23) & 0xff) - 127 + 15;
  const uint32_t sign = (u >> 16) & 0x8000;
  return static_cast<uint16_t>(e <= 0 ? sign : sign | (static_cast<uint32_t>(e) << 10) | ((u >> 13) & 0x3ff));
}

// One random float, float16 or bfloat16 input of the declared shape (dynamic → 2).
std::string make_input(OrtSession *s, size_t i, Rng &r, std::vector<std::vector<float>> *data,
                       std::vector<OrtValue *> *values) {
  OrtTypeInfo *ti = nullptr;
  std::string err = take(g->SessionGetInputTypeInfo(s, i, &ti));
  if (!err.empty()) return err;
  const OrtTensorTypeAndShapeInfo *tsi = nullptr;
  size_t rank = 0;
  std::vector<int64_t> dims;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  err = take(g->CastTypeInfoToTensorInfo(ti, &tsi));
  if (err.empty() && tsi) err = take(g->GetTensorElementType(tsi, &type));
  if (err.empty() && tsi) err = take(g->GetDimensionsCount(tsi, &rank));
  if (err.empty() && tsi) {
    dims.resize(rank);
    err = take(g->GetDimensions(tsi, dims.data(), rank));
  }
  g->ReleaseTypeInfo(ti);
  if (!err.empty()) return err;
  const bool narrow = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 || type == ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
  if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && !narrow) return "input is not float, float16 or bfloat16";
  size_t count = 1;
  for (int64_t &d : dims) count *= static_cast<size_t>(d = d < 0 ? 2 : d);
  if (count > (64u << 20)) return "input too large for the fuzz pass";
  data->emplace_back(narrow ? (count + 1) / 2 : count);
  if (narrow) {
    for (size_t k = 0; k < count; k++) {
      const uint16_t h = narrow_bits(r.uniform(), type);
      std::memcpy(reinterpret_cast<unsigned char *>(data->back().data()) + 2 * k, &h, 2);
    }
  } else {
    for (float &v : data->back()) v = r.uniform();
  }
  OrtMemoryInfo *mi = nullptr;
  err = take(g->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mi));
  if (!err.empty()) return err;
  OrtValue *v = nullptr;
  err = take(g->CreateTensorWithDataAsOrtValue(mi, data->back().data(), count * (narrow ? 2 : sizeof(float)), dims.data(),
                                               dims.size(), type, &v));
  g->ReleaseMemoryInfo(mi);
  if (err.empty()) values->push_back(v);
  return err;
}

// "ok", or the first error; *stage says where it happened.
std::string run_model(OrtEnv *env, const std::string &ops, const std::string &path, const char **stage, Rng &r) {
  OrtSessionOptions *o = nullptr;
  OrtSession *s = nullptr;
  *stage = "load-error";
  std::string err = take(g->CreateSessionOptions(&o));
  if (err.empty()) err = take(g->SetIntraOpNumThreads(o, 2));
  if (err.empty()) err = take(g->RegisterCustomOpsLibrary_V2(o, ops.c_str()));
  if (err.empty()) err = take(g->CreateSession(env, path.c_str(), o, &s));
  if (o) g->ReleaseSessionOptions(o);
  if (!err.empty()) return err;
  *stage = "run-error";
  OrtAllocator *alloc = nullptr;
  size_t nin = 0, nout = 0;
  std::vector<std::string> names;
  std::vector<std::vector<float>> data;
  std::vector<OrtValue *> in, out;
  err = take(g->GetAllocatorWithDefaultOptions(&alloc));
  if (err.empty()) err = take(g->SessionGetInputCount(s, &nin));
  if (err.empty()) err = take(g->SessionGetOutputCount(s, &nout));
  for (size_t i = 0; err.empty() && i < nin + nout; i++) {
    char *name = nullptr;
    err = take(i < nin ? g->SessionGetInputName(s, i, alloc, &name) : g->SessionGetOutputName(s, i - nin, alloc, &name));
    if (!name) continue;
    names.emplace_back(name);
    take(g->AllocatorFree(alloc, name));
  }
  data.reserve(nin);
  for (size_t i = 0; err.empty() && i < nin; i++) err = make_input(s, i, r, &data, &in);
  if (err.empty()) {
    std::vector<const char *> in_names, out_names;
    for (size_t i = 0; i < nin + nout; i++) (i < nin ? in_names : out_names).push_back(names[i].c_str());
    out.assign(nout, nullptr);
    err = take(g->Run(s, nullptr, in_names.data(), in.data(), nin, out_names.data(), nout, out.data()));
  }
  for (OrtValue *v : in) g->ReleaseValue(v);
  for (OrtValue *v : out)
    if (v) g->ReleaseValue(v);
  g->ReleaseSession(s);
  if (err.empty()) *stage = "ok";
  return err;
}

// Its own frame so the suppression file can name it: onnxruntime's CreateEnv keeps a few bytes
// that ReleaseEnv does not free (seen with 1.30), which is not ours to fix.
__attribute__((noinline)) OrtEnv *create_env() {
  OrtEnv *env = nullptr;
  return take(g->CreateEnv(ORT_LOGGING_LEVEL_FATAL, "tbn-fuzz", &env)).empty() ? env : nullptr;
}

}  // namespace

int fuzz_models(const std::string &ort_library, const std::string &ops_library, const std::string &dir) {
  void *h = dlopen(ort_library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) return std::printf("cannot load %s: %s\n", ort_library.c_str(), dlerror()), 2;
  auto base = reinterpret_cast<const OrtApiBase *(*)()>(dlsym(h, "OrtGetApiBase"));
  g = base ? base()->GetApi(17) : nullptr;
  if (!g) return std::printf("no usable OrtApi in %s\n", ort_library.c_str()), 2;
  OrtEnv *env = create_env();
  if (!env) return 2;
  std::vector<std::string> files;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".onnx") == 0) files.push_back(n);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  Rng r(7);
  for (const std::string &f : files) {
    const char *stage = "";
    const std::string message = run_model(env, ops_library, dir + "/" + f, &stage, r);
    std::printf("%s %s %s\n", f.c_str(), stage, message.c_str());
    std::fflush(stdout);
  }
  g->ReleaseEnv(env);
  std::printf("fuzz: %zu models\n", files.size());
  return 0;
}

}  // namespace tbn_test
