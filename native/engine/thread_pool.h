// thread_pool.h — one small persistent pool for every kernel (default: the CPUs this process
// may run on; TBN_THREADS or setThreads() change it). parallel_for() cuts [0, n) into chunks of
// `grain` that the caller and the workers take in turn; every kernel makes each chunk's output
// independent of which thread runs it (no per-thread partial sums), so results are the same
// for every thread count. A call made inside a parallel region runs serially on its thread.
#pragma once

#include <cstdint>
#include <type_traits>

namespace tbn {

using ChunkFn = void (*)(void *ctx, int64_t begin, int64_t end);

/** Threads a parallel region uses (caller included). */
int pool_threads();
/** Resizes the pool (1 = everything on the calling thread). */
void pool_set_threads(int n);
/** True on a thread that is inside a parallel region. */
bool pool_in_parallel();
/** Runs fn over [0, n) in chunks of `grain`; serial when one chunk covers it. */
void pool_run(int64_t n, int64_t grain, ChunkFn fn, void *ctx);

template <class F>
void parallel_for(int64_t n, int64_t grain, F &&f) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  using Fn = std::remove_reference_t<F>;
  pool_run(n, grain, [](void *c, int64_t b, int64_t e) { (*static_cast<Fn *>(c))(b, e); },
           const_cast<void *>(static_cast<const void *>(&f)));
}

/** A grain that gives each thread a few chunks of at least `min_items` items. */
int64_t grain_for(int64_t n, int64_t min_items);

}  // namespace tbn
