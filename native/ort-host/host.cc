// host.cc — the N-API surface of tbn_ort_host.node (declared in src/runtime/custom-ops.ts):
//   load(ortLibrary: string): string                         [sync] dlopen onnxruntime; its version
//   kernelPaths(): string[]                                  [sync] kernel paths this CPU can run
//   new Session(model: string | Uint8Array, {threads, optimize, opsLibrary, profile?, optimizedModel?})
//                                                            [sync] throws on load errors; profile: a file
//                                                            prefix for onnxruntime's per-node profile,
//                                                            optimizedModel: where to save the graph as optimized
//   session.inputNames / outputNames: string[]
//   session.run(feeds: Feed[]): Promise<Fetch[]>             [async] on the libuv pool
//   session.benchmark(feeds: Feed[], iterations): Float64Array  [sync] seconds per run, no JS in the loop
//   session.endProfiling(): string                           [sync] the profile's file ('' without profile)
//   session.release(): void
// Feed = {name, type (ONNX element type code), dims, data: TypedArray}; Fetch = {name, type, dims,
// data: ArrayBuffer}. Feeds are read in place (not copied) and must not change while a run is on.
#include <napi.h>

#include <chrono>
#include <cstring>

#include "ort_runtime.h"
#include "tbn_kernels.h"

namespace tbn {
namespace {

struct Feed {
  std::string name;
  int type = 0;
  std::vector<int64_t> dims;
  void *data = nullptr;
  size_t bytes = 0;
};

std::vector<Feed> parse_feeds(const Napi::Value &v, std::vector<Napi::ObjectReference> *keep) {
  if (!v.IsArray()) throw std::runtime_error("feeds must be an array");
  const Napi::Array arr = v.As<Napi::Array>();
  std::vector<Feed> feeds(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    const Napi::Object o = arr.Get(i).As<Napi::Object>();
    Feed &f = feeds[i];
    f.name = o.Get("name").As<Napi::String>().Utf8Value();
    f.type = o.Get("type").As<Napi::Number>().Int32Value();
    const Napi::Array dims = o.Get("dims").As<Napi::Array>();
    size_t count = 1;
    for (uint32_t d = 0; d < dims.Length(); d++) {
      const int64_t n = dims.Get(d).As<Napi::Number>().Int64Value();
      if (n < 0) throw std::runtime_error("feed '" + f.name + "' has a negative dimension");
      f.dims.push_back(n);
      count *= static_cast<size_t>(n);
    }
    const Napi::Value data = o.Get("data");
    if (!data.IsTypedArray()) throw std::runtime_error("feed '" + f.name + "': data must be a typed array");
    const Napi::TypedArray ta = data.As<Napi::TypedArray>();
    f.data = static_cast<uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    f.bytes = ta.ByteLength();
    const size_t size = element_size(f.type);
    if (size == 0) throw std::runtime_error("feed '" + f.name + "': unsupported element type " + std::to_string(f.type));
    if (f.bytes != count * size) throw std::runtime_error("feed '" + f.name + "': data does not match its dims");
    if (keep) keep->push_back(Napi::Persistent(ta.As<Napi::Object>()));
  }
  return feeds;
}

// One run: feeds wrap the callers' buffers; outputs are copied out (when `read`) before the
// values go — a benchmark does not read them, so it times onnxruntime alone.
std::vector<HostTensor> run_once(OrtSession *session, const std::vector<Feed> &feeds,
                                 const std::vector<std::string> &output_names, bool read = true) {
  const OrtApi &a = rt();
  OrtMemoryInfo *mi_raw = nullptr;
  throw_if(a.CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mi_raw));
  const Owned<OrtMemoryInfo> mi = owned(mi_raw);
  std::vector<Owned<OrtValue>> in;
  std::vector<const OrtValue *> in_ptrs;
  std::vector<const char *> in_names, out_names;
  for (const Feed &f : feeds) {
    OrtValue *v = nullptr;
    throw_if(a.CreateTensorWithDataAsOrtValue(mi.get(), f.data, f.bytes, f.dims.data(), f.dims.size(),
                                              static_cast<ONNXTensorElementDataType>(f.type), &v));
    in.push_back(owned(v));
    in_ptrs.push_back(v);
    in_names.push_back(f.name.c_str());
  }
  for (const std::string &n : output_names) out_names.push_back(n.c_str());
  std::vector<OrtValue *> out(out_names.size(), nullptr);
  throw_if(a.Run(session, nullptr, in_names.data(), in_ptrs.data(), in_ptrs.size(), out_names.data(), out.size(),
                 out.data()));
  std::vector<Owned<OrtValue>> out_owned;
  for (OrtValue *v : out) out_owned.push_back(owned(v));
  std::vector<HostTensor> result;
  if (read)
    for (OrtValue *v : out) result.push_back(read_tensor(v));
  return result;
}

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<OrtSession> session, std::vector<Feed> feeds,
            std::vector<Napi::ObjectReference> keep, std::vector<std::string> outputs)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), session_(std::move(session)),
        feeds_(std::move(feeds)), keep_(std::move(keep)), outputs_(std::move(outputs)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      result_ = run_once(session_.get(), feeds_, outputs_);
    } catch (const std::exception &e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array arr = Napi::Array::New(env, result_.size());
    for (size_t i = 0; i < result_.size(); i++) {
      const HostTensor &t = result_[i];
      Napi::Object o = Napi::Object::New(env);
      Napi::Array dims = Napi::Array::New(env, t.dims.size());
      for (size_t d = 0; d < t.dims.size(); d++) dims.Set(d, Napi::Number::New(env, static_cast<double>(t.dims[d])));
      Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, t.bytes.size());
      if (!t.bytes.empty()) std::memcpy(buf.Data(), t.bytes.data(), t.bytes.size());
      o.Set("name", outputs_[i]);
      o.Set("type", t.type);
      o.Set("dims", dims);
      o.Set("data", buf);
      arr.Set(i, o);
    }
    deferred_.Resolve(arr);
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<OrtSession> session_;
  std::vector<Feed> feeds_;
  std::vector<Napi::ObjectReference> keep_;
  std::vector<std::string> outputs_;
  std::vector<HostTensor> result_;
};

