// gemm_tiled.cuh — the tiled product C[m][n] = Σ_k A(m, k) · B(n, k) that TbnGemm/TbnMatMul
// (batch rows > 4) and TbnConv (implicit GEMM over output positions) run on. B is the tile: n
// indexes the rows actually computed (out/p tile rows in OUT_REUSE, so p× fewer MACs), and a
// block turns 32 tile bits into 32 ±1.0 values in shared memory with one window load. A Prob
// (DenseProb, ConvProb) supplies A, the row of each n and the epilogue that scatters a result to
// every output that reuses it (α_r · value for each region r, + bias / beta·C).
//   Block: 32 (m) × 64 (n) outputs, 32 k per stage, 128 threads; the next stage's global loads
//   are in registers while the current one is multiplied. Fp32: 4×4 outputs per thread from
//   k-major smem. Tf32x2 (sm_80+): WMMA m16n16k8, A split into hi + lo TF32 terms, both
//   exact against ±1, so two MMAs keep ~fp32 accuracy. The general strategy (weights ±α, not
//   exact in TF32) always takes the fp32 path.
//   Split-K: grid.y = n-blocks × splits; with splits > 1 each writes its partial sums to a
//   workspace [split][group][M][N] and finalize_kernel adds them and runs the epilogue.
#pragma once

#include <mma.h>

#include "tile_fetch.cuh"

