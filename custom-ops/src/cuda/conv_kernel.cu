// conv_kernel.cu — TbnConv on the GPU as an implicit GEMM (gemm_tiled.cuh): m = output position
// (image, oh, ow), k = tap (channel in group, kh, kw), n = computed weight row of the group; no
// im2col buffer, the taps are gathered from x (zero outside the padding) while a stage loads.
// OUT_REUSE computes each group's distinct tile rows once (min(out/group, out/p) of them) and
// writes every channel that uses the row, scaled by its region's α (tbn_conv_first_channel);
// IN_COMBINE gathers the p tap chunks and combines them first; GENERAL reads each weight. The
// fused epilogue is applied to each output as it is stored.
#include "gemm_tiled.cuh"

namespace tbn {
namespace cuda {
namespace {

struct ConvProb {
  int M, N, K, G;
  const float *x, *bias;
  float *y;
  int C, H, W, OC, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW, CG, OCG;
  int mode;
  int64_t ro;
  DevTile t;
  DevEpilogue epi;

  static constexpr bool kAFastK = false, kStage = true;
  // The stage's taps: offset of (c, kh·dh, kw·dw) in the group's input, and the two shifts.
  struct Shared {
    int64_t off[kBK];
    int dh[kBK], dw[kBK];
  };
  struct ARow {
    const float *base;  // the image's group input
    int ih0, iw0;       // top-left input position of the output position
  };
  __device__ ARow a_row(int g, int m) const {
    const int plane = OH * OW, img = m / plane, pos = m - img * plane, oh = pos / OW, ow = pos - oh * OW;
    return ARow{x + (static_cast<int64_t>(img) * C + static_cast<int64_t>(g) * CG) * H * W, oh * SH - PH,
                ow * SW - PW};
  }
  __device__ void tap(int k, int64_t *off, int *dh, int *dw) const {
    const int khw = KH * KW, c = k / khw, r = k - c * khw, kh = r / KW, kw = r - kh * KW;
    *dh = kh * DH, *dw = kw * DW;
    *off = static_cast<int64_t>(c) * H * W + static_cast<int64_t>(*dh) * W + *dw;
  }
  __device__ void stage(Shared &s, int, int k0, int kend) const {
    const int i = threadIdx.x;
    if (mode != TBN_TILE_IN_COMBINE && i < kBK && k0 + i < kend) tap(k0 + i, &s.off[i], &s.dh[i], &s.dw[i]);
  }
  __device__ float gather(const ARow &a, int64_t off, int dh, int dw) const {
    const int ih = a.ih0 + dh, iw = a.iw0 + dw;
    return (ih >= 0 && ih < H && iw >= 0 && iw < W) ? a.base[off + static_cast<int64_t>(a.ih0) * W + a.iw0] : 0.0f;
  }
  __device__ float load_a(const Shared &s, const ARow &a, int k, int kl) const {
    if (mode != TBN_TILE_IN_COMBINE) return gather(a, s.off[kl], s.dh[kl], s.dw[kl]);
    // Σ_r α_r · tap(r·K + k): the p chunks of the taps, combined (K = in/p here).
    float v = 0.0f;
    for (int64_t r = 0; r < t.p; r++) {
      int64_t off;
      int dh, dw;
      tap(static_cast<int>(r * K + k), &off, &dh, &dw);
      v += scale_of(t, r) * gather(a, off, dh, dw);
    }
    return v;
  }
  __device__ int64_t row_id(int g, int n) const {
    const int64_t c0 = static_cast<int64_t>(g) * OCG;
    return mode == TBN_TILE_OUT_REUSE ? tbn_conv_reuse_row(OCG, ro, c0, n) : c0 + n;
  }
  __device__ void store(int g, int m, int n, float v) const {
    const int plane = OH * OW, img = m / plane, pos = m - img * plane;
    const int64_t base = static_cast<int64_t>(img) * OC * plane + pos;
    float *yi = y + base;
    const int64_t c0 = static_cast<int64_t>(g) * OCG;
    if (mode != TBN_TILE_OUT_REUSE) {
      const int64_t oc = c0 + n;
      yi[oc * plane] = epi.apply(v + (bias ? bias[oc] : 0.0f), oc, base + oc * plane);
      return;
    }
    for (int64_t oc = tbn_conv_first_channel(c0, ro, row_id(g, n)); oc < c0 + OCG; oc += ro)
      yi[oc * plane] = epi.apply(scale_of(t, tbn_reuse_region(oc, ro)) * v + (bias ? bias[oc] : 0.0f), oc, base + oc * plane);
  }
};

cudaError_t setup(const CudaConv &a, ConvProb *p, DevMatrix *w) {
  const tbn_conv_geom &g = a.g;
  if (g.n < 0 || g.c < 1 || g.oc < 1 || g.group < 1 || g.c % g.group || g.oc % g.group) return cudaErrorInvalidValue;
  const int64_t cg = g.c / g.group, in = cg * g.k[0] * g.k[1];
  const int64_t m = g.n * g.out[0] * g.out[1];
  if (m > kIntMax || in > kIntMax || g.oc > kIntMax || g.in[0] * g.in[1] > kIntMax || g.group > 65535)
    return cudaErrorInvalidValue;
  if (!tile_ok(a.tile, g.oc * in) || (g.n > 0 && (!a.x || !a.y))) return cudaErrorInvalidValue;
  *w = dev_matrix(a.tile, g.oc, in, a.out_major);
  p->M = static_cast<int>(m), p->G = static_cast<int>(g.group);
  p->OCG = static_cast<int>(g.oc / g.group), p->CG = static_cast<int>(cg);
  p->N = w->mode == TBN_TILE_OUT_REUSE && p->OCG > w->ro ? static_cast<int>(w->ro) : p->OCG;
  p->K = static_cast<int>(w->mode == TBN_TILE_IN_COMBINE ? w->ri : in);
  p->x = a.x, p->bias = a.bias, p->y = a.y, p->epi = DevEpilogue{a.epi};
  if (g.channels_last) return cudaErrorInvalidValue;  // TbnConvNhwc has no CUDA kernel (it runs on the CPU EP)
  p->C = static_cast<int>(g.c), p->H = static_cast<int>(g.in[0]), p->W = static_cast<int>(g.in[1]);
  p->OC = static_cast<int>(g.oc), p->OH = static_cast<int>(g.out[0]), p->OW = static_cast<int>(g.out[1]);
  p->KH = static_cast<int>(g.k[0]), p->KW = static_cast<int>(g.k[1]);
  p->SH = static_cast<int>(g.stride[0]), p->SW = static_cast<int>(g.stride[1]);
  p->DH = static_cast<int>(g.dil[0]), p->DW = static_cast<int>(g.dil[1]);
  p->PH = static_cast<int>(g.pad0[0]), p->PW = static_cast<int>(g.pad0[1]);
  p->mode = w->mode, p->ro = w->ro, p->t = w->t;
  return cudaSuccess;
}

}  // namespace
}  // namespace cuda

cudaError_t tbn_cuda_conv_workspace(const CudaConv &a, size_t *bytes) {
  cuda::ConvProb p;
  cuda::DevMatrix w;
  cuda::DeviceInfo dev;
  *bytes = 0;
  cudaError_t e = cuda::setup(a, &p, &w);
  if (e == cudaSuccess) e = cuda::device_info(&dev);
  if (e == cudaSuccess && p.M > 0) *bytes = cuda::tiled_workspace(p.M, p.N, p.K, p.G, dev);
  return e;
}

cudaError_t launch_tbn_conv(cudaStream_t stream, const CudaConv &a, void *workspace, size_t workspace_bytes) {
  cuda::ConvProb p;
  cuda::DevMatrix w;
  cuda::DeviceInfo dev;
  cudaError_t e = cuda::setup(a, &p, &w);
  if (e != cudaSuccess || p.M == 0) return e;
  if ((e = cuda::device_info(&dev)) != cudaSuccess) return e;
  return cuda::launch_tiled(stream, p, w, cuda::layout_of(w), a.math == CudaMath::Tf32x2, dev, workspace,
                            workspace_bytes);
}

}  // namespace tbn
