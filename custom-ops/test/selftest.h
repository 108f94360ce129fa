// selftest.h — the two suites of tbn_selftest (their RNG: test_rng.h).
//   kernel_tests(): the kernels against naive double-precision references (every kernel path
//                   this CPU has, random shapes), plus malformed sizes at the kernel API.
//   fuzz_models():  loads every .onnx in a folder with onnxruntime + the ai.tbn library and
//                   runs it on random inputs; prints one line per model (ok / load-error /
//                   run-error) for the caller to check. Run under ASan/UBSan, a crash or a
//                   sanitizer report is the failure this looks for.
#pragma once

#include <cstdint>
#include <string>

#include "tbn_kernels.h"
#include "test_rng.h"

namespace tbn_test {

int kernel_tests(int cases);
// The sharing of a run's units over tasks (task_tests.cc); failures counted.
int task_tests();
// A tbn_parallel runner that starts each task on its own thread at once.
void run_on_threads(void *ctx, size_t n, tbn_task_fn fn, void *arg);
int fuzz_models(const std::string &ort_library, const std::string &ops_library, const std::string &dir);

}  // namespace tbn_test