namespace tbn {
namespace cuda {

constexpr int kBM = 32, kBN = 64, kBK = 32, kThreads = 128;
constexpr int kLdA = kBM + 4, kLdB = kBN + 4;  // fp32: k-major rows, float4 aligned
constexpr int kLdT = kBK + 4;                  // tf32: m/n-major rows (WMMA needs ld % 4 == 0)
constexpr int kLdC = kBN + 4;

// How B's bits are laid out for the block's rows.
enum BLayout : int {
  kRowBits = 0,  // OUT_REUSE: T(j, k) is bit j·ri + k (32 consecutive k in one window)
  kColBits = 1,  // IN_COMBINE: T(j, k) is bit k·out + j (consecutive rows in one window)
  kGeneral = 2   // W[o][k] = region scale × sign, per element
};

inline int layout_of(const DevMatrix &w) {
  return w.mode == TBN_TILE_OUT_REUSE ? kRowBits : w.mode == TBN_TILE_IN_COMBINE ? kColBits : kGeneral;
}

template <bool TC>
struct TileSmem;
template <>
struct TileSmem<false> {
  float a[kBK][kLdA];
  float b[kBK][kLdB];
  __device__ float &at_a(int m, int k) { return a[k][m]; }
  __device__ float &at_b(int n, int k) { return b[k][n]; }
};
template <>
struct TileSmem<true> {
  union {
    struct {
      float a[kBM][kLdT];
      float b[kBN][kLdT];
    } in;
    float c[kBM][kLdC];
  } u;
  __device__ float &at_a(int m, int k) { return u.in.a[m][k]; }
  __device__ float &at_b(int n, int k) { return u.in.b[n][k]; }
};

struct SplitPlan {
  int ksplit = 1;
  int kchunk = 0;  // multiple of kBK
  size_t bytes = 0;
};

// Splits K when the grid alone would leave SMs idle (aim: two blocks per SM), keeping at least
// four k-stages per split; partials need ksplit·G·M·N floats.
inline SplitPlan plan_split(int64_t M, int64_t N, int64_t K, int64_t G, int sms) {
  SplitPlan s;
  const int64_t blocks = ceil_div(M, kBM) * ceil_div(N, kBN) * G;
  const int64_t steps = ceil_div(K, kBK);
  s.kchunk = static_cast<int>(steps * kBK);
  if (blocks >= 2 * sms || steps < 8) return s;
  int64_t want = ceil_div(2 * sms, blocks);
  if (want > steps / 4) want = steps / 4;
  if (want > 64) want = 64;
  if (want < 2) return s;
  const int64_t chunk = ceil_div(steps, want);
  s.kchunk = static_cast<int>(chunk * kBK);
  s.ksplit = static_cast<int>(ceil_div(steps, chunk));
  s.bytes = static_cast<size_t>(s.ksplit * G * M * N) * sizeof(float);
  return s;
}

// One stage of operands between its global loads and its shared-memory stores: the loads of
// stage s+1 are issued before stage s is multiplied, so their latency hides behind the math.
// A: 8 of the 32×32 values per thread; Prob::kAFastK says whether consecutive threads walk k
// (dense rows) or m (conv positions), for coalesced loads. B: the 32-bit window the thread
// expands (row / column bits) or 16 weights (general).
template <int BL>
struct Staged {
  float a[8];
  uint32_t win;
  float b[BL == kGeneral ? (kBN * kBK) / kThreads : 1];
};

template <class Prob, int BL>
__device__ __forceinline__ void fetch_stage(const Prob &prob, const typename Prob::Shared &ps,
                                            const typename Prob::ARow &arow, const DevMatrix &w, const int64_t *rowid,
                                            int g, int m0, int k0, int kend, Staged<BL> &st) {
  const int tid = threadIdx.x;
#pragma unroll
  for (int i = 0; i < 8; i++) {
    const int e = tid + kThreads * i;
    const int m = Prob::kAFastK ? e / kBK : e % kBM;
    const int k = Prob::kAFastK ? e % kBK : e / kBM;
    // k-fast: each thread meets 8 rows, whose (cheap) ARow is made here; m-fast: one row, made once.
    st.a[i] = (m0 + m < prob.M && k0 + k < kend)
                  ? prob.load_a(ps, Prob::kAFastK ? prob.a_row(g, m0 + m) : arow, k0 + k, k)
                  : 0.0f;
  }
  if constexpr (BL == kRowBits) {
    // Two threads per row (16 k each) share the 32-bit window of the row's bits at k0.
    const int64_t j = rowid[tid >> 1];
    st.win = j >= 0 ? tile_window(w.t, tbn_tile_bit_index(TBN_TILE_OUT_REUSE, w.ri, w.out, j, k0)) : 0u;
  } else if constexpr (BL == kColBits) {
    // Rows are consecutive (rowid[n] = rowid[0] + n): one window covers 32 rows of one k; four
    // threads per k, 16 rows each.
    const int k = tid >> 2, q4 = (tid & 3) * 16;
    st.win = k0 + k < kend ? tile_window(w.t, tbn_tile_bit_index(TBN_TILE_IN_COMBINE, w.ri, w.out, rowid[0] + q4, k0 + k))
                           : 0u;
  } else {
#pragma unroll 4
    for (int i = 0; i < (kBN * kBK) / kThreads; i++) {
      const int e = tid + kThreads * i, n = e / kBK, k = e % kBK;
      const int64_t o = rowid[n];
      st.b[i] = (o >= 0 && k0 + k < kend) ? general_weight(w, o, k0 + k) : 0.0f;
    }
  }
}

// Writes a fetched stage into shared memory: A as loaded, B as ±1.0 (0 past the ends).
template <class Prob, int BL, bool TC>
__device__ __forceinline__ void put_stage(const Staged<BL> &st, const int64_t *rowid, TileSmem<TC> &sm, int k0,
                                          int kend) {
  const int tid = threadIdx.x;
#pragma unroll
  for (int i = 0; i < 8; i++) {
    const int e = tid + kThreads * i;
    sm.at_a(Prob::kAFastK ? e / kBK : e % kBM, Prob::kAFastK ? e % kBK : e / kBM) = st.a[i];
  }
  if constexpr (BL == kRowBits) {
    const int n = tid >> 1, h = (tid & 1) * 16;
    const bool row = rowid[n] >= 0;
#pragma unroll
    for (int s = 0; s < 16; s++) {
      const int k = h + s;
      sm.at_b(n, k) = (row && k0 + k < kend) ? tbn_signed((st.win >> k) & 1u, 1.0f) : 0.0f;
    }
  } else if constexpr (BL == kColBits) {
    const int k = tid >> 2, q4 = (tid & 3) * 16;
    const bool kin = k0 + k < kend;
#pragma unroll
    for (int s = 0; s < 16; s++) {
      const int n = q4 + s;
      sm.at_b(n, k) = (kin && rowid[n] >= 0) ? tbn_signed((st.win >> s) & 1u, 1.0f) : 0.0f;
    }
  } else {
#pragma unroll 4
    for (int i = 0; i < (kBN * kBK) / kThreads; i++) {
      const int e = tid + kThreads * i;
      sm.at_b(e / kBK, e % kBK) = st.b[i];
    }
  }
}

template <class Prob>
__device__ __forceinline__ void emit(const Prob &prob, float *part, int ksplit, int split, int g, int m, int n,
                                     float v) {
  if (m >= prob.M || n >= prob.N) return;
  if (ksplit == 1) {
    prob.store(g, m, n, v);
  } else {
    const int64_t total = static_cast<int64_t>(prob.G) * prob.M * prob.N;
    part[split * total + (static_cast<int64_t>(g) * prob.M + m) * prob.N + n] = v;
  }
}

// grid: x = m-blocks, y = n-blocks × splits, z = groups.
template <class Prob, int BL, bool TC>
__global__ void __launch_bounds__(kThreads, 4) tiled_kernel(const Prob prob, const DevMatrix w, float *part, int ksplit,
                                                          int kchunk) {
  __shared__ __align__(32) TileSmem<TC> sm;
  __shared__ typename Prob::Shared ps;
  __shared__ int64_t rowid[kBN];
  const int tid = threadIdx.x;
  const int nblk = (prob.N + kBN - 1) / kBN;
  const int g = blockIdx.z, split = blockIdx.y / nblk;
  const int m0 = blockIdx.x * kBM, n0 = (blockIdx.y % nblk) * kBN;
  const int kbeg = split * kchunk, kend = min(prob.K, kbeg + kchunk);

  if (tid < kBN) rowid[tid] = n0 + tid < prob.N ? prob.row_id(g, n0 + tid) : -1;
  // The m-fast thread's one row (conv: its output position, image and group input).
  const int my_m = m0 + tid % kBM;
  const typename Prob::ARow arow = prob.a_row(g, my_m < prob.M ? my_m : prob.M - 1);

  float acc[4][4] = {};
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 8, float> c0, c1;
  if constexpr (TC) nvcuda::wmma::fill_fragment(c0, 0.0f), nvcuda::wmma::fill_fragment(c1, 0.0f);
#endif

  if constexpr (Prob::kStage) prob.stage(ps, g, kbeg, kend);
  __syncthreads();  // rowid, ps
  Staged<BL> st;
  fetch_stage<Prob, BL>(prob, ps, arow, w, rowid, g, m0, kbeg, kend, st);
  for (int k0 = kbeg; k0 < kend; k0 += kBK) {
    put_stage<Prob, BL, TC>(st, rowid, sm, k0, kend);
    __syncthreads();
    if (k0 + kBK < kend) {  // the next stage's loads fly while this one is multiplied
      if constexpr (Prob::kStage) {
        prob.stage(ps, g, k0 + kBK, kend);  // nobody reads ps between the barrier above and the one below
        __syncthreads();
      }
      fetch_stage<Prob, BL>(prob, ps, arow, w, rowid, g, m0, k0 + kBK, kend, st);
    }
    if constexpr (!TC) {
      const int tn = tid & 15, tm = tid >> 4;
#pragma unroll 8
      for (int k = 0; k < kBK; k++) {
        const float4 a = *reinterpret_cast<const float4 *>(&sm.at_a(4 * tm, k));
        const float4 b = *reinterpret_cast<const float4 *>(&sm.at_b(4 * tn, k));
        const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
          for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
    } else {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
      using namespace nvcuda;
      const int warp = tid >> 5, wm = (warp & 1) * 16, wn = (warp >> 1) * 32;
#pragma unroll
      for (int kk = 0; kk < kBK; kk += 8) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> hi, lo;
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b0, b1;
        wmma::load_matrix_sync(hi, &sm.u.in.a[wm][kk], kLdT);
#pragma unroll
        for (int e = 0; e < hi.num_elements; e++) {
          const float v = hi.x[e], h = wmma::__float_to_tf32(v);
          hi.x[e] = h;
          lo.x[e] = wmma::__float_to_tf32(v - h);
        }
        // B(k, n) sits at b[n][k]: column-major with leading dimension kLdT. ±1 is exact in TF32.
        wmma::load_matrix_sync(b0, &sm.u.in.b[wn][kk], kLdT);
        wmma::load_matrix_sync(b1, &sm.u.in.b[wn + 16][kk], kLdT);
        wmma::mma_sync(c0, lo, b0, c0);
        wmma::mma_sync(c0, hi, b0, c0);
        wmma::mma_sync(c1, lo, b1, c1);
        wmma::mma_sync(c1, hi, b1, c1);
      }
#else
      __trap();  // the host launches the tensor-core path on sm_80+ only
#endif
    }
    __syncthreads();
  }

  if constexpr (!TC) {
    const int tn = tid & 15, tm = tid >> 4;
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
      for (int j = 0; j < 4; j++) emit(prob, part, ksplit, split, g, m0 + 4 * tm + i, n0 + 4 * tn + j, acc[i][j]);
  } else {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const int warp = tid >> 5, wm = (warp & 1) * 16, wn = (warp >> 1) * 32;
    nvcuda::wmma::store_matrix_sync(&sm.u.c[wm][wn], c0, kLdC, nvcuda::wmma::mem_row_major);
    nvcuda::wmma::store_matrix_sync(&sm.u.c[wm][wn + 16], c1, kLdC, nvcuda::wmma::mem_row_major);
    __syncthreads();
#pragma unroll 4
    for (int i = 0; i < (kBM * kBN) / kThreads; i++) {
      const int e = tid + kThreads * i, m = e / kBN, n = e % kBN;
      emit(prob, part, ksplit, split, g, m0 + m, n0 + n, sm.u.c[m][n]);
    }
#endif
  }
}

// Sums the split-K partials of every (group, m, n) and runs the epilogue.
template <class Prob>
__global__ void __launch_bounds__(256) finalize_kernel(const Prob prob, const float *part, int ksplit) {
  const int64_t mn = static_cast<int64_t>(prob.M) * prob.N, total = prob.G * mn;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v = 0.0f;
    for (int s = 0; s < ksplit; s++) v += part[s * total + idx];
    const int g = static_cast<int>(idx / mn);
    const int64_t r = idx - g * mn;
    prob.store(g, static_cast<int>(r / prob.N), static_cast<int>(r % prob.N), v);
  }
}

// Launches the tiled product (and the finalize pass when split), for B layout `bl`.
template <class Prob>
cudaError_t launch_tiled(cudaStream_t stream, const Prob &prob, const DevMatrix &w, int bl, bool tc,
                         const DeviceInfo &dev, void *workspace, size_t workspace_bytes) {
  const int64_t mblk = ceil_div(prob.M, kBM), nblk = ceil_div(prob.N, kBN);
  SplitPlan s = plan_split(prob.M, prob.N, prob.K, prob.G, dev.sms);
  if (s.ksplit > 1 && (!workspace || workspace_bytes < s.bytes)) s = SplitPlan{1, static_cast<int>(ceil_div(prob.K, kBK) * kBK), 0};
  if (mblk > 0x7fffffff || nblk * s.ksplit > 65535 || prob.G > 65535) return cudaErrorInvalidConfiguration;
  const dim3 grid(static_cast<unsigned>(mblk), static_cast<unsigned>(nblk * s.ksplit), static_cast<unsigned>(prob.G));
  float *part = s.ksplit > 1 ? static_cast<float *>(workspace) : nullptr;
  tc = tc && bl != kGeneral && dev.major >= 8;
#define TBN_TILED_(BLV, TCV)                                                    \
  do {                                                                          \
    const auto kernel = tiled_kernel<Prob, BLV, TCV>;                           \
    TBN_LAUNCH(kernel, grid, kThreads, stream, prob, w, part, s.ksplit, s.kchunk); \
  } while (0)
  if (bl == kRowBits) {
    if (tc) TBN_TILED_(kRowBits, true);
    else TBN_TILED_(kRowBits, false);
  } else if (bl == kColBits) {
    if (tc) TBN_TILED_(kColBits, true);
    else TBN_TILED_(kColBits, false);
  } else {
    TBN_TILED_(kGeneral, false);
  }
#undef TBN_TILED_
  if (s.ksplit > 1) {
    const int64_t total = prob.G * static_cast<int64_t>(prob.M) * prob.N;
    const int64_t blocks = ceil_div(total, 256);
    const auto kernel = finalize_kernel<Prob>;
    TBN_LAUNCH(kernel, static_cast<unsigned>(blocks < 4096 ? blocks : 4096), 256, stream, prob, part, s.ksplit);
  }
  return cudaGetLastError();
}

inline size_t tiled_workspace(int64_t M, int64_t N, int64_t K, int64_t G, const DeviceInfo &dev) {
  return plan_split(M, N, K, G, dev.sms).bytes;
}

}  // namespace cuda
}  // namespace tbn