std::vector<std::string> io_names(OrtSession *s, bool inputs) {
  const OrtApi &a = rt();
  OrtAllocator *alloc = nullptr;
  throw_if(a.GetAllocatorWithDefaultOptions(&alloc));
  size_t n = 0;
  throw_if(inputs ? a.SessionGetInputCount(s, &n) : a.SessionGetOutputCount(s, &n));
  std::vector<std::string> names;
  for (size_t i = 0; i < n; i++) {
    char *name = nullptr;
    throw_if(inputs ? a.SessionGetInputName(s, i, alloc, &name) : a.SessionGetOutputName(s, i, alloc, &name));
    names.emplace_back(name);
    throw_if(a.AllocatorFree(alloc, name));
  }
  return names;
}

Napi::Array to_js(Napi::Env env, const std::vector<std::string> &v) {
  Napi::Array arr = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) arr.Set(i, v[i]);
  return arr;
}

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Session",
                       {InstanceMethod<&Session::Run>("run"), InstanceMethod<&Session::Benchmark>("benchmark"),
                        InstanceMethod<&Session::EndProfiling>("endProfiling"), InstanceMethod<&Session::Release>("release")});
  }

  explicit Session(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Session>(info) {
    Napi::Env e = info.Env();
    try {
      const OrtApi &a = rt();
      const Napi::Object opts = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(e);
      OrtSessionOptions *o_raw = nullptr;
      throw_if(a.CreateSessionOptions(&o_raw));
      const Owned<OrtSessionOptions> o = owned(o_raw);
      const int threads = opts.Has("threads") ? opts.Get("threads").As<Napi::Number>().Int32Value() : 0;
      throw_if(a.SetIntraOpNumThreads(o.get(), threads < 0 ? 0 : threads));
      throw_if(a.SetInterOpNumThreads(o.get(), 1));
      // Failures reach JavaScript as exceptions; onnxruntime's own log would repeat them on stderr.
      throw_if(a.SetSessionLogSeverityLevel(o.get(), ORT_LOGGING_LEVEL_FATAL));
      const bool optimize = !opts.Has("optimize") || opts.Get("optimize").ToBoolean().Value();
      throw_if(a.SetSessionGraphOptimizationLevel(o.get(), optimize ? ORT_ENABLE_ALL : ORT_DISABLE_ALL));
      if (opts.Has("profile") && opts.Get("profile").IsString())
        throw_if(a.EnableProfiling(o.get(), opts.Get("profile").As<Napi::String>().Utf8Value().c_str()));
      if (opts.Has("optimizedModel") && opts.Get("optimizedModel").IsString())
        throw_if(a.SetOptimizedModelFilePath(o.get(), opts.Get("optimizedModel").As<Napi::String>().Utf8Value().c_str()));
      if (opts.Has("opsLibrary") && opts.Get("opsLibrary").IsString()) {
        const std::string lib = opts.Get("opsLibrary").As<Napi::String>().Utf8Value();
        throw_if(a.RegisterCustomOpsLibrary_V2(o.get(), lib.c_str()));
      }
      OrtSession *s = nullptr;
      if (info[0].IsString()) {
        const std::string path = info[0].As<Napi::String>().Utf8Value();
        throw_if(a.CreateSession(env(), path.c_str(), o.get(), &s));
      } else if (info[0].IsTypedArray()) {
        const Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
        throw_if(a.CreateSessionFromArray(env(), bytes.Data(), bytes.ByteLength(), o.get(), &s));
      } else {
        throw std::runtime_error("model must be a path or a Uint8Array");
      }
      session_ = std::shared_ptr<OrtSession>(s, [](OrtSession *p) { rt().ReleaseSession(p); });
      inputs_ = io_names(s, true), outputs_ = io_names(s, false);
      Value().Set("inputNames", to_js(e, inputs_));
      Value().Set("outputNames", to_js(e, outputs_));
    } catch (const std::exception &ex) {
      Napi::Error::New(e, ex.what()).ThrowAsJavaScriptException();
    }
  }

 private:
  OrtSession *live(Napi::Env e) {
    if (!session_) Napi::Error::New(e, "session was released").ThrowAsJavaScriptException();
    return session_.get();
  }

  Napi::Value Run(const Napi::CallbackInfo &info) {
    if (!live(info.Env())) return info.Env().Undefined();
    try {
      std::vector<Napi::ObjectReference> keep;
      std::vector<Feed> feeds = parse_feeds(info[0], &keep);
      auto *w = new RunWorker(info.Env(), session_, std::move(feeds), std::move(keep), outputs_);
      const Napi::Promise p = w->promise();
      w->Queue();
      return p;
    } catch (const std::exception &ex) {
      Napi::Error::New(info.Env(), ex.what()).ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
  }

  Napi::Value Benchmark(const Napi::CallbackInfo &info) {
    if (!live(info.Env())) return info.Env().Undefined();
    try {
      const std::vector<Feed> feeds = parse_feeds(info[0], nullptr);
      const int64_t n = info[1].As<Napi::Number>().Int64Value();
      Napi::Float64Array times = Napi::Float64Array::New(info.Env(), n > 0 ? static_cast<size_t>(n) : 0);
      for (int64_t i = 0; i < n; i++) {
        const auto t0 = std::chrono::steady_clock::now();
        run_once(session_.get(), feeds, outputs_, false);
        times[static_cast<size_t>(i)] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
      return times;
    } catch (const std::exception &ex) {
      Napi::Error::New(info.Env(), ex.what()).ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
  }

  Napi::Value EndProfiling(const Napi::CallbackInfo &info) {
    if (!live(info.Env())) return info.Env().Undefined();
    try {
      const OrtApi &a = rt();
      OrtAllocator *alloc = nullptr;
      throw_if(a.GetAllocatorWithDefaultOptions(&alloc));
      char *file = nullptr;
      throw_if(a.SessionEndProfiling(session_.get(), alloc, &file));
      const std::string out = file ? file : "";
      if (file) throw_if(a.AllocatorFree(alloc, file));
      return Napi::String::New(info.Env(), out);
    } catch (const std::exception &ex) {
      Napi::Error::New(info.Env(), ex.what()).ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
  }

  Napi::Value Release(const Napi::CallbackInfo &info) {
    session_.reset();  // an in-flight run keeps its own reference
    return info.Env().Undefined();
  }

  std::shared_ptr<OrtSession> session_;
  std::vector<std::string> inputs_, outputs_;
};

Napi::Value Load(const Napi::CallbackInfo &info) {
  try {
    load_runtime(info[0].As<Napi::String>().Utf8Value());
    env();
    return Napi::String::New(info.Env(), runtime_version());
  } catch (const std::exception &ex) {
    Napi::Error::New(info.Env(), ex.what()).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
}

Napi::Value KernelPaths(const Napi::CallbackInfo &info) {
  std::vector<std::string> names;
  for (tbn_isa isa : {TBN_ISA_PORTABLE, TBN_ISA_AVX2, TBN_ISA_AVX512})
    if (tbn_isa_available(isa)) names.emplace_back(tbn_isa_name(isa));
  return to_js(info.Env(), names);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("load", Napi::Function::New<Load>(env, "load"));
  exports.Set("kernelPaths", Napi::Function::New<KernelPaths>(env, "kernelPaths"));
  exports.Set("Session", Session::Define(env));
  return exports;
}

}  // namespace
}  // namespace tbn

static Napi::Object InitHost(Napi::Env env, Napi::Object exports) { return tbn::Init(env, exports); }
NODE_API_MODULE(tbn_ort_host, InitHost)
