// dense_kernel.cu — TbnGemm / TbnMatMul on the GPU: y = epi(alpha · x · Wᵀ + beta · c), W from its
// tile, the fused epilogue (scale, shift, residual, activation) applied as each output is stored.
// The product computed is ro × ri (tbn_plan_mode): OUT_REUSE multiplies x by the out/p tile
// rows once and writes each result p times (α_r · value); IN_COMBINE combines the p input chunks
// (Σ_r α_r · x_r) on the fly and multiplies once by the in/p × out tile; GENERAL reads every
// weight as region scale × sign. Up to 4 batch rows take the GEMV kernels below (the tile is
// read once, 32 bits per load; one batch row over long OUT_REUSE rows keeps x in registers);
// more take the tiled product (gemm_tiled.cuh), where each tile bit is reused for 32 rows.
#include <algorithm>

#include "gemm_tiled.cuh"

namespace tbn {
namespace cuda {
namespace {

constexpr int kGemvRows = 4;

// The problem as gemm_tiled.cuh and the GEMV kernel see it: M batch rows, N = ro, K = ri.
struct DenseProb {
  int M, N, K, G;
  const float *x;
  int64_t xrs, xcs;
  int combine;  // IN_COMBINE: A(m, k) = Σ_r α_r · x(m, r·ri + k)
  DevTile t;
  float *y;
  int64_t out, ro;
  int reuse;  // OUT_REUSE: n feeds outputs r·ro + n, scaled by α_r
  float alpha, beta;
  const float *c;
  int64_t crs, ccs;
  DevEpilogue epi;

