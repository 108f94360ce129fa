// gemm.cc — the GEMM driver: cuts each product into units (row range × column range of C),
// and for each unit walks k in blocks of KC, packs B (KC × NC) into NR-column panels and A
// (MC × KC) into MR-row panels in thread-local scratch (with the packers of the kernel path),
// and runs the microkernel over every MR × NR tile; edge tiles are computed into scratch and
// copied. Units are claimed by the pool.
#include "gemm.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "cpu.h"
#include "thread_pool.h"

namespace tbn {
namespace {

constexpr int64_t KC_MAX = 256;  // k blocks: equal parts of k, none longer (B panel + A panel ≈ L1)
constexpr int64_t MC_TARGET = 128;
constexpr int64_t NC_TARGET = 1024;

/** Per-thread packing buffers, grown on demand and kept (a few MB at most). */
struct Scratch {
  float *a = nullptr;
  float *b = nullptr;
  int64_t a_cap = 0, b_cap = 0;
  ~Scratch() {
    std::free(a);
    std::free(b);
  }
  static float *grow(float *p, int64_t &cap, int64_t need) {
    if (need <= cap) return p;
    std::free(p);
    const size_t bytes = (static_cast<size_t>(need) * sizeof(float) + 63) & ~size_t(63);
    p = static_cast<float *>(std::aligned_alloc(64, bytes));
    if (!p) throw std::bad_alloc();
    cap = need;
    return p;
  }
};

thread_local Scratch t_scratch;

void pack_a(const MicroKernel &uk, const GemmArgs &g, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float *dst) {
  for (int64_t ir = 0; ir < mc; ir += uk.mr, dst += kc * uk.mr) {
    const int64_t rows = mc - ir < uk.mr ? mc - ir : uk.mr;
    uk.pack_a(g.a + (i0 + ir) * g.a_rs + p0 * g.a_cs, g.a_rs, g.a_cs, rows, kc, dst);
  }
}

void pack_b(const MicroKernel &uk, const GemmArgs &g, int64_t j0, int64_t nc, int64_t p0, int64_t kc, float *dst) {
  for (int64_t jr = 0; jr < nc; jr += uk.nr, dst += kc * uk.nr) {
    const int64_t cols = nc - jr < uk.nr ? nc - jr : uk.nr;
    uk.pack_b(g.b + p0 * g.b_rs + (j0 + jr) * g.b_cs, g.b_rs, g.b_cs, cols, kc, dst);
  }
}

/** C[i0:i1, j0:j1] of product g. */
void run_unit(const GemmArgs &g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const MicroKernel &uk = micro_kernel();
  const int mr = uk.mr, nr = uk.nr;
  if (g.k == 0) {
    if (!g.accumulate)
      for (int64_t i = i0; i < i1; i++) std::memset(g.c + i * g.c_rs + j0, 0, sizeof(float) * (j1 - j0));
    return;
  }
  const int64_t mc_max = MC_TARGET / mr * mr;
  const int64_t nc_max = NC_TARGET / nr * nr;
  Scratch &s = t_scratch;
  // Equal k blocks (a function of k alone, so the summation order never depends on tiling).
  const int64_t kblocks = (g.k + KC_MAX - 1) / KC_MAX;
  const int64_t KC = (g.k + kblocks - 1) / kblocks;
  const int64_t kc_max = KC;
  const int64_t ncap = ((j1 - j0 < nc_max ? j1 - j0 : nc_max) + nr - 1) / nr * nr;
  const int64_t mcap = ((i1 - i0 < mc_max ? i1 - i0 : mc_max) + mr - 1) / mr * mr;
  s.a = Scratch::grow(s.a, s.a_cap, mcap * kc_max);
  s.b = Scratch::grow(s.b, s.b_cap, ncap * kc_max);
  alignas(64) float tmp[16 * 64];
  for (int64_t pc = 0; pc < g.k; pc += KC) {
    const int64_t kc = g.k - pc < KC ? g.k - pc : KC;
    const int acc = g.accumulate || pc > 0;
    for (int64_t jc = j0; jc < j1; jc += nc_max) {
      const int64_t nc = j1 - jc < nc_max ? j1 - jc : nc_max;
      if (g.b_panels) g.b_panels(g.b_ctx, pc, kc, jc, nc, nr, s.b);
      else pack_b(uk, g, jc, nc, pc, kc, s.b);
      for (int64_t ic = i0; ic < i1; ic += mc_max) {
        const int64_t mc = i1 - ic < mc_max ? i1 - ic : mc_max;
        pack_a(uk, g, ic, mc, pc, kc, s.a);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int64_t cols = nc - jr < nr ? nc - jr : nr;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int64_t rows = mc - ir < mr ? mc - ir : mr;
            float *cp = g.c + (ic + ir) * g.c_rs + jc + jr;
            if (rows == mr && cols == nr) {
              uk.fn(kc, s.a + ir * kc, s.b + jr * kc, cp, g.c_rs, acc);
              continue;
            }
            uk.fn(kc, s.a + ir * kc, s.b + jr * kc, tmp, nr, 0);
            for (int64_t i = 0; i < rows; i++) {
              float *ci = cp + i * g.c_rs;
              const float *ti = tmp + i * nr;
              if (acc) {
                for (int64_t j = 0; j < cols; j++) ci[j] += ti[j];
              } else {
                for (int64_t j = 0; j < cols; j++) ci[j] = ti[j];
              }
            }
          }
        }
      }
    }
  }
}

