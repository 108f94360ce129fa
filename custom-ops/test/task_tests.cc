// task_tests.cc — how the kernels share a run's units out over tasks (tbn_share in
// tbn_internal.h): every unit is taken exactly once, whatever the number of tasks against units
// (none, one, fewer units than tasks, odd counts) and whether the tasks run one after another
// (no pool: the first task takes everything) or at once on threads; and the pool the kernel tests
// run with, which starts every task on its own thread.
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "selftest.h"
extern "C" {
#include "tbn_internal.h"
}

namespace tbn_test {

void run_on_threads(void *, size_t n, tbn_task_fn fn, void *arg) {
  std::atomic<size_t> waiting{n};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; i++)
    threads.emplace_back([&, i] {
      waiting.fetch_sub(1);
      while (waiting.load() > 0) std::this_thread::yield();  // start together, so tasks race for units
      fn(arg, i);
    });
  for (auto &t : threads) t.join();
}

namespace {

struct Claims {
  tbn_share share;
  std::vector<std::atomic<int>> taken;
  std::vector<size_t> by_task;  // units each task took
  explicit Claims(size_t units, size_t tasks) : taken(units), by_task(tasks) {}
  static void task(void *arg, size_t t) {
    Claims *c = static_cast<Claims *>(arg);
    tbn_claim k = {0, 0, 0};
    size_t u, mine = 0;
    while (tbn_share_next(&c->share, t, &k, &u)) {
      if (u >= c->taken.size()) {  // out of range: counted as a failure below
        mine = static_cast<size_t>(-1);
        break;
      }
      c->taken[u].fetch_add(1), mine++;
    }
    c->by_task[t] = mine;
  }
};

int check(size_t units, size_t tasks, bool threads) {
  Claims c(units, tasks);
  std::vector<int64_t> mem(tbn_share_bytes(tasks) / sizeof(int64_t), -7);
  tbn_share_init(&c.share, mem.data(), tasks, units);
  if (threads) run_on_threads(nullptr, tasks, Claims::task, &c);
  else for (size_t t = 0; t < tasks; t++) Claims::task(&c, t);
  int bad = 0;
  for (size_t u = 0; u < units; u++)
    if (c.taken[u].load() != 1) bad++;
  for (size_t t = 0; t < tasks; t++)
    if (c.by_task[t] == static_cast<size_t>(-1)) bad++;
  // one after another, the first task finds every unit still there and takes them all
  if (!threads && tasks > 0 && c.by_task[0] != units) bad++;
  if (bad)
    std::printf("FAIL share: %zu units over %zu tasks (%s): %d units taken other than once\n", units, tasks,
                threads ? "threads" : "in turn", bad);
  return bad ? 1 : 0;
}

}  // namespace

int task_tests() {
  int failures = 0;
  for (size_t tasks : {1, 2, 3, 5, 8})
    for (size_t units : {0, 1, 2, 3, 7, 8, 64, 1001})
      for (bool threads : {false, true}) failures += check(units, tasks, threads);
  return failures;
}

}  // namespace tbn_test