  static constexpr bool kAFastK = true, kStage = false;
  struct Shared {};
  struct ARow {
    const float *x;
  };
  __device__ ARow a_row(int, int m) const { return ARow{x + m * xrs}; }
  __device__ float xs(const float *xr, int64_t k) const {
    if (!combine) return xr[k * xcs];
    float s = scale_of(t, 0) * xr[k * xcs];
    for (int64_t r = 1; r < t.p; r++) s += scale_of(t, r) * xr[(r * K + k) * xcs];
    return s;
  }
  __device__ float load_a(const Shared &, const ARow &r, int k, int) const { return xs(r.x, k); }
  __device__ int64_t row_id(int, int n) const { return n; }
  __device__ void store(int, int m, int n, float v) const {
    float *yr = y + m * out;
    const bool with_c = c && beta != 0.0f;
    if (!reuse) {
      yr[n] = epi.apply(alpha * v + (with_c ? beta * c[m * crs + n * ccs] : 0.0f), n, m * out + n);
      return;
    }
    for (int64_t r = 0; r < t.p; r++) {
      const int64_t o = r * ro + n;
      yr[o] = epi.apply(alpha * scale_of(t, r) * v + (with_c ? beta * c[m * crs + o * ccs] : 0.0f), o, m * out + o);
    }
  }
};

// GEMV for rows ≤ NB batch rows. A unit is one computed row (ROW layout: OUT_REUSE, or GENERAL
// streaming along rows) or 32 consecutive rows, one per lane (COL: IN_COMBINE, or GENERAL
// streaming along columns). `wpu` warps share a unit, each over a slice of its inputs, and add up
// in shared memory. Every step a warp reads one 32-bit window of tile bits (the same word for all
// lanes) and each lane takes its own bit: one load per 32 weights.
template <bool COL, bool GENERAL, int NB>
__global__ void __launch_bounds__(256) gemv_kernel(const DenseProb d, const DevMatrix w, int wpu) {
  __shared__ float red[8][NB][32];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int ul = warp / wpu, part = warp % wpu;
  const int64_t unit = static_cast<int64_t>(blockIdx.x) * (8 / wpu) + ul;
  const int64_t units = COL ? ceil_div(w.ro, 32) : w.ro;
  float acc[NB];
#pragma unroll
  for (int b = 0; b < NB; b++) acc[b] = 0.0f;
  const int64_t span = ceil_div(ceil_div(w.ri, wpu), 32) * 32;
  const int64_t i_beg = part * span, i_end = min(w.ri, i_beg + span);
  const int rows = d.M;
  if (unit < units && !COL) {
    const int64_t j = unit;
    if (!GENERAL) {
      for (int64_t i0 = i_beg; i0 < i_end; i0 += 32) {
        const uint32_t win = tile_window(w.t, tbn_tile_bit_index(TBN_TILE_OUT_REUSE, w.ri, w.out, j, i0));
        const int64_t i = i0 + lane;
        if (i < i_end) {
          const int bit = (win >> lane) & 1u;
#pragma unroll
          for (int b = 0; b < NB; b++)
            if (b < rows) acc[b] += tbn_signed(bit, d.x[b * d.xrs + i * d.xcs]);
        }
      }
    } else {
      StreamCursor cur;
      cur.start(tbn_matrix_stream_pos(1, w.out, w.in, j, i_beg + lane), w.t.q);
      for (int64_t i = i_beg + lane; i < i_end; i += 32) {
        const float wv = tbn_signed(tbn_tile_bit(w.t.bits, cur.tq), scale_of(w.t, cur.r));
#pragma unroll
        for (int b = 0; b < NB; b++)
          if (b < rows) acc[b] += wv * d.x[b * d.xrs + i * d.xcs];
        cur.advance(32, w.t.q);
      }
    }
#pragma unroll
    for (int b = 0; b < NB; b++) acc[b] = warp_sum(acc[b]);
  } else if (unit < units) {
    const int64_t j0 = unit * 32, j = j0 + lane;
    if (!GENERAL) {
      for (int64_t i = i_beg; i < i_end; i++) {
        const uint32_t win = tile_window(w.t, tbn_tile_bit_index(TBN_TILE_IN_COMBINE, w.ri, w.out, j0, i));
        const int bit = (win >> lane) & 1u;
#pragma unroll
        for (int b = 0; b < NB; b++)
          if (b < rows) acc[b] += tbn_signed(bit, d.xs(d.x + b * d.xrs, i));
      }
    } else if (j < w.ro) {
      StreamCursor cur;
      cur.start(tbn_matrix_stream_pos(0, w.out, w.in, j, i_beg), w.t.q);
      for (int64_t i = i_beg; i < i_end; i++) {
        const float wv = tbn_signed(tbn_tile_bit(w.t.bits, cur.tq), scale_of(w.t, cur.r));
#pragma unroll
        for (int b = 0; b < NB; b++)
          if (b < rows) acc[b] += wv * d.x[b * d.xrs + i * d.xcs];
        cur.advance(w.out, w.t.q);
      }
    }
  }
  if (wpu > 1) {
#pragma unroll
    for (int b = 0; b < NB; b++) red[warp][b][lane] = acc[b];
    __syncthreads();
    if (part != 0) return;
    for (int s = 1; s < wpu; s++)
#pragma unroll
      for (int b = 0; b < NB; b++) acc[b] += red[warp + s][b][lane];
  }
  if (unit >= units) return;
  if (!COL) {
    if (lane < rows && lane < NB) {
      float v = acc[0];
#pragma unroll
      for (int b = 1; b < NB; b++)
        if (lane == b) v = acc[b];
      d.store(0, lane, static_cast<int>(unit), v);
    }
  } else {
    const int64_t j = unit * 32 + lane;
    if (j < w.ro)
#pragma unroll
      for (int b = 0; b < NB; b++)
        if (b < rows) d.store(0, b, static_cast<int>(j), acc[b]);
  }
}

// One batch row, OUT_REUSE, long rows (ri ≥ kWideInputs): the activations are what a GEMV
// re-reads (4 bytes per 1-bit weight), so here each lane holds 32 consecutive inputs of x in
// registers and reuses them for every row of its block: per row a lane loads the 32-bit window
// of its own inputs (consecutive lanes, consecutive words: coalesced) and adds 32 signed
// values. Warps take 1024-input chunks in turn, sum over lanes, and keep one partial per row
// in shared memory; the block adds them up and writes the row's p outputs.
constexpr int kWideRows = 32;             // rows per block, at most
constexpr int64_t kWideInputs = 4 * 1024;  // from here on the wide kernel beats gemv_kernel

__global__ void __launch_bounds__(256) gemv_wide_kernel(const DenseProb d, const DevMatrix w, int rows_per_block) {
  __shared__ float part[8][kWideRows];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * rows_per_block;
  const int nrows = static_cast<int>(min(static_cast<int64_t>(rows_per_block), w.ro - r0));
  for (int r = lane; r < kWideRows; r += 32) part[warp][r] = 0.0f;
  for (int64_t c0 = static_cast<int64_t>(warp) * 1024; c0 < w.ri; c0 += 8 * 1024) {
    const int64_t i0 = c0 + 32 * lane;
    float xr[32];
#pragma unroll
    for (int u = 0; u < 32; u++) xr[u] = i0 + u < w.ri ? d.x[(i0 + u) * d.xcs] : 0.0f;
    for (int r = 0; r < nrows; r++) {
      const uint32_t win = tile_window(w.t, tbn_tile_bit_index(TBN_TILE_OUT_REUSE, w.ri, w.out, r0 + r, i0));
      float s = 0.0f;
#pragma unroll
      for (int u = 0; u < 32; u++) s += tbn_signed((win >> u) & 1u, xr[u]);  // x past ri is 0
      s = warp_sum(s);
      if (lane == 0) part[warp][r] += s;
    }
  }
  __syncthreads();
  if (static_cast<int>(threadIdx.x) < nrows) {
    float v = 0.0f;
    for (int k = 0; k < 8; k++) v += part[k][threadIdx.x];
    d.store(0, 0, static_cast<int>(r0 + threadIdx.x), v);
  }
}

template <bool COL, bool GENERAL>
void launch_gemv(cudaStream_t stream, const DenseProb &d, const DevMatrix &w, const DeviceInfo &dev) {
  const int64_t units = COL ? ceil_div(w.ro, 32) : w.ro;
  // Split a unit's inputs over more warps while the grid is small, keeping ≥ 2 windows (row)
  // or ≥ 8 inputs (column) per warp.
  int wpu = 1;
  while (wpu < 8 && units * wpu < 16LL * dev.sms && w.ri / (2 * wpu) >= (COL ? 8 : 64)) wpu *= 2;
  const unsigned blocks = static_cast<unsigned>(ceil_div(units, 8 / wpu));
  const auto kernel = d.M == 1 ? gemv_kernel<COL, GENERAL, 1> : gemv_kernel<COL, GENERAL, kGemvRows>;
  TBN_LAUNCH(kernel, blocks, 256, stream, d, w, wpu);
}

cudaError_t setup(const CudaDense &a, DenseProb *d, DevMatrix *w) {
  if (a.out < 1 || a.in < 1 || a.rows < 0 || a.out > kIntMax || a.in > kIntMax || a.rows > kIntMax)
    return cudaErrorInvalidValue;
  if (a.out * a.in > TBN_MAX_ELEMENTS || !tile_ok(a.tile, a.out * a.in)) return cudaErrorInvalidValue;
  if (a.rows > 0 && (!a.x || !a.y)) return cudaErrorInvalidValue;
  *w = dev_matrix(a.tile, a.out, a.in, a.out_major);
  d->M = static_cast<int>(a.rows), d->N = static_cast<int>(w->ro), d->K = static_cast<int>(w->ri), d->G = 1;
  d->x = a.x, d->xrs = a.x_row_stride, d->xcs = a.x_col_stride;
  d->combine = w->mode == TBN_TILE_IN_COMBINE;
  d->t = w->t;
  d->y = a.y, d->out = a.out, d->ro = w->ro;
  d->reuse = w->mode == TBN_TILE_OUT_REUSE;
  d->alpha = a.alpha, d->beta = a.beta, d->epi = DevEpilogue{a.epi};
  d->c = a.c, d->crs = a.c_row_stride, d->ccs = a.c_col_stride;
  return cudaSuccess;
}

}  // namespace
}  // namespace cuda

bool tbn_cuda_has_tf32(void) {
  cuda::DeviceInfo dev;
  return cuda::device_info(&dev) == cudaSuccess && dev.major >= 8;
}

cudaError_t tbn_cuda_dense_workspace(const CudaDense &a, size_t *bytes) {
  cuda::DenseProb d;
  cuda::DevMatrix w;
  cuda::DeviceInfo dev;
  *bytes = 0;
  cudaError_t e = cuda::setup(a, &d, &w);
  if (e == cudaSuccess) e = cuda::device_info(&dev);
  if (e == cudaSuccess && a.rows > cuda::kGemvRows) *bytes = cuda::tiled_workspace(d.M, d.N, d.K, 1, dev);
  return e;
}

cudaError_t launch_tbn_dense(cudaStream_t stream, const CudaDense &a, void *workspace, size_t workspace_bytes) {
  cuda::DenseProb d;
  cuda::DevMatrix w;
  cuda::DeviceInfo dev;
  cudaError_t e = cuda::setup(a, &d, &w);
  if (e != cudaSuccess || a.rows == 0) return e;
  if ((e = cuda::device_info(&dev)) != cudaSuccess) return e;
  if (a.rows > cuda::kGemvRows)
    return cuda::launch_tiled(stream, d, w, cuda::layout_of(w), a.math == CudaMath::Tf32x2, dev, workspace,
                              workspace_bytes);
  const bool general = w.mode == TBN_TILE_GENERAL;
  if (a.rows == 1 && w.mode == TBN_TILE_OUT_REUSE && w.ri >= cuda::kWideInputs) {
    // Enough blocks for two per SM, each reusing its x registers for as many rows as that allows.
    const int64_t per = std::min<int64_t>(cuda::kWideRows, cuda::ceil_div(w.ro, 2LL * dev.sms));
    TBN_LAUNCH(cuda::gemv_wide_kernel, static_cast<unsigned>(cuda::ceil_div(w.ro, per)), 256, stream, d, w,
               static_cast<int>(per));
    return cudaGetLastError();
  }
  if (w.out_major) {
    if (general) cuda::launch_gemv<false, true>(stream, d, w, dev);
    else cuda::launch_gemv<false, false>(stream, d, w, dev);
  } else {
    if (general) cuda::launch_gemv<true, true>(stream, d, w, dev);
    else cuda::launch_gemv<true, false>(stream, d, w, dev);
  }
  return cudaGetLastError();
}

}  // namespace tbn