struct Unit {
  const GemmArgs *g;
  int64_t i0, i1, j0, j1;
};

/** Cuts product g into about `parts` units along m and n (in whole microkernel tiles). */
void split(const GemmArgs &g, int64_t parts, std::vector<Unit> &out) {
  const MicroKernel &uk = micro_kernel();
  int64_t sm = 1, sn = 1;
  const int64_t tm = (g.m + uk.mr - 1) / uk.mr, tn = (g.n + uk.nr - 1) / uk.nr;  // tiles
  while (sm * sn < parts) {
    const bool can_m = tm >= sm * 2, can_n = tn >= sn * 2;
    if (!can_m && !can_n) break;
    // Prefer the dimension with more tiles per part (each unit packs its own A and B).
    if (can_n && (!can_m || tn / sn >= tm / sm)) sn *= 2;
    else sm *= 2;
  }
  for (int64_t a = 0; a < sm; a++) {
    const int64_t i0 = tm * a / sm * uk.mr, i1 = a + 1 == sm ? g.m : tm * (a + 1) / sm * uk.mr;
    for (int64_t b = 0; b < sn; b++) {
      const int64_t j0 = tn * b / sn * uk.nr, j1 = b + 1 == sn ? g.n : tn * (b + 1) / sn * uk.nr;
      if (i0 < i1 && j0 < j1) out.push_back({&g, i0, i1, j0, j1});
    }
  }
}

// A unit of at least ~10 µs of work; smaller products run on the calling thread.
constexpr double kMinUnitFlops = 2.0 * 128 * 128 * 64;

}  // namespace

void gemm_batch(const GemmArgs *g, int64_t count) {
  const int64_t threads = pool_threads();
  double total = 0;
  for (int64_t i = 0; i < count; i++) total += 2.0 * g[i].m * g[i].n * (g[i].k ? g[i].k : 1);
  if (threads == 1 || pool_in_parallel() || total < 2 * kMinUnitFlops) {
    for (int64_t i = 0; i < count; i++)
      if (g[i].m && g[i].n) run_unit(g[i], 0, g[i].m, 0, g[i].n);
    return;
  }
  // Enough units for the pool to balance (3 per thread), none much smaller than kMinUnitFlops.
  double want = 3.0 * threads;
  if (total / want < kMinUnitFlops) want = total / kMinUnitFlops;
  std::vector<Unit> units;
  for (int64_t i = 0; i < count; i++) {
    if (!g[i].m || !g[i].n) continue;
    const double share = 2.0 * g[i].m * g[i].n * (g[i].k ? g[i].k : 1) / total * want;
    split(g[i], share < 1 ? 1 : static_cast<int64_t>(share + 0.5), units);
  }
  parallel_for(static_cast<int64_t>(units.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; u++) run_unit(*units[u].g, units[u].i0, units[u].i1, units[u].j0, units[u].j1);
  });
}

void gemm(const GemmArgs &g) { gemm_batch(&g, 1); }

}  // namespace tbn
