// thread_pool.cc — the pool behind parallel_for: workers spin briefly for the next region
// (regions come back to back in a training step) and then sleep on a condition variable, so
// an idle process uses no CPU. A region's chunks are claimed from an atomic counter; the
// caller works too and returns when every chunk is done. The first exception a chunk throws is
// rethrown on the caller (kernels validate before they go parallel, so this is a backstop).
#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__linux__)
#include <sched.h>
#endif

namespace tbn {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

thread_local bool t_in_parallel = false;

// How long a thread spins before it sleeps: long enough to catch the next region of a training
// step (they come back to back), short enough not to steal a loaded machine's cores.
constexpr auto kWorkerSpin = std::chrono::microseconds(40);
constexpr auto kCallerSpin = std::chrono::microseconds(100);

/** Spins until done() or `limit` passes (the clock is read every 32 pauses); true if done. */
template <class Done>
bool spin(Done done, std::chrono::microseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    for (int i = 0; i < 32; i++) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= until) return done();
  }
}

int default_threads() {
  if (const char *env = std::getenv("TBN_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1 && n <= 256) return n;
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n >= 1) return n > 256 ? 256 : n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n > 256 ? 256 : static_cast<int>(n);
}

class Pool {
 public:
  Pool() { start(default_threads()); }
  ~Pool() { stop(); }

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    std::lock_guard<std::mutex> run(run_mutex_);
    stop();
    start(n);
  }

  void run(int64_t n, int64_t grain, ChunkFn fn, void *ctx) {
    if (n <= grain || workers_.empty() || t_in_parallel) {
      fn(ctx, 0, n);  // one chunk (its own nested regions may still go parallel), or nested
      return;
    }
    std::lock_guard<std::mutex> run(run_mutex_);  // one region at a time (several JS threads)
    fn_ = fn;
    ctx_ = ctx;
    n_ = n;
    grain_ = grain;
    error_ = nullptr;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work();
    const auto finished = [&] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!spin(finished, kCallerSpin)) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, finished);
    }
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void start(int n) {
    if (n < 1) n = 1;
    quit_ = false;
    // A worker must know the generation it started at: reading it on the new thread could see a
    // region posted in the meantime as "already seen" and sleep through it.
    const uint64_t now = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < n; i++) workers_.emplace_back([this, now] { loop(now); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto &t : workers_) t.join();
    workers_.clear();
  }

  void work() {
    t_in_parallel = true;
    for (;;) {
      const int64_t b = next_.fetch_add(grain_, std::memory_order_relaxed);
      if (b >= n_) break;
      const int64_t e = b + grain_ < n_ ? b + grain_ : n_;
      try {
        fn_(ctx_, b, e);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
    t_in_parallel = false;
  }

  void loop(uint64_t seen) {
    for (;;) {
      const auto posted = [&] { return generation_.load(std::memory_order_acquire) != seen; };
      if (!spin(posted, kWorkerSpin)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, posted);
      }
      const uint64_t gen = generation_.load(std::memory_order_acquire);
      seen = gen;
      if (quit_) return;
      work();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int> pending_{0};
  bool quit_ = false;
  ChunkFn fn_ = nullptr;
  void *ctx_ = nullptr;
  int64_t n_ = 0;
  int64_t grain_ = 1;
  std::exception_ptr error_;
};

Pool &pool() {
  static Pool p;
  return p;
}

}  // namespace

int pool_threads() { return pool().threads(); }
void pool_set_threads(int n) { pool().resize(n < 1 ? 1 : n > 256 ? 256 : n); }
bool pool_in_parallel() { return t_in_parallel; }
void pool_run(int64_t n, int64_t grain, ChunkFn fn, void *ctx) { pool().run(n, grain, fn, ctx); }

int64_t grain_for(int64_t n, int64_t min_items) {
  const int64_t t = pool_threads();
  if (t <= 1 || n <= min_items) return n < 1 ? 1 : n;
  int64_t g = (n + 4 * t - 1) / (4 * t);
  if (g < min_items) g = min_items;
  return g;
}

}  // namespace tbn
